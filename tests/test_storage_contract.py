"""The storage contract, run against every built-in backend (``database_url``: SQLite, PostgreSQL).

A new backend passes when this module passes against it.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from conftest import DEMO_STORES, TEST_KEYS

from o2o_sdk import (
    O2O,
    AppliedDiscount,
    Caps,
    Config,
    Discount,
    DiscountKind,
    FrozenClock,
    InvalidInput,
    JournalEvent,
    Money,
    Reason,
    Redemption,
    RedemptionRefused,
    Reservation,
    ReservationStatus,
    StorageError,
    Store,
    VoucherStatus,
    make_converter,
)
from o2o_sdk.default_plugins.storage import o2o_provide_storage
from o2o_sdk.storage import IdempotencyKeyTaken, OfferUsage, Storage
from o2o_sdk.storage._migrations import MIGRATIONS
from o2o_sdk.storage.sqlite import path_from_url

LATEST = len(MIGRATIONS)
T0 = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def execute(url: str, sql: str, params: Sequence[Any] = ()) -> None:
    """Run SQL behind the SDK's back, through the database driver itself."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(path_from_url(url))) as conn:
            conn.execute(sql, params)
            conn.commit()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    """A freshly opened, not yet migrated storage."""
    opened = o2o_provide_storage(url=database_url, converter=make_converter())
    assert opened is not None
    yield opened
    opened.close()


def make(database_url: str, clock: FrozenClock | None = None, **config: Any) -> O2O:
    return O2O(Config(database_url=database_url, secret_keys=TEST_KEYS, **config), clock=clock)


# --------------------------------------------------------------------------- schema


def test_migrations_apply_once(storage: Storage) -> None:
    assert storage.schema_version() == 0
    assert storage.migrate() == list(range(1, LATEST + 1))
    assert storage.schema_version() == LATEST
    assert storage.migrate() == []
    assert storage.schema_version() == LATEST
    storage.check_schema()


def test_without_auto_migrate_an_empty_database_is_refused_with_the_command_to_run(database_url: str) -> None:
    with pytest.raises(StorageError, match="o2o db upgrade"):
        make(database_url, auto_migrate=False)


@pytest.mark.postgres
def test_postgresql_is_never_migrated_behind_the_operators_back(pg_url: str) -> None:
    with pytest.raises(StorageError, match="o2o db upgrade") as err:
        make(pg_url)  # auto_migrate unset: only SQLite migrates by itself
    assert "version 0" in err.value.message
    with make(pg_url, auto_migrate=True) as sdk:
        assert sdk.storage.schema_version() == LATEST
    with make(pg_url) as sdk:
        assert sdk.storage.schema_version() == LATEST


@pytest.mark.postgres
def test_values_postgresql_cannot_take_are_invalid_input_and_change_nothing(pg_url: str) -> None:
    """A NUL character, or a value too large for its index, is the caller's mistake
    (InvalidInput), not a failed database (StorageError, which says: try again)."""
    with make(pg_url, auto_migrate=True) as sdk:
        sdk.stores.add(DEMO_STORES)
        offer = sdk.offers.create("1 EUR off", Discount.amount_off(Money(100, "EUR")))
        voucher = sdk.offers.issue(offer)
        journal = sdk.storage.read_journal()
        for call in (lambda: sdk.stores.get("lon\x00soho"),
                     lambda: sdk.offers.validate(voucher.token, "lon-soho", customer_id="ada\x00"),
                     lambda: sdk.offers.redeem(voucher.token, "lon-soho", customer_id="ada\x00")):  # fmt: skip
            with pytest.raises(InvalidInput, match="NUL") as err:
                call()
            assert not isinstance(err.value, StorageError)
        huge = secrets.token_urlsafe(6000)  # too large for a b-tree index entry, even compressed
        with pytest.raises(InvalidInput, match="too large"):
            sdk.offers.redeem(voucher.token, "lon-soho", customer_id=huge)
        assert sdk.storage.get_voucher(voucher.id).status is VoucherStatus.ACTIVE
        assert sdk.offers.usage(offer.id).redeemed == 0
        assert sdk.storage.read_journal() == journal
        assert sdk.offers.redeem(voucher.token, "lon-soho", customer_id="ada").customer_id == "ada"
        with pytest.raises(InvalidInput, match="limit"):  # the storage API itself, below the SDK's checks
            sdk.storage.list_vouchers(offer.id, -1)


@pytest.mark.postgres
def test_a_postgresql_url_that_cannot_connect_says_why(pg_url: str) -> None:
    """The cause (refused, no such database), at once, not the pool's timeout 30 s later."""
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StorageError, match="Connection refused"):
        make(f"postgresql://127.0.0.1:{port}/test")
    base = pg_url.split("?")[0].rsplit("/", 1)[0]
    with pytest.raises(StorageError, match='database "o2o_no_such_db" does not exist'):
        make(f"{base}/o2o_no_such_db")


def test_a_database_from_a_newer_o2o_sdk_is_refused(storage: Storage, database_url: str) -> None:
    storage.migrate()
    execute(database_url, "UPDATE o2o_meta SET value = ? WHERE key = 'schema_version'", (str(LATEST + 1),))
    with pytest.raises(StorageError, match="newer"):
        storage.migrate()
    for auto_migrate in (True, False):
        with pytest.raises(StorageError, match="upgrade o2o-sdk") as err:
            make(database_url, auto_migrate=auto_migrate)
        assert "o2o db upgrade" not in err.value.message, "upgrading the database cannot help"


def test_meta_values_are_written_once(storage: Storage) -> None:
    storage.migrate()
    assert storage.get_meta("signing_key") is None
    assert storage.set_meta_if_absent("signing_key", "first") == "first"
    assert storage.set_meta_if_absent("signing_key", "second") == "first"
    assert storage.get_meta("signing_key") == "first"


# --------------------------------------------------------------------------- journal


def event(kind: str, at: datetime, **kwargs: Any) -> JournalEvent:
    return JournalEvent(kind, at, **kwargs)


def test_the_journal_assigns_strictly_increasing_seqs_and_reads_back_in_order(storage: Storage) -> None:
    storage.migrate()
    first = storage.append_events([event("issued", T0, offer_id="o1", voucher_id="v1"), event("issued", T0, offer_id="o1")])
    second = storage.append_events([event("redeemed", T0 + timedelta(seconds=1), store_id="s1", customer_id="c1",
                                          data={"discount_minor": 150, "nested": {"a": [1, 2]}})])  # fmt: skip
    third = storage.append_events([event("voided", T0), event("custom.thing", T0)])
    appended = first + second + third
    seqs = [e.seq for e in appended]
    assert all(isinstance(s, int) and s > 0 for s in seqs)
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    assert storage.read_journal() == appended
    assert storage.read_journal(after_seq=seqs[1]) == appended[2:]
    assert storage.read_journal(after_seq=seqs[-1]) == []
    assert storage.read_journal(limit=2) == appended[:2]
    assert storage.read_journal(types=["redeemed", "voided"]) == [appended[2], appended[3]]
    assert storage.read_journal(after_seq=seqs[2], types=["issued", "voided"]) == [appended[3]]
    assert list(storage.iter_journal(batch=2)) == appended
    assert storage.journal_counts() == {"custom.thing": 1, "issued": 2, "redeemed": 1, "voided": 1}
    assert storage.append_events([]) == []


def test_journal_times_come_back_as_the_same_instant_in_utc(storage: Storage) -> None:
    storage.migrate()
    tokyo = datetime(2026, 6, 15, 21, 0, 0, 123456, tzinfo=timezone(timedelta(hours=9)))
    [stored] = storage.append_events([event("issued", tokyo)])
    [read] = storage.read_journal()
    assert read == stored
    assert read.at == tokyo and read.at.utcoffset() == timedelta(0)
    assert read.at.microsecond == 123456


# --------------------------------------------------------------------------- stores


def test_stores_are_upserted_by_id_listed_by_id_and_deleted(storage: Storage) -> None:
    storage.migrate()
    rich = Store("ams-1", "Amsterdam", "Europe/Amsterdam", 52.37, 4.89, "Damrak 1", ("pickup",),
                 checkin_radius_m=50.0, external_ids={"shopify": "gid://shopify/Location/1"},
                 attributes={"floor": 2, "tags": ["flagship"]})  # fmt: skip
    assert storage.upsert_stores([*DEMO_STORES, rich]) == 4
    assert storage.get_store("ams-1") == rich
    assert [s.id for s in storage.list_stores()] == ["ams-1", "lon-soho", "nyc-soho", "tyo-shibuya"]

    renamed = Store("ams-1", "Amsterdam Centraal", "Europe/Amsterdam", 52.38, 4.90)
    assert storage.upsert_stores([renamed]) == 1
    assert storage.get_store("ams-1") == renamed
    assert len(storage.list_stores()) == 4
    assert storage.upsert_stores([]) == 0

    assert storage.delete_store("ams-1") is True
    assert storage.delete_store("ams-1") is False
    assert storage.get_store("ams-1") is None


# --------------------------------------------------------------------------- transactions and invariants


@pytest.fixture
def sdk_on(database_url: str, clock: FrozenClock) -> Iterator[O2O]:
    with make(database_url, clock, auto_migrate=True) as sdk:
        sdk.stores.add(DEMO_STORES)
        yield sdk


def redemption_of(voucher_id: str, offer_id: str, rid: str) -> Redemption:
    discount = AppliedDiscount(DiscountKind.AMOUNT, Money(100, "EUR"), description="1 EUR off")
    return Redemption(rid, voucher_id, offer_id, "lon-soho", None, discount, T0)


def test_one_live_redemption_per_voucher_even_if_the_service_is_bypassed(sdk_on: O2O) -> None:
    offer = sdk_on.offers.create("1 EUR off", Discount.amount_off(Money(100, "EUR")))
    voucher = sdk_on.offers.issue(offer)
    with sdk_on.storage.atomic() as tx:
        tx.insert_redemption(redemption_of(voucher.id, offer.id, "red_first"))
    with pytest.raises(StorageError), sdk_on.storage.atomic() as tx:
        tx.insert_redemption(redemption_of(voucher.id, offer.id, "red_second"))
    assert sdk_on.storage.get_redemption("red_second") is None

    # once the first is voided, the voucher may be redeemed again
    with sdk_on.storage.atomic() as tx:
        tx.void_redemption("red_first", T0, "refund")
        tx.insert_redemption(redemption_of(voucher.id, offer.id, "red_third"))
    assert sdk_on.storage.get_redemption("red_third") is not None
    assert [r.id for r in sdk_on.storage.list_redemptions(offer.id) if r.voided_at is None] == ["red_third"]


def test_one_active_hold_per_voucher_even_if_the_service_is_bypassed(sdk_on: O2O) -> None:
    offer = sdk_on.offers.create("1 EUR off", Discount.amount_off(Money(100, "EUR")))
    voucher = sdk_on.offers.issue(offer)

    def hold(rid: str) -> Reservation:
        return Reservation(rid, voucher.id, offer.id, "lon-soho", None, T0, T0 + timedelta(minutes=10))

    with sdk_on.storage.atomic() as tx:
        tx.insert_reservation(hold("res_first"))
    with pytest.raises(StorageError), sdk_on.storage.atomic() as tx:
        tx.insert_reservation(hold("res_second"))
    with sdk_on.storage.atomic() as tx:
        tx.set_reservation_status("res_first", ReservationStatus.RELEASED)
        tx.insert_reservation(hold("res_third"))
    assert sdk_on.storage.get_reservation("res_third").status is ReservationStatus.ACTIVE


def test_an_atomic_block_that_fails_leaves_nothing_behind(sdk_on: O2O) -> None:
    offer = sdk_on.offers.create("1 EUR off", Discount.amount_off(Money(100, "EUR")))
    before = sdk_on.storage.read_journal()
    with pytest.raises(RuntimeError, match="payment terminal"), sdk_on.storage.atomic() as tx:
        tx.add_offer_usage(offer.id, 1, 100)
        tx.append_events([event("redeemed", T0, offer_id=offer.id)])
        raise RuntimeError("payment terminal went away")
    assert sdk_on.storage.offer_usage(offer.id).redeemed == 0
    assert sdk_on.storage.read_journal() == before


def test_unknown_ids_read_as_none(sdk_on: O2O) -> None:
    s = sdk_on.storage
    assert (s.get_offer("x"), s.offer_usage("x"), s.get_voucher("x"), s.get_redemption("x"), s.get_reservation("x"),
            s.get_idempotent("x"), s.get_store("x")) == (None,) * 7  # fmt: skip
    assert s.list_redemptions("x") == [] and s.list_vouchers("x") == []


# --------------------------------------------------------------------------- the redemption path


def held_until(url: str, voucher_id: str) -> Any:
    """The hold mark on a voucher's row, read behind the SDK's back (None, or a timestamp)."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(path_from_url(url))) as conn:
            return conn.execute("SELECT held_until FROM vouchers WHERE id = ?", (voucher_id,)).fetchone()[0]
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT held_until FROM vouchers WHERE id = %s", (voucher_id,)).fetchone()[0]  # type: ignore[index]


def test_the_checks_read_store_voucher_offer_and_stored_key_in_one_call(sdk_on: O2O) -> None:
    offer = sdk_on.offers.create("1 EUR off", Discount.amount_off(Money(100, "EUR")))
    voucher = sdk_on.offers.issue(offer, "alice")
    ctx = sdk_on.storage.voucher_context("lon-soho", voucher.id, "key-1")
    assert (ctx.store, ctx.voucher, ctx.offer, ctx.idempotent) == (sdk_on.stores.get("lon-soho"), voucher, offer, None)
    with sdk_on.storage.atomic() as tx:
        tx.put_idempotent("key-1", "redeem", "hash", '{"id": "red_1"}', T0)
    assert sdk_on.storage.voucher_context("lon-soho", voucher.id, "key-1").idempotent == ("redeem", "hash", '{"id": "red_1"}')
    assert sdk_on.storage.voucher_context("lon-soho", voucher.id).idempotent is None
    missing = sdk_on.storage.voucher_context("nowhere", "v_missing", "key-2")
    assert (missing.store, missing.voucher, missing.offer, missing.idempotent) == (None, None, None, None)


def test_voucher_state_reads_the_hold_the_key_and_only_the_usage_asked_for(sdk_on: O2O) -> None:
    offer = sdk_on.offers.create("1 EUR off", Discount.amount_off(Money(100, "EUR")))
    held, other = sdk_on.offers.issue_many(offer, ["alice", "alice"])
    hold = Reservation("res_1", held.id, offer.id, "lon-soho", "alice", T0, T0 + timedelta(minutes=10),
                       amount=Money(100, "EUR"))  # fmt: skip
    with sdk_on.storage.atomic() as tx:
        tx.insert_reservation(hold)
        tx.insert_redemption(redemption_of(other.id, offer.id, "red_1"))
        tx.add_offer_usage(offer.id, 1, 100)
        tx.put_idempotent("key-1", "redeem", "hash", "{}", T0)
    with sdk_on.storage.atomic() as tx:
        bare = tx.voucher_state(held.id, None, T0)
        assert (bare.voucher, bare.hold, bare.usage, bare.idempotent) == (held, hold, None, None)
        full = tx.voucher_state(held.id, offer.id, T0, idempotency_key="key-1", customer_id="alice", reservations=True)
        assert full.idempotent == ("redeem", "hash", "{}")
        assert full.usage == OfferUsage(1, 100, reserved=1, reserved_minor=100, customer_redeemed=0, customer_reserved=1)
        mine = tx.voucher_state(held.id, offer.id, T0, customer_id="alice", reservations=True, exclude_reservation="res_1")
        assert mine.usage == OfferUsage(1, 100)
        assert tx.voucher_state(held.id, None, T0 + timedelta(minutes=10)).hold is None  # expired
    with sdk_on.storage.snapshot() as snap:  # the same reads, unlocked
        assert snap.voucher_state(held.id, offer.id, T0, reservations=True).usage == OfferUsage(1, 100, 1, 100)


def test_a_hold_is_marked_on_its_vouchers_row_until_released_or_converted(sdk_on: O2O, database_url: str) -> None:
    offer = sdk_on.offers.create("1 EUR off", Discount.amount_off(Money(100, "EUR")))
    first, second = sdk_on.offers.issue_many(offer, 2)
    assert held_until(database_url, first.id) is None
    hold = sdk_on.offers.reserve(first.token, "lon-soho", ttl=timedelta(minutes=10))
    assert held_until(database_url, first.id) is not None
    sdk_on.offers.release(hold.id)
    assert held_until(database_url, first.id) is None
    converted = sdk_on.offers.reserve(second.token, "lon-soho")
    assert held_until(database_url, second.id) is not None
    sdk_on.offers.redeem(second.token, "lon-soho", reservation_id=converted.id)
    assert held_until(database_url, second.id) is None


def test_try_redeem_writes_only_for_an_active_voucher_that_is_not_held(sdk_on: O2O) -> None:
    offer = sdk_on.offers.create("1 EUR off", Discount.amount_off(Money(100, "EUR")))
    free, held, revoked = sdk_on.offers.issue_many(offer, 3)
    with sdk_on.storage.atomic() as tx:
        tx.insert_reservation(Reservation("res_1", held.id, offer.id, "lon-soho", None, T0, T0 + timedelta(minutes=10)))
        tx.set_voucher_status(revoked.id, VoucherStatus.REVOKED)
    s = sdk_on.storage

    def attempt(voucher_id: str, rid: str, now: datetime = T0, key: str | None = None) -> list[JournalEvent] | None:
        ev = event("redeemed", now, offer_id=offer.id, voucher_id=voucher_id, store_id="lon-soho", data={"redemption_id": rid})
        remembered = (key, "redeem", "hash", json.dumps({"id": rid})) if key else None
        return s.try_redeem(redemption_of(voucher_id, offer.id, rid), ev, now, idempotent=remembered)

    [done] = attempt(free.id, "red_1", key="key-1") or []
    assert done.seq is not None and done.data == {"redemption_id": "red_1"}
    assert s.get_voucher(free.id).status is VoucherStatus.REDEEMED
    assert s.get_redemption("red_1") is not None and s.get_idempotent("key-1") == ("redeem", "hash", json.dumps({"id": "red_1"}))
    assert (s.offer_usage(offer.id).redeemed, s.offer_usage(offer.id).spent_minor) == (1, 100)
    journal = s.read_journal()
    # not active, or held: nothing is written
    assert attempt(free.id, "red_2") is None
    assert attempt(revoked.id, "red_3") is None
    assert attempt(held.id, "red_4", now=T0 + timedelta(minutes=9)) is None
    assert [s.get_redemption(r) for r in ("red_2", "red_3", "red_4")] == [None] * 3
    assert s.offer_usage(offer.id).redeemed == 1 and s.read_journal() == journal
    # a key another request stored first is an IdempotencyKeyTaken, and nothing is written
    other = sdk_on.offers.issue(offer)
    with pytest.raises(IdempotencyKeyTaken):
        attempt(other.id, "red_5", key="key-1")
    assert s.get_voucher(other.id).status is VoucherStatus.ACTIVE and s.get_redemption("red_5") is None
    # once the hold has expired, the voucher is free
    assert attempt(held.id, "red_6", now=T0 + timedelta(minutes=10)) is not None
    assert s.offer_usage(offer.id).redeemed == 2


def test_usage_adds_up_every_path_that_counts_a_redemption(sdk_on: O2O, database_url: str) -> None:
    """Redemptions without caps (in shard rows on PostgreSQL, from several connections at
    once), converted holds and capped ones (on the offer's row) and voids all add up in the
    usage, and a cap added later counts what was redeemed before it."""
    offer = sdk_on.offers.create("1 EUR off", Discount.amount_off(Money(100, "EUR")))
    vouchers = sdk_on.offers.issue_many(offer, 24)
    with ThreadPoolExecutor(6) as pool:
        done = list(pool.map(lambda v: sdk_on.offers.redeem(v.token, "lon-soho"), vouchers[:18]))
    usage = sdk_on.offers.usage(offer.id)
    assert (usage.redeemed, usage.spent_minor) == (18, 1800)
    if database_url.startswith("postgresql"):  # the offer's own row was not written
        rows = _rows(database_url, "SELECT redeemed_count FROM offers WHERE id = %s", (offer.id,))
        assert rows == [(0,)]
        shards = _rows(database_url, "SELECT SUM(redeemed_count), SUM(spent_minor) FROM offer_usage_shards WHERE offer_id = %s", (offer.id,))
        assert shards == [(18, 1800)]
    hold = sdk_on.offers.reserve(vouchers[18].token, "lon-soho")
    sdk_on.offers.redeem(vouchers[18].token, "lon-soho", reservation_id=hold.id)
    sdk_on.offers.void(done[0].id, "refund")
    usage = sdk_on.offers.usage(offer.id)
    assert (usage.redeemed, usage.spent_minor) == (18, 1800)
    sdk_on.storage.update_offer(attrs.evolve(offer, caps=Caps(total=20)))
    for v in vouchers[19:21]:
        sdk_on.offers.redeem(v.token, "lon-soho")
    with pytest.raises(RedemptionRefused) as refused:
        sdk_on.offers.redeem(vouchers[21].token, "lon-soho")
    assert [r.code for r in refused.value.refusals] == [Reason.CAP_REACHED]
    usage = sdk_on.offers.usage(offer.id)
    assert (usage.redeemed, usage.spent_minor) == (20, 2000)


def _rows(url: str, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]  # type: ignore[arg-type]


def test_migration_9_marks_the_vouchers_of_active_holds(sdk_on: O2O, database_url: str) -> None:
    offer = sdk_on.offers.create("1 EUR off", Discount.amount_off(Money(100, "EUR")))
    held, released, free = sdk_on.offers.issue_many(offer, 3)
    hold = sdk_on.offers.reserve(held.token, "lon-soho", ttl=timedelta(minutes=10))
    sdk_on.offers.release(sdk_on.offers.reserve(released.token, "lon-soho").id)
    sdk_on.close()
    # back to a version-8 database, as it was before the column existed (and before migrations 10, 11)
    execute(database_url, "DROP TABLE offer_usage_shards")
    execute(database_url, "ALTER TABLE vouchers DROP COLUMN held_until")
    execute(database_url, "DROP INDEX platform_orders_cancelled")
    execute(database_url, "ALTER TABLE platform_orders DROP COLUMN cancelled_at")
    execute(database_url, "UPDATE o2o_meta SET value = '8' WHERE key = 'schema_version'")
    with make(database_url, auto_migrate=True) as upgraded:
        assert upgraded.storage.schema_version() == LATEST
    assert held_until(database_url, held.id) is not None
    assert held_until(database_url, released.id) is None and held_until(database_url, free.id) is None
    mark = held_until(database_url, held.id)
    expected = hold.expires_at
    assert (datetime.fromisoformat(mark) if isinstance(mark, str) else mark) == expected

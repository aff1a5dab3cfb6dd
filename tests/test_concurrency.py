"""Caps hold under real concurrency: 16 processes, each with its own SDK, redeem at once.

The racers are spawned once per module and reused; for every race each one builds a fresh
``O2O(Config(...))`` on the test's database (a SQLite file, or a PostgreSQL schema), waits at
a shared barrier, then redeems. The failures this guards against shipped elsewhere:
read-modify-write counters that let a 1,000-use coupon be used 1,500 times.
"""

from __future__ import annotations

import multiprocessing
import queue
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import race_worker
from conftest import DEMO_STORES, TEST_KEYS

from o2o_sdk import O2O, Basket, Caps, Discount, EventType, Money, SystemClock, VoucherStatus

pytestmark = pytest.mark.slow

RACERS = 16
STORE = "lon-soho"


class Racers:
    """Sixteen long-lived processes that redeem on a common start signal."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.barrier = ctx.Barrier(RACERS)
        self.jobs = [ctx.Queue() for _ in range(RACERS)]
        self.results = ctx.Queue()
        self.procs = [
            ctx.Process(target=race_worker.serve, args=(i, self.jobs[i], self.results, self.barrier), daemon=True)
            for i in range(RACERS)
        ]
        for p in self.procs:
            p.start()

    def race(self, url: str, redeem: list[list[tuple[str, str | None]]], basket: Basket | None = None) -> list[str]:
        """Each racer i redeems ``redeem[i]`` (token, customer) in order; returns all outcomes."""
        assert len(redeem) == RACERS
        keys = [(k.kid, k.secret) for k in TEST_KEYS]
        if self.barrier.broken:
            self.barrier.reset()
        for i, q in enumerate(self.jobs):
            q.put({"url": url, "keys": keys, "store": STORE, "redeem": redeem[i], "basket": basket})
        outcomes: list[str] = []
        for _ in range(RACERS):
            try:
                _, result = self.results.get(timeout=180)
            except queue.Empty:
                pytest.fail("a racer did not report within 180 s")
            outcomes += result
        errors = [o for o in outcomes if o.startswith("error")]
        assert errors == [], errors[0] if errors else ""
        return outcomes

    def stop(self) -> None:
        for q in self.jobs:
            q.put(None)
        for p in self.procs:
            p.join(timeout=15)
            if p.is_alive():  # pragma: no cover - only when a racer hangs
                p.terminate()


@pytest.fixture(scope="module")
def racers() -> Iterator[Racers]:
    tests_dir = str(Path(__file__).resolve().parent)
    with pytest.MonkeyPatch.context() as mp:
        if tests_dir not in sys.path:  # children import race_worker by name
            mp.syspath_prepend(tests_dir)
        pool = Racers()
        try:
            yield pool
        finally:
            pool.stop()


@pytest.fixture
def shop(make_sdk: Callable[..., O2O]) -> O2O:
    """The back office: issues the vouchers on the real clock, then inspects the result."""
    sdk = make_sdk(clock=SystemClock())
    sdk.stores.add(DEMO_STORES)
    return sdk


def deal(tokens: list[str], customer: Callable[[int], str | None] = lambda _: None) -> list[list[tuple[str, str | None]]]:
    """Share ``tokens`` round-robin among the racers."""
    return [[(t, customer(n)) for n, t in enumerate(tokens) if n % RACERS == i] for i in range(RACERS)]


def race_counts(outcomes: list[str]) -> dict[str, Any]:
    return dict(Counter(outcomes))


def test_one_single_use_voucher_redeemed_by_16_tills_at_once_is_used_once(
    racers: Racers, shop: O2O, database_url: str
) -> None:
    offer = shop.offers.create("Welcome gift", Discount.amount_off(Money(500, "EUR")))
    voucher = shop.offers.issue(offer)
    outcomes = racers.race(database_url, [[(voucher.token, None)] for _ in range(RACERS)])
    assert race_counts(outcomes) == {"ok": 1, "already_redeemed": RACERS - 1}
    assert len(shop.storage.list_redemptions(offer.id)) == 1
    assert shop.offers.usage(offer.id).redeemed == 1
    assert shop.journal.counts().get(EventType.REDEEMED) == 1
    assert shop.journal.counts().get(EventType.REFUSED) == RACERS - 1


def test_a_total_cap_of_100_holds_when_16_tills_redeem_160_vouchers(racers: Racers, shop: O2O, database_url: str) -> None:
    offer = shop.offers.create("First 100", Discount.percent_off(10), caps=Caps(total=100))
    tokens = [v.token for v in shop.offers.issue_many(offer, 160)]
    outcomes = racers.race(database_url, deal(tokens))
    assert race_counts(outcomes) == {"ok": 100, "cap_reached": 60}
    assert shop.offers.usage(offer.id).redeemed == 100
    assert len(shop.storage.list_redemptions(offer.id)) == 100
    assert shop.journal.counts().get(EventType.REDEEMED) == 100


def test_a_money_budget_holds_when_16_tills_redeem_160_vouchers(racers: Racers, shop: O2O, database_url: str) -> None:
    offer = shop.offers.create("5 EUR off", Discount.amount_off(Money(500, "EUR")), caps=Caps(budget=Money(25_000, "EUR")))
    tokens = [v.token for v in shop.offers.issue_many(offer, 160)]
    outcomes = racers.race(database_url, deal(tokens), basket=Basket(Money(2_000, "EUR")))
    assert race_counts(outcomes) == {"ok": 50, "budget_exhausted": 110}
    usage = shop.offers.usage(offer.id)
    assert (usage.redeemed, usage.spent_minor) == (50, 25_000)


def test_a_per_customer_cap_holds_when_one_customer_races_16_tills(racers: Racers, shop: O2O, database_url: str) -> None:
    offer = shop.offers.create("Twice per customer", Discount.percent_off(10), caps=Caps(per_customer=2))
    tokens = [v.token for v in shop.offers.issue_many(offer, ["alice"] * RACERS)]
    outcomes = racers.race(database_url, deal(tokens))
    assert race_counts(outcomes) == {"ok": 2, "customer_cap_reached": RACERS - 2}


# --------------------------------------------------------------------------- without the offer lock
# An offer without caps is not locked: single use rests on the voucher row (its lock, and one
# conditional UPDATE), the counters on an atomic increment, holds on the voucher's row too, and
# a raced idempotency key on its primary key. These races would break each of those.


def ok_ids(outcomes: list[str]) -> list[str]:
    """The ids in the ``ok:<id>`` outcomes of dict items."""
    return [o[3:] for o in outcomes if o.startswith("ok:")]


def test_an_offer_without_caps_counts_every_redemption_when_16_tills_race(racers: Racers, shop: O2O, database_url: str) -> None:
    offer = shop.offers.create("5 EUR off", Discount.amount_off(Money(500, "EUR")))
    tokens = [v.token for v in shop.offers.issue_many(offer, 320)]
    outcomes = racers.race(database_url, deal(tokens))
    assert race_counts(outcomes) == {"ok": 320}
    usage = shop.offers.usage(offer.id)
    assert (usage.redeemed, usage.spent_minor) == (320, 320 * 500)
    assert len(shop.storage.list_redemptions(offer.id)) == 320
    assert shop.journal.counts().get(EventType.REDEEMED) == 320


def test_a_capped_and_an_uncapped_offer_raced_together_each_keep_their_counts(racers: Racers, shop: O2O, database_url: str) -> None:
    capped = shop.offers.create("First 40", Discount.percent_off(10), caps=Caps(total=40))
    open_ = shop.offers.create("For everyone", Discount.percent_off(5))
    mixed = [t for pair in zip(shop.offers.issue_many(capped, 80), shop.offers.issue_many(open_, 80), strict=True) for t in pair]
    outcomes = racers.race(database_url, deal([v.token for v in mixed]))
    assert race_counts(outcomes) == {"ok": 120, "cap_reached": 40}
    assert (shop.offers.usage(capped.id).redeemed, shop.offers.usage(open_.id).redeemed) == (40, 80)
    assert (len(shop.storage.list_redemptions(capped.id)), len(shop.storage.list_redemptions(open_.id))) == (40, 80)


def test_a_hold_and_a_redemption_racing_for_one_voucher_never_both_win(racers: Racers, shop: O2O, database_url: str) -> None:
    offer = shop.offers.create("10% off", Discount.percent_off(10))
    vouchers = shop.offers.issue_many(offer, 8 * 12)
    # racers 2i and 2i+1 go through the same 12 vouchers in the same order, one holding, one redeeming
    jobs: list[list[Any]] = []
    for i in range(RACERS):
        chunk = vouchers[(i // 2) * 12 : (i // 2 + 1) * 12]
        jobs.append([{"op": "reserve" if i % 2 == 0 else "redeem", "token": v.token} for v in chunk])
    outcomes = racers.race(database_url, jobs)
    won = ok_ids(outcomes)
    held = {shop.storage.get_reservation(i).voucher_id for i in won if i.startswith("res_")}
    redeemed = {r.voucher_id for r in shop.storage.list_redemptions(offer.id)}
    assert held.isdisjoint(redeemed), "a voucher was redeemed although another checkout held it (or the reverse)"
    assert held | redeemed == {v.id for v in vouchers}
    assert len(won) == len(vouchers) and shop.offers.usage(offer.id).redeemed == len(redeemed)
    assert set(outcomes) - {f"ok:{i}" for i in won} <= {"reserved", "already_redeemed"}


@pytest.mark.parametrize("caps", [Caps(), Caps(total=10_000)], ids=["without caps", "capped"])
def test_voids_racing_redemptions_of_the_same_vouchers_keep_the_counters_exact(
    racers: Racers, shop: O2O, database_url: str, caps: Caps
) -> None:
    offer = shop.offers.create("5 EUR off", Discount.amount_off(Money(500, "EUR")), caps=caps)
    vouchers = shop.offers.issue_many(offer, 64)
    first = [shop.offers.redeem(v.token, STORE) for v in vouchers]
    # 8 racers void the redemptions while 8 others redeem the same vouchers again, each many times
    jobs: list[list[Any]] = []
    for i in range(RACERS):
        chunk = range((i % 8) * 8, (i % 8 + 1) * 8)
        if i < 8:
            jobs.append([{"op": "void", "redemption": first[n].id} for n in chunk])
        else:
            jobs.append([{"op": "redeem", "token": vouchers[n].token} for _ in range(4) for n in chunk])
    outcomes = racers.race(database_url, jobs)  # fails on any error, a deadlock included
    assert set(outcomes) - {f"ok:{i}" for i in ok_ids(outcomes)} <= {"already_redeemed"}
    live = [r for r in shop.storage.list_redemptions(offer.id) if r.voided_at is None]
    assert len({r.voucher_id for r in live}) == len(live), "a voucher has two live redemptions"
    usage = shop.offers.usage(offer.id)
    assert (usage.redeemed, usage.spent_minor) == (len(live), 500 * len(live))
    for v in vouchers:
        expected = VoucherStatus.REDEEMED if any(r.voucher_id == v.id for r in live) else VoucherStatus.ACTIVE
        assert shop.storage.get_voucher(v.id).status is expected


def test_one_idempotency_key_raced_with_16_different_vouchers_redeems_one(racers: Racers, shop: O2O, database_url: str) -> None:
    offer = shop.offers.create("10% off", Discount.percent_off(10))
    tokens = [v.token for v in shop.offers.issue_many(offer, RACERS)]
    outcomes = racers.race(database_url, [[{"op": "redeem", "token": t, "key": "till-1-000042"}] for t in tokens])
    assert len(ok_ids(outcomes)) == 1
    assert race_counts([o for o in outcomes if not o.startswith("ok:")]) == {"idempotency_conflict": RACERS - 1}
    assert shop.offers.usage(offer.id).redeemed == 1


def test_one_request_retried_by_16_tills_at_once_redeems_once_and_replays_it(racers: Racers, shop: O2O, database_url: str) -> None:
    offer = shop.offers.create("10% off", Discount.percent_off(10))
    voucher = shop.offers.issue(offer)
    outcomes = racers.race(database_url, [[{"op": "redeem", "token": voucher.token, "key": "till-1-000043"}]] * RACERS)
    ids = ok_ids(outcomes)
    assert len(ids) == RACERS and len(set(ids)) == 1, outcomes
    assert shop.offers.usage(offer.id).redeemed == 1


# --------------------------------------------------------------------------- the lock order


@pytest.mark.parametrize("operation", ["void", "release", "reserve", "redeem (capped)"])
def test_every_write_locks_the_voucher_before_the_offer(shop: O2O, database_url: str, operation: str) -> None:
    """PostgreSQL: while another transaction holds a voucher's row lock, an operation on that
    voucher waits for it without holding its offer's row lock meanwhile — the one order
    (voucher, offer, reservation / redemption) every write follows, so none can deadlock."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL (SQLite has one writer at a time)")
    import threading

    import psycopg

    offer = shop.offers.create("First 1000", Discount.amount_off(Money(500, "EUR")), caps=Caps(total=1000))
    voucher = shop.offers.issue(offer)
    if operation == "void":
        target = shop.offers.redeem(voucher.token, STORE).id
        call: Callable[[], object] = lambda: shop.offers.void(target, "refund")  # noqa: E731
    elif operation == "release":
        hold = shop.offers.reserve(voucher.token, STORE).id
        call = lambda: shop.offers.release(hold)  # noqa: E731
    elif operation == "reserve":
        call = lambda: shop.offers.reserve(voucher.token, STORE)  # noqa: E731
    else:
        call = lambda: shop.offers.redeem(voucher.token, STORE)  # noqa: E731
    failures: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    with psycopg.connect(database_url) as holder, psycopg.connect(database_url, autocommit=True) as probe:
        holder.execute("SELECT 1 FROM vouchers WHERE id = %s FOR UPDATE", (voucher.id,))
        worker = threading.Thread(target=run)
        worker.start()
        for _ in range(100):  # until the operation waits for the voucher's lock
            waiting = probe.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE NOT l.granted AND a.datname = current_database() AND a.pid <> pg_backend_pid()"
            ).fetchone()
            if waiting and waiting[0]:
                break
            worker.join(0.05)
        else:
            pytest.fail(f"{operation} did not wait for the voucher's lock")
        with probe.transaction():  # the offer row is free: the operation took nothing before the voucher
            probe.execute("SELECT 1 FROM offers WHERE id = %s FOR UPDATE NOWAIT", (offer.id,))
        holder.rollback()
        worker.join(30)
    assert not worker.is_alive() and failures == []

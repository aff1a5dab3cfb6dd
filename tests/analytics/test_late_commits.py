"""Cursors over the journal (attribution, analytics streams) skip no event that commits late.

On PostgreSQL a ``seq`` is taken at INSERT and transactions commit in any order, so a later
``seq`` can be visible while an earlier one is not yet. These tests hold two real
transactions open on two connections to make exactly that happen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from o2o_sdk import O2O, Config, FrozenClock, JournalEvent
from o2o_sdk.analytics import _db
from o2o_sdk.analytics._attribution import LOOKBACK_SEQ
from o2o_sdk.journal_cursor import GAP_WAIT, Gap, dump_seen, gaps_in, horizon, load_seen

INSERT = (
    "INSERT INTO journal (at, type, offer_id, voucher_id, store_id, customer_id, data)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING seq"
)


@pytest.fixture
def pg(pg_url: str, clock: FrozenClock) -> Iterator[tuple[O2O, Callable[[], object]]]:
    """An SDK on PostgreSQL and a factory of extra connections (each its own transaction)."""
    import psycopg

    sdk = O2O(Config(database_url=pg_url, auto_migrate=True, load_entrypoints=False), clock=clock)
    opened: list[psycopg.Connection[tuple[object, ...]]] = []

    def connect() -> psycopg.Connection[tuple[object, ...]]:
        conn = psycopg.connect(pg_url)  # not autocommit: every connection is one open transaction
        opened.append(conn)
        return conn

    yield sdk, connect
    for conn in opened:
        conn.close()
    sdk.close()


def order(at: datetime, customer: str, order_id: str, store: str | None = None) -> tuple[object, ...]:
    kind = "order_in_store" if store else "order_online"
    data = {"platform": "shop", "order_id": order_id, "total_minor": 1000, "currency": "EUR", "occurred_at": at.isoformat()}
    return (at, kind, None, None, store, customer, json.dumps(data))


def models(sdk: O2O) -> dict[str | None, str]:
    return {a.order_id: a.model for a in sdk.analytics.attributions()}


@pytest.mark.postgres
def test_an_order_committed_after_a_later_one_is_still_attributed(pg, clock) -> None:  # type: ignore[no-untyped-def]
    sdk, connect = pg
    now = clock.now()
    sdk.storage.append_events([JournalEvent("issued", now - timedelta(days=1), "spring", f"v{c}", None, c) for c in "AB"])
    a, b = connect(), connect()
    seq_a = a.execute(INSERT, order(now, "A", "oA", store="lon")).fetchone()[0]  # tx A: order n, still open
    # tx B: a bulk import (more than the look-back) ending with order n + 10,001, committed
    b.cursor().executemany(INSERT.replace(" RETURNING seq", ""),
                           [(now, "validated", None, None, None, "B", None)] * LOOKBACK_SEQ)  # fmt: skip
    seq_b = b.execute(INSERT, order(now, "B", "oB", store="lon")).fetchone()[0]
    b.commit()
    assert seq_b > seq_a + LOOKBACK_SEQ

    first = sdk.analytics.attribute()
    a.commit()
    second = sdk.analytics.attribute()
    assert models(sdk) == {"oA": "issued", "oB": "issued"}  # A's order was not skipped
    assert (first, second) == (0, 2)  # B's order waited for the gap at n to fill
    assert sdk.analytics.attribute() == 0


@pytest.mark.postgres
def test_an_order_is_attributed_once_a_touch_committed_before_it_is_visible(pg, clock) -> None:  # type: ignore[no-untyped-def]
    sdk, connect = pg
    now = clock.now()
    a, b = connect(), connect()
    a.execute(INSERT, (now - timedelta(hours=1), "checked_in", None, None, "lon", "C", None))  # the visit, open
    b.execute(INSERT, order(now, "C", "oC", store="lon"))  # the purchase, committed first
    b.commit()
    sdk.analytics.attribute()
    a.commit()
    sdk.analytics.attribute()
    assert models(sdk) == {"oC": "checkin"}  # not "none": it was not attributed before the visit showed


@pytest.mark.postgres
def test_a_rolled_back_gap_is_waited_for_then_read_past(pg, clock) -> None:  # type: ignore[no-untyped-def]
    sdk, connect = pg
    now = clock.now()
    a, b = connect(), connect()
    a.execute(INSERT, order(now, "D", "oD"))
    b.execute(INSERT, order(now, "E", "oE"))
    b.commit()
    a.rollback()  # seq n is never used
    assert sdk.analytics.attribute() == 0
    clock.advance(GAP_WAIT - timedelta(seconds=1))
    assert sdk.analytics.attribute() == 0
    clock.advance(seconds=2)
    assert sdk.analytics.attribute() == 1
    assert models(sdk) == {"oE": "none"}
    with _db.read(sdk.storage) as sql:  # nothing left waiting
        assert sql.one("SELECT COUNT(*) FROM o2o_meta WHERE key = 'analytics.attribution_gaps'")[0] == 0


def test_sqlite_reads_past_a_gap_at_once(sqlite_url: str, clock: FrozenClock) -> None:
    """SQLite commits one writer at a time, in seq order: a gap (here a deleted event) never
    fills, so nothing waits for it."""
    sdk = O2O(Config(database_url=sqlite_url, auto_migrate=True, load_entrypoints=False), clock=clock)
    now = clock.now()
    data = {"platform": "shop", "total_minor": 1000, "currency": "EUR"}
    stored = sdk.storage.append_events(
        [JournalEvent("order_online", now, customer_id=c, data={**data, "order_id": f"o{c}"}) for c in "FGH"]
    )
    with _db.write(sdk.storage) as sql:
        sql.execute("DELETE FROM journal WHERE seq = ?", (stored[1].seq,))
    assert sdk.analytics.attribute() == 2
    sdk.close()


@pytest.mark.postgres
def test_a_stream_sends_an_event_committed_after_a_later_one(pg, clock) -> None:  # type: ignore[no-untyped-def]
    sdk, connect = pg
    now = clock.now()
    stream = sdk.analytics.stream("sink", from_start=True)
    a, b = connect(), connect()
    seq_a = a.execute(INSERT, (now, "issued", "spring", "v1", None, "A", None)).fetchone()[0]
    seq_b = b.execute(INSERT, (now, "issued", "spring", "v2", None, "B", None)).fetchone()[0]
    b.commit()
    sent: list[JournalEvent] = []
    stream.drain(sent.extend)
    a.commit()
    stream.drain(sent.extend)
    assert [e.seq for e in sent] == [seq_a, seq_b]
    assert stream.cursor == seq_b


def test_horizon_stops_before_a_young_gap_and_reads_past_an_old_one() -> None:
    t0 = datetime(2026, 6, 1, 12, 0)
    gaps, top = gaps_in(10, [11, 12, 15, 16, 20])
    assert (gaps, top) == ([Gap(13, 14), Gap(17, 19)], 20)
    first = horizon(10, gaps, top, {}, t0)
    assert (first.end, first.waiting) == (12, {13: t0, 17: t0})
    later = horizon(10, gaps, top, load_seen(dump_seen(first.waiting)), t0 + GAP_WAIT)
    assert (later.end, later.waiting) == (20, {})
    # a gap first seen later keeps its own age; the cursor never goes back
    mixed = horizon(12, gaps, top, {13: t0 - GAP_WAIT, 17: t0}, t0)
    assert (mixed.end, mixed.waiting) == (16, {17: t0})
    assert horizon(30, gaps, top, {}, t0).end == 30
    assert load_seen("not json") == {} and load_seen(None) == {}

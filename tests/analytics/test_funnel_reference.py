"""The funnel counted in the database against a plain reference written from its definition.

Random journals (seeded, so a failure replays): customers who walk the steps in order with
random delays (ties included), plus events at random times — before the voucher, out of step
order, of other offers, at several stores, anonymous — appended in shuffled order, so ``seq``
is not time order. Every report dimension is compared: customers per step, medians, per day,
per store, with offer, store and date filters, and with custom steps (several types per step,
an offer-scoped store step, a store on the first step, one type in two steps).
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from o2o_sdk import O2O, InvalidInput, JournalEvent
from o2o_sdk.analytics import FOLLOWUP_CLICKED, FOLLOWUP_DELIVERED, STORE_SEARCHED, VOUCHER_VIEWED, FunnelStep, _db

from .synth import insert

START = datetime(2026, 3, 1, 21, 0, tzinfo=UTC)  # three hours before a UTC day boundary
WALK = ("issued", VOUCHER_VIEWED, STORE_SEARCHED, "checked_in", "redeemed", FOLLOWUP_DELIVERED, FOLLOWUP_CLICKED, "order_online")
TYPES = (*WALK, "order_in_store", "validated")
OFFERS = ("spring", "summer", None)
STORES = ("lon", "nyc", "tyo", None)
#: minutes between steps: zero (a tie) is frequent
DELAYS = (0, 0, 1, 30, 90, 600, 1500)

CUSTOM = {
    "store_step_offer_scoped": (
        FunnelStep("issued", "Issued", ("issued",), offer_scoped=True),
        FunnelStep("visit", "Visited", ("checked_in", "redeemed"), offer_scoped=True, has_store=True),
        FunnelStep("bought", "Bought", ("order_in_store", "order_online")),
    ),
    "store_first": (
        FunnelStep("searched", "Searched", (STORE_SEARCHED,), has_store=True),
        FunnelStep("issued", "Issued", ("issued",), offer_scoped=True),
        FunnelStep("redeemed", "Redeemed", ("redeemed", "checked_in")),
    ),
    "type_in_two_steps": (
        FunnelStep("issued", "Issued", ("issued",)),
        FunnelStep("issued_again", "Issued (again)", ("issued", VOUCHER_VIEWED)),
        FunnelStep("checked_in", "Checked in", ("checked_in",), has_store=True),
        FunnelStep("issued_after", "Issued after", ("issued",)),
    ),
    "one_step": (FunnelStep("redeemed", "Redeemed", ("redeemed",), offer_scoped=True, has_store=True),),
}


def journal(rng: random.Random, customers: int = 24) -> list[JournalEvent]:
    events: list[JournalEvent] = []
    for n in range(customers):
        cid = f"c{n:02d}"
        t = START + timedelta(hours=rng.randrange(0, 60), seconds=rng.choice((0, 0, 59)))
        offer = rng.choice(OFFERS[:2])
        for kind in WALK[: rng.randrange(0, len(WALK) + 1)]:
            events.append(JournalEvent(kind, t, offer if rng.random() < 0.85 else rng.choice(OFFERS), None,
                                       rng.choice(STORES), cid))  # fmt: skip
            t += timedelta(minutes=rng.choice(DELAYS))
        for _ in range(rng.randrange(0, 7)):  # anything, any time: early, late, out of order, other offers
            at = START + timedelta(hours=rng.randrange(-12, 72), minutes=rng.choice((0, 0, 15)))
            events.append(JournalEvent(rng.choice(TYPES), at, rng.choice(OFFERS), None, rng.choice(STORES), cid))
    for _ in range(rng.randrange(0, 6)):  # anonymous events never count
        events.append(JournalEvent(rng.choice(TYPES), START + timedelta(hours=rng.randrange(0, 48)), None, None, "lon", None))
    rng.shuffle(events)
    return events


def reference(events: Sequence[JournalEvent], steps: Sequence[FunnelStep], *, offer: str | None = None,
              store: str | None = None, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """The definition, as plainly as possible: per customer, step by step, the first matching
    event (by time, then seq) at or after the previous step."""
    store_step = next((i for i, s in enumerate(steps) if s.has_store), None)
    mine: dict[str, list[JournalEvent]] = defaultdict(list)
    for e in events:
        if e.customer_id is not None and (since is None or e.at >= since) and (until is None or e.at < until):
            mine[e.customer_id].append(e)
    walked = []
    for evs in mine.values():
        times: list[datetime] = []
        shop = None
        for k, step in enumerate(steps):
            ok = [e for e in evs if e.type in step.types and not (offer is not None and step.offer_scoped and e.offer_id != offer)
                  and (not times or e.at >= times[-1])]  # fmt: skip
            if not ok:
                break
            first = min(ok, key=lambda e: (e.at, e.seq))
            times.append(first.at)
            if k == store_step:
                shop = first.store_id
        if times and (store is None or shop == store):
            walked.append((times[0].date().isoformat(), shop, times))
    n = len(steps)
    by_day: dict[str, list[int]] = {}
    by_store: dict[str, list[int]] = {}
    for day, shop, times in walked:
        for k in range(len(times)):
            by_day.setdefault(day, [0] * n)[k] += 1
            if shop is not None:
                by_store.setdefault(shop, [0] * n)[k] += 1
    medians: list[float | None] = [None]
    for k in range(1, n):
        deltas = [(t[k] - t[k - 1]).total_seconds() for _, _, t in walked if len(t) > k]
        medians.append(round(statistics.median(deltas), 3) if deltas else None)
    return {
        "customers": [sum(1 for _, _, t in walked if len(t) > k) for k in range(n)],
        "medians": medians,
        "by_day": by_day,
        "by_store": by_store,
    }


def counted(sdk: O2O, steps: Sequence[FunnelStep], **filters: Any) -> dict[str, Any]:
    report = sdk.analytics.funnel(attribute=False, steps=steps, **filters)
    return {
        "customers": [s.customers for s in report.steps],
        "medians": [s.median_seconds for s in report.steps],
        "by_day": {g.key: list(g.counts) for g in report.by_day},
        "by_store": {g.key: list(g.counts) for g in report.by_store},
    }


def out_of_order(events: Sequence[JournalEvent], steps: Sequence[FunnelStep]) -> int:
    """Customers whose first event of some step is earlier than their first of the step before
    (the ones a per-step ``MIN`` alone gets wrong)."""
    firsts: dict[str, list[datetime | None]] = defaultdict(lambda: [None] * len(steps))
    for e in events:
        for k, step in enumerate(steps):
            if e.customer_id and e.type in step.types:
                cur = firsts[e.customer_id][k]
                firsts[e.customer_id][k] = e.at if cur is None else min(cur, e.at)
    return sum(1 for f in firsts.values() if any(a and b and b < a for a, b in pairwise(f)))


def test_funnel_matches_the_reference_on_random_journals(sdk: O2O) -> None:
    default = sdk.analytics.steps()
    tricky = 0
    for seed in range(30):
        rng = random.Random(seed)
        with _db.write(sdk.storage) as sql:
            sql.execute("DELETE FROM journal")
        events = sdk.storage.append_events(journal(rng))
        tricky += out_of_order(events, default)
        day = START.replace(hour=0) + timedelta(days=rng.randrange(0, 3))
        cases: list[tuple[Sequence[FunnelStep], dict[str, Any]]] = [
            (default, {}),
            (default, {"offer": "spring"}),
            (default, {"store": rng.choice(STORES[:3])}),
            (default, {"since": day}),
            (default, {"since": START + timedelta(hours=rng.randrange(0, 30)), "until": day + timedelta(days=1)}),
            (default, {"offer": "summer", "store": rng.choice(STORES[:3]), "until": day + timedelta(days=2)}),
        ]
        cases += [(steps, {}) for steps in CUSTOM.values()]
        cases += [(CUSTOM["store_step_offer_scoped"], {"offer": "spring", "store": "nyc"}),
                  (CUSTOM["store_first"], {"store": "tyo", "since": day}), (CUSTOM["one_step"], {"offer": "summer"})]  # fmt: skip
        for steps, filters in cases:
            expected = reference(events, steps, **filters)
            assert counted(sdk, steps, **filters) == expected, (seed, [s.name for s in steps], filters)
    assert tricky > 100  # the journals do exercise customers whose steps come out of order


def test_ties_at_one_instant_count_every_step_they_reach(sdk: O2O) -> None:
    """Events at the same microsecond reach consecutive steps whatever their seq order; the
    store is that of the first check-in (by seq) at that instant."""
    t = START
    insert(sdk, [
        JournalEvent("checked_in", t, None, None, "tyo", "c1"),  # seq before the search, same time
        JournalEvent(STORE_SEARCHED, t, None, None, None, "c1"),
        JournalEvent("checked_in", t, None, None, "nyc", "c1"),
        JournalEvent(VOUCHER_VIEWED, t, "spring", None, None, "c1"),
        JournalEvent("issued", t, "spring", None, None, "c1"),
    ])  # fmt: skip
    report = sdk.analytics.funnel(attribute=False)
    assert [s.customers for s in report.steps] == [1, 1, 1, 1, 0, 0, 0, 0]
    assert [g.key for g in report.by_store] == ["tyo"]
    assert [s.median_seconds for s in report.steps][:4] == [None, 0.0, 0.0, 0.0]


def test_a_store_search_before_the_voucher_does_not_count_but_a_later_one_does(sdk: O2O) -> None:
    t = START
    insert(sdk, [
        JournalEvent(STORE_SEARCHED, t - timedelta(days=1), None, None, None, "early-only"),
        JournalEvent("issued", t, "spring", None, None, "early-only"),
        JournalEvent(VOUCHER_VIEWED, t + timedelta(minutes=1), "spring", None, None, "early-only"),
        JournalEvent(STORE_SEARCHED, t - timedelta(days=1), None, None, None, "both"),
        JournalEvent("issued", t, "spring", None, None, "both"),
        JournalEvent(VOUCHER_VIEWED, t + timedelta(minutes=1), "spring", None, None, "both"),
        JournalEvent(STORE_SEARCHED, t + timedelta(minutes=3), None, None, None, "both"),
        JournalEvent("checked_in", t + timedelta(minutes=2), None, None, "lon", "both"),  # before the search
        JournalEvent("checked_in", t + timedelta(minutes=9), None, None, "nyc", "both"),
    ])  # fmt: skip
    report = sdk.analytics.funnel(attribute=False)
    assert [s.customers for s in report.steps][:5] == [2, 2, 1, 1, 0]
    assert [s.median_seconds for s in report.steps][1:4] == [60.0, 120.0, 360.0]
    assert {g.key: g.counts[3] for g in report.by_store} == {"nyc": 1}


def test_a_step_without_event_types_is_refused(sdk: O2O) -> None:
    with pytest.raises(InvalidInput, match="event type"):
        sdk.analytics.funnel(attribute=False, steps=(FunnelStep("x", "X", ()),))


def test_sqlite_without_unixepoch_gives_the_same_answers(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite before 3.38 has no ``unixepoch()``: the times come from ``strftime('%s')``."""
    import sqlite3

    from o2o_sdk import Config, FrozenClock

    sdk = O2O(Config(database_url=sqlite_url, auto_migrate=True, load_entrypoints=False), clock=FrozenClock(START))
    events = sdk.storage.append_events(journal(random.Random(99), customers=60))
    expected = reference(events, sdk.analytics.steps())
    assert counted(sdk, sdk.analytics.steps()) == expected
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 37, 2))
    assert counted(sdk, sdk.analytics.steps()) == expected
    assert expected["medians"][1] is not None
    sdk.close()

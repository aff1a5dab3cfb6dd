"""A synthetic month of O2O2O journal events with its answers known by construction.

Each customer gets one voucher of offer ``spring`` or ``summer`` and walks the funnel to a
depth drawn from fixed weights; step delays come from small fixed sets, so counts, medians,
per-store and per-day numbers and attribution answers are known without running the code
under test. Events go straight into the journal in bulk (the writers are tested elsewhere).
"""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from o2o_sdk import O2O, JournalEvent
from o2o_sdk.analytics import FOLLOWUP_DELIVERED, _db

START = datetime(2026, 5, 1, tzinfo=UTC)
STORES = ("lon-soho", "nyc-soho", "tyo-shibuya")
OFFERS = ("spring", "summer")
STEPS = ("issued", "viewed", "searched", "checked_in", "redeemed", "followup_delivered", "followup_clicked", "returned")
#: delay choices (minutes) from the previous step, per step index 1..7
DELAYS = {1: (30, 60, 120), 2: (5, 10), 3: (600, 1440, 2880), 4: (10, 20, 30), 5: (1440, 2880), 6: (60, 180, 360), 7: (1440, 4320)}
DEPTH_WEIGHTS = (10, 10, 8, 8, 14, 10, 10, 30)  # depth 0..7 (7: every step)


@dataclass
class Truth:
    counts: list[int] = field(default_factory=lambda: [0] * 8)
    deltas: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    by_store: dict[str, list[int]] = field(default_factory=dict)
    by_day: dict[str, list[int]] = field(default_factory=dict)
    by_offer: dict[str, list[int]] = field(default_factory=lambda: {o: [0] * 8 for o in OFFERS})
    offer_events: dict[str, Counter[str]] = field(default_factory=lambda: {o: Counter() for o in OFFERS})
    models: Counter[str] = field(default_factory=Counter)
    revenue: Counter[str] = field(default_factory=Counter)
    #: order id -> (model, touch type, followup id)
    orders: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)

    def medians(self) -> list[float | None]:
        return [None] + [statistics.median(self.deltas[k]) * 60.0 if self.deltas[k] else None for k in range(1, 8)]


def build(sdk: O2O, customers: int = 2000, seed: int = 7) -> Truth:
    rng = random.Random(seed)
    truth = Truth()
    events: list[JournalEvent] = []
    order_no = 0

    def order(kind: str, at: datetime, cid: str, store: str | None, amount: int, model: str, touch: str | None,
              fu: str | None = None, voucher: str | None = None, offer: str | None = None) -> None:  # fmt: skip
        nonlocal order_no
        order_no += 1
        oid = f"o{order_no}"
        data = {"platform": "shop", "order_id": oid, "total_minor": amount, "currency": "EUR", "occurred_at": at.isoformat()}
        events.append(JournalEvent(kind, at, offer, voucher, store, cid, data))
        truth.orders[oid] = (model, touch, fu)
        truth.models[model] += 1
        truth.revenue[model] += amount

    for n in range(customers):
        cid = f"c{n:05d}"
        offer = OFFERS[n % 2]
        vid = f"{n:016x}"
        depth = rng.choices(range(8), DEPTH_WEIGHTS)[0]
        store = STORES[rng.randrange(3)]
        t = START + timedelta(days=rng.randrange(28), hours=rng.randrange(8, 18))
        times = [t]
        for k in range(1, depth + 1):
            d = rng.choice(DELAYS[k])
            truth.deltas[k].append(d)
            times.append(times[-1] + timedelta(minutes=d))
        day = t.date().isoformat()
        truth.by_day.setdefault(day, [0] * 8)
        for k in range(depth + 1):
            truth.counts[k] += 1
            truth.by_day[day][k] += 1
            truth.by_offer[offer][k] += 1
            if depth >= 3:
                truth.by_store.setdefault(store, [0] * 8)[k] += 1
        ev = [JournalEvent("issued", times[0], offer, vid, None, cid)]
        truth.offer_events[offer]["issued"] += 1
        if depth >= 1:
            ev.append(JournalEvent("voucher_viewed", times[1], offer, vid, None, cid))
            truth.offer_events[offer]["viewed"] += 1
            if rng.random() < 0.3:  # a search before the voucher: must not count
                ev.append(JournalEvent("store_searched", times[0] - timedelta(days=1), None, None, None, cid, {"results": 3}))
        if depth >= 2:
            ev.append(JournalEvent("store_searched", times[2], None, None, None, cid, {"results": 3}))
        if depth >= 3:
            ev.append(JournalEvent("checked_in", times[3], None, None, store, cid, {"checkin_id": f"chk{n}"}))
        if depth >= 4:
            ev.append(JournalEvent("redeemed", times[4], offer, vid, store, cid, {"redemption_id": f"red{n}", "discount_minor": 500}))
            truth.offer_events[offer]["redeemed"] += 1
        fu = f"fu{n}"
        if depth >= 5:
            ev.append(JournalEvent(FOLLOWUP_DELIVERED, times[5], None, None, store, cid, {"followup_id": fu}))
        if depth >= 6:
            ev.append(JournalEvent("followup_clicked", times[6], None, None, store, cid, {"followup_id": fu}))
        events.extend(ev)
        # orders and their known attribution
        if depth >= 4:  # paid at the till with the voucher, 5 minutes after redeeming
            order("order_in_store", times[4] + timedelta(minutes=5), cid, store, 4000, "voucher", "redeemed", voucher=vid, offer=offer)
        elif depth == 3:  # checked in, bought without the voucher 3 hours later
            order("order_in_store", times[3] + timedelta(hours=3), cid, store, 2500, "checkin", "checked_in")
        elif depth == 0 and n % 3 == 0:  # never came back online, bought in a store within the month
            order("order_in_store", times[0] + timedelta(days=5), cid, STORES[(n + 1) % 3], 1500, "issued", "issued")
        if depth == 7:  # returned online after the follow-up: O2O2O
            order("order_online", times[7], cid, None, 6000, "o2o2o", "order_in_store", fu=fu)
    for n in range(200):  # online shoppers with no voucher and no visit
        order("order_online", START + timedelta(days=n % 28, hours=9), f"w{n:04d}", None, 1000, "none", None)
    events.sort(key=lambda e: e.at)
    insert(sdk, events)
    return truth


def insert(sdk: O2O, events: list[JournalEvent]) -> None:
    """Bulk insert (executemany) into the journal, in order."""
    with _db.write(sdk.storage) as sql:
        sql.many(
            "INSERT INTO journal (at, type, offer_id, voucher_id, store_id, customer_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(sql.ts(e.at), e.type, e.offer_id, e.voucher_id, e.store_id, e.customer_id,
              json.dumps(e.data, separators=(",", ":"), sort_keys=True) if e.data else None) for e in events],
        )  # fmt: skip

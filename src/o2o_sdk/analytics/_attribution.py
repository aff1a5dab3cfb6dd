"""Attribution: which touch earned each order, computed incrementally from the journal.

Every order event (in store or online) gets exactly one row in ``attributions``, keyed by
the order event's journal ``seq``: re-running attributes nothing twice. A run reads the
order events after a stored cursor (minus a look-back, so an order committed late by a
concurrent writer is not skipped) that have no row yet. The rules are in
:class:`~o2o_sdk.config.AttributionSettings` and ``docs/measurement.md``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from ..config import AttributionSettings
from ..models import EventType
from ..storage import Storage
from . import _db
from ._events import EventNames

__all__ = ["Attribution", "AttributionModel", "attribute_pending"]

#: Pickup events (``sdk.pickups``): a collected pickup is a store visit; a reservation is a touch.
_PICKUP_PLACED = EventType.PICKUP_PLACED.value
_PICKUP_HANDED_OVER = EventType.PICKUP_HANDED_OVER.value

#: ``o2o_meta`` key of the cursor: every order up to this ``seq`` is attributed.
CURSOR_KEY = "analytics.attribution_cursor"
#: ``o2o_meta`` key of the gaps in ``seq`` waited for (:mod:`o2o_sdk.journal_cursor`).
GAPS_KEY = "analytics.attribution_gaps"
#: Order events this many ``seq`` below the cursor are looked at again: an order whose
#: transaction stayed open longer than the gap wait still gets attributed.
LOOKBACK_SEQ = 10_000


class AttributionModel:
    """Values of :attr:`Attribution.model`."""

    #: In store: the voucher redeemed with the order (online: a voucher code used online).
    VOUCHER = "voucher"
    #: In store: the customer's check-in at that store shortly before.
    CHECKIN = "checkin"
    #: In store: a voucher issued to the customer before (no redemption, no check-in).
    ISSUED = "issued"
    #: Online after an offline visit (a check-in, a redemption, a purchase or a collected
    #: pickup): online → offline → online.
    O2O2O = "o2o2o"
    #: In store: bought while trying on items reserved online (``order_in_store`` carries
    #: ``reservation_id``; the touch is the reservation's ``pickup_placed``).
    RESERVATION = "reservation"
    #: Nothing to attribute the order to.
    NONE = "none"


@attrs.frozen
class Attribution:
    """One attributed order. ``touch_*`` is the last touch (the one credited); ``first_*``
    the first qualifying touch within the windows."""

    order_seq: int
    at: datetime
    kind: str
    model: str
    platform: str | None = None
    order_id: str | None = None
    customer_id: str | None = None
    store_id: str | None = None
    offer_id: str | None = None
    voucher_id: str | None = None
    touch_type: str | None = None
    touch_seq: int | None = None
    touch_store_id: str | None = None
    first_touch_type: str | None = None
    first_touch_seq: int | None = None
    followup_id: str | None = None
    followup_seq: int | None = None
    first_followup_seq: int | None = None
    amount_minor: int | None = None
    currency: str | None = None


COLUMNS = [f.name for f in attrs.fields(Attribution)]


@attrs.frozen
class _Touch:
    seq: int
    at: datetime
    type: str
    offer_id: str | None
    voucher_id: str | None
    store_id: str | None
    data: dict[str, Any]


def _order_time(at: datetime, data: dict[str, Any]) -> datetime:
    text = data.get("occurred_at")
    if isinstance(text, str):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return at
        if when.tzinfo is not None:
            return when
    return at


def _followup_id(touch: _Touch) -> str | None:
    value = touch.data.get("followup_id") or touch.data.get("message_id") or touch.data.get("outbox_id")
    return None if value is None else str(value)


def attribute_one(order: _Touch, kind: str, customer_id: str | None, touches: Sequence[_Touch],
                  names: EventNames, settings: AttributionSettings) -> Attribution:  # fmt: skip
    """Attribute one order given the customer's touches around it (oldest first)."""
    t = _order_time(order.at, order.data)
    amount = order.data.get("total_minor")
    base = Attribution(
        order_seq=order.seq, at=t, kind=kind, model=AttributionModel.NONE,
        platform=order.data.get("platform"), order_id=order.data.get("order_id"),
        customer_id=customer_id, store_id=order.store_id, offer_id=order.offer_id,
        voucher_id=order.voucher_id, amount_minor=int(amount) if amount is not None else None,
        currency=order.data.get("currency"),
    )  # fmt: skip
    voided = {str(x.data.get("redemption_id")) for x in touches if x.type == names.voided}
    if kind == names.order_online:
        return _online(base, t, touches, names, settings)
    reservation = order.data.get("reservation_id")
    if reservation:  # reserved online, tried on and bought in store: the reservation earned it
        placed = [x for x in touches if x.type == _PICKUP_PLACED and x.data.get("pickup_id") == reservation]
        touch = placed[-1] if placed else None
        return attrs.evolve(
            base, model=AttributionModel.RESERVATION, touch_type=touch.type if touch else _PICKUP_PLACED,
            touch_seq=touch.seq if touch else None, touch_store_id=touch.store_id if touch else order.store_id,
            first_touch_type=touch.type if touch else None, first_touch_seq=touch.seq if touch else None,
        )  # fmt: skip
    # voucher: on the order, or a live redemption by the customer at that store close to it
    redemptions = [x for x in touches if x.type == names.redeemed and str(x.data.get("redemption_id")) not in voided]
    own = [x for x in redemptions if order.voucher_id is not None and x.voucher_id == order.voucher_id]
    near = [x for x in redemptions if x.store_id == order.store_id and abs(x.at - t) <= settings.redemption_window]
    found = {
        "voucher": own[-1:] or sorted(near, key=lambda x: (abs(x.at - t), -x.seq))[:1],
        "checkin": [x for x in touches if x.type == names.checked_in and x.store_id == order.store_id
                    and t - settings.checkin_window <= x.at <= t],
        "issued": [x for x in touches if x.type == names.issued and t - settings.issued_window <= x.at <= t],
    }  # fmt: skip
    firsts = [x for rule in settings.precedence for x in found[rule]]
    first = min(firsts, key=lambda x: (x.at, x.seq)) if firsts else None
    for rule in settings.precedence:
        hits = found[rule]
        if not hits and not (rule == "voucher" and order.voucher_id is not None):
            continue
        last = hits[-1] if hits else None
        first_touch = first or last
        return attrs.evolve(
            base, model=rule,
            offer_id=last.offer_id if last is not None and last.offer_id else base.offer_id,
            voucher_id=last.voucher_id if last is not None and last.voucher_id else base.voucher_id,
            touch_type=last.type if last else None, touch_seq=last.seq if last else None,
            touch_store_id=last.store_id if last else None,
            first_touch_type=first_touch.type if first_touch else None,
            first_touch_seq=first_touch.seq if first_touch else None,
        )  # fmt: skip
    return base


def _online(base: Attribution, t: datetime, touches: Sequence[_Touch], names: EventNames,
            settings: AttributionSettings) -> Attribution:  # fmt: skip
    visit_types = {names.checked_in, names.redeemed, names.order_in_store, _PICKUP_HANDED_OVER}
    visits = [x for x in touches if x.type in visit_types and t - settings.visit_window <= x.at <= t and x.seq != base.order_seq]
    if not visits:
        if base.voucher_id is not None or base.offer_id is not None:
            return attrs.evolve(base, model=AttributionModel.VOUCHER)
        return base
    first, last = visits[0], visits[-1]
    followups = {names.followup_delivered, names.followup_clicked}
    after_last = [x for x in touches if x.type in followups and last.at <= x.at <= t]
    after_first = [x for x in touches if x.type in followups and first.at <= x.at <= t]
    fu = after_last[-1] if after_last else None
    return attrs.evolve(
        base, model=AttributionModel.O2O2O, store_id=base.store_id or last.store_id,
        offer_id=base.offer_id or last.offer_id, voucher_id=base.voucher_id or last.voucher_id,
        touch_type=last.type, touch_seq=last.seq, touch_store_id=last.store_id,
        first_touch_type=first.type, first_touch_seq=first.seq,
        followup_id=_followup_id(fu) if fu else None, followup_seq=fu.seq if fu else None,
        first_followup_seq=after_first[0].seq if after_first else None,
    )  # fmt: skip


def attribute_pending(storage: Storage, names: EventNames, settings: AttributionSettings, now: datetime,
                      *, batch: int = 500, rebuild: bool = False) -> int:  # fmt: skip
    """Attribute every order event that has no attribution yet; returns how many were added."""
    touch_types = sorted({names.issued, names.checked_in, names.redeemed, names.voided, names.followup_delivered,
                          names.followup_clicked, names.order_in_store, _PICKUP_PLACED, _PICKUP_HANDED_OVER})  # fmt: skip
    before = max(settings.checkin_window, settings.issued_window, settings.visit_window, settings.redemption_window)
    after = settings.redemption_window
    added = 0
    if rebuild:
        with _db.write(storage) as sql:
            sql.execute("DELETE FROM attributions")
            sql.execute("DELETE FROM o2o_meta WHERE key IN (?, ?)", (CURSOR_KEY, GAPS_KEY))
    with _db.read(storage) as sql:
        row = sql.one("SELECT value FROM o2o_meta WHERE key = ?", (CURSOR_KEY,))
    cursor = int(row[0]) if row else 0
    # Only orders up to a gap-free end: one whose transaction commits after a later one is
    # not skipped, and an order is attributed once every earlier event (its touches) is visible.
    end = _db.readable_end(storage, GAPS_KEY, cursor, now)
    start = max(0, cursor - LOOKBACK_SEQ)
    marks = ", ".join("?" for _ in touch_types)
    while True:
        with _db.read(storage) as sql:
            orders = sql.all(
                "SELECT j.seq, j.at, j.type, j.offer_id, j.voucher_id, j.store_id, j.customer_id, j.data FROM journal j"
                " WHERE j.type IN (?, ?) AND j.seq > ? AND j.seq <= ?"
                " AND NOT EXISTS (SELECT 1 FROM attributions a WHERE a.order_seq = j.seq) ORDER BY j.seq LIMIT ?",
                (*names.orders, start, end, batch),
            )
            parsed = []
            for seq, at, type_, offer_id, voucher_id, store_id, customer_id, data in orders:
                order = _Touch(int(seq), sql.ts_out(at), type_, offer_id, voucher_id, store_id, json.loads(data) if data else {})  # type: ignore[arg-type]
                parsed.append((order, type_, customer_id, _order_time(order.at, order.data)))
            # every touch of this batch's customers in one query, split per customer
            by_customer: dict[str, list[_Touch]] = {}
            customers = sorted({c for _, _, c, _ in parsed if c is not None})
            if customers:
                low = min(t for _, _, c, t in parsed if c is not None) - before
                high = max(t for _, _, c, t in parsed if c is not None) + after
                rows = sql.all(
                    f"SELECT customer_id, seq, at, type, offer_id, voucher_id, store_id, data FROM journal"
                    f" WHERE customer_id IN ({', '.join('?' for _ in customers)}) AND type IN ({marks})"
                    " AND at >= ? AND at <= ? ORDER BY at, seq",
                    (*customers, *touch_types, sql.ts(low), sql.ts(high)),
                )
                for r in rows:
                    by_customer.setdefault(r[0], []).append(
                        _Touch(int(r[1]), sql.ts_out(r[2]), r[3], r[4], r[5], r[6], json.loads(r[7]) if r[7] else {})  # type: ignore[arg-type]
                    )
            results: list[Attribution] = []
            for order, type_, customer_id, t in parsed:
                touches = [x for x in by_customer.get(customer_id, []) if t - before <= x.at <= t + after] if customer_id else []
                results.append(attribute_one(order, type_, customer_id, touches, names, settings))
        last = len(orders) < batch  # then every order up to the end is attributed
        if not orders and end <= cursor:
            break
        with _db.write(storage) as sql:
            cols = ", ".join([*COLUMNS, "computed_at"])
            marks_row = ", ".join("?" for _ in range(len(COLUMNS) + 1))
            for a in results:
                values = [sql.ts(v) if isinstance(v, datetime) else v for v in attrs.astuple(a)]
                done = sql.execute(
                    f"INSERT INTO attributions ({cols}) VALUES ({marks_row}) ON CONFLICT (order_seq) DO NOTHING",
                    (*values, sql.ts(now)),
                )
                added += max(int(done.rowcount), 0)
            cursor = max(cursor, end if last else int(orders[-1][0]))
            # never backwards (a concurrent run may have gone further)
            sql.execute(
                "INSERT INTO o2o_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                " WHERE CAST(o2o_meta.value AS BIGINT) < CAST(excluded.value AS BIGINT)",
                (CURSOR_KEY, str(cursor)),
            )
        if last:
            break
        start = max(int(orders[-1][0]), start)
    return added

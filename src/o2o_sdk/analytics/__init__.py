"""``sdk.analytics``: measurement — attribution, the O2O2O funnel, reports, privacy.

::

    sdk.analytics.record_view(token)            # the voucher page was opened: voucher_viewed
    sdk.analytics.record_click(followup_id)     # a follow-up's link was followed: followup_clicked
    sdk.analytics.attribute()                   # attribute new orders (incremental, idempotent)
    report = sdk.analytics.funnel(offer="spring", since=datetime(2026, 6, 1, tzinfo=UTC))
    print(report.table())
    page = sdk.analytics.report_page()          # data + SVG, for the web report page
    sdk.analytics.forget("cust-42")             # erase a customer's personal data

Event names consumed and written are in :class:`EventNames`; rules in ``docs/measurement.md``.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from .._checks import check_limit, cutoff
from ..errors import InvalidInput, NotFound, TokenError
from ..models import JournalEvent
from . import _db
from ._attribution import Attribution, AttributionModel, attribute_pending
from ._charts import chart_png, chart_svg, write_chart
from ._events import FOLLOWUP_CLICKED, FOLLOWUP_DELIVERED, STORE_SEARCHED, VOUCHER_VIEWED, EventNames
from ._funnel import FunnelStep, count_funnel, default_steps
from ._privacy import ForgetReport, forget, purge
from ._report import FunnelReport, GroupRow, OfferRow, RevenueRow, StepStats, build_report
from ._stream import EventStream

if TYPE_CHECKING:
    from ..sdk import O2O

__all__ = [
    "FOLLOWUP_CLICKED",
    "FOLLOWUP_DELIVERED",
    "STORE_SEARCHED",
    "VOUCHER_VIEWED",
    "Analytics",
    "Attribution",
    "AttributionModel",
    "EventNames",
    "EventStream",
    "ForgetReport",
    "FunnelReport",
    "FunnelStep",
    "GroupRow",
    "OfferRow",
    "ReportPage",
    "RevenueRow",
    "StepStats",
    "chart_png",
    "chart_svg",
    "write_chart",
]


#: Attributions of orders still standing: not cancelled on the platform since (``order_cancelled``).
_NOT_CANCELLED = (
    " AND NOT EXISTS (SELECT 1 FROM platform_orders p WHERE p.platform = attributions.platform"
    " AND p.order_id = attributions.order_id AND p.cancelled_at IS NOT NULL)"
)


@attrs.frozen
class ReportPage:
    """What a web report page needs: the report, its JSON-ready data and the SVG chart."""

    report: FunnelReport
    data: dict[str, Any]
    svg: str
    table: str


class Analytics:
    """Measurement of one SDK instance (``sdk.analytics``)."""

    def __init__(self, sdk: O2O, events: EventNames | None = None) -> None:
        self._sdk = sdk
        #: The journal event types measured; replace to match differently named events.
        self.events = events or EventNames()

    # --- events measurement writes
    def record_view(self, token_or_voucher_id: str, *, data: dict[str, Any] | None = None) -> JournalEvent:
        """Journal ``voucher_viewed`` for a voucher (its token, link or id): call it when the
        customer opens the voucher page. The event carries the voucher's offer and customer."""
        text = token_or_voucher_id.strip()
        if "/o/" in text:
            text = text.rsplit("/o/", 1)[1].split("?", 1)[0].split("#", 1)[0]
        voucher = self._sdk.storage.get_voucher(text.lower()) if len(text) == 16 else None
        if voucher is None:
            try:
                voucher_id = self._sdk.offers.verify(text).voucher_id
            except (TokenError, InvalidInput):
                raise NotFound("No voucher with this token or id.") from None
            voucher = self._sdk.storage.get_voucher(voucher_id)
            if voucher is None:
                raise NotFound("No voucher with this token or id.")
        return self._sdk.journal.append(self.events.viewed, offer_id=voucher.offer_id, voucher_id=voucher.id,
                                        customer_id=voucher.customer_id, data=data)  # fmt: skip

    def record_click(self, followup_id: str, *, customer_id: str | None = None, link: str | None = None,
                     offer_id: str | None = None, store_id: str | None = None) -> JournalEvent:  # fmt: skip
        """Journal ``followup_clicked``: the customer followed a follow-up message's link.

        ``customer_id`` defaults to the customer the follow-up's delivery was journaled for.
        """
        if not followup_id:
            raise InvalidInput("A click needs the follow-up's id.")
        if customer_id is None or offer_id is None or store_id is None:
            delivered = self._delivery(followup_id)
            if delivered is not None:
                customer_id = customer_id or delivered.customer_id
                offer_id = offer_id or delivered.offer_id
                store_id = store_id or delivered.store_id
        data: dict[str, Any] = {"followup_id": followup_id}
        if link:
            data["link"] = link
        return self._sdk.journal.append(self.events.followup_clicked, customer_id=customer_id, offer_id=offer_id,
                                        store_id=store_id, data=data)  # fmt: skip

    def _delivery(self, followup_id: str) -> JournalEvent | None:
        with _db.read(self._sdk.storage) as sql:
            row = sql.one(
                "SELECT seq, at, type, offer_id, voucher_id, store_id, customer_id, data FROM journal"
                " WHERE type = ? AND data LIKE ? ORDER BY seq DESC LIMIT 1",
                (self.events.followup_delivered, f'%"{followup_id}"%'),
            )
        if row is None:
            return None
        data = json.loads(row[7]) if row[7] else {}
        if str(data.get("followup_id")) != followup_id:
            return None
        return JournalEvent(row[2], sql.ts_out(row[1]), row[3], row[4], row[5], row[6], data, int(row[0]))  # type: ignore[arg-type]

    def record_search(self, *, results: int, customer_id: str | None = None, filters: dict[str, Any] | None = None) -> JournalEvent:
        """Journal ``store_searched`` (``sdk.stores.near`` calls this). No location is kept;
        the customer only when the caller passes their id."""
        data: dict[str, Any] = {"results": results}
        if filters:
            data.update({k: v for k, v in filters.items() if v})
        return self._sdk.journal.append(self.events.searched, customer_id=customer_id, data=data)

    def stream(self, name: str, *, types: Sequence[str] | None = None, from_start: bool = False,
               start_after: int | None = None) -> EventStream:  # fmt: skip
        """The journal as a durable, at-least-once stream for the sink ``name`` (see :class:`EventStream`)."""
        return EventStream(self._sdk, name, types=types, from_start=from_start, start_after=start_after)

    # --- attribution
    def attribute(self, *, rebuild: bool = False, batch: int = 500) -> int:
        """Attribute every order not yet attributed; returns how many were added.

        Incremental and idempotent (one row per order event); ``rebuild=True`` drops every
        attribution and starts again (after changing the windows).
        """
        if batch < 1:
            raise InvalidInput(f"batch must be 1 or more; got {batch!r}.")
        return attribute_pending(self._sdk.storage, self.events, self._sdk.config.attribution,
                                 self._sdk.clock.now(), batch=batch, rebuild=rebuild)  # fmt: skip

    def attributions(self, *, customer_id: str | None = None, model: str | None = None, limit: int = 1000) -> builtins.list[Attribution]:
        """Stored attributions, oldest order first."""
        check_limit(limit)
        from ._attribution import COLUMNS

        where, params = [], []
        for col, value in (("customer_id", customer_id), ("model", model)):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with _db.read(self._sdk.storage) as sql:
            rows = sql.all(f"SELECT {', '.join(COLUMNS)} FROM attributions{clause} ORDER BY at, order_seq LIMIT ?", (*params, limit))
            out = []
            for r in rows:
                values = dict(zip(COLUMNS, r, strict=True))
                values["at"] = sql.ts_out(values["at"])
                for k in ("order_seq", "touch_seq", "first_touch_seq", "followup_seq", "first_followup_seq", "amount_minor"):
                    if values[k] is not None:
                        values[k] = int(values[k])
                out.append(Attribution(**values))
        return out

    # --- funnel and reports
    def steps(self) -> tuple[FunnelStep, ...]:
        """The default funnel steps for :attr:`events`."""
        return default_steps(self.events)

    def funnel(self, *, offer: str | None = None, store: str | None = None, since: datetime | None = None,
               until: datetime | None = None, steps: Sequence[FunnelStep] | None = None,
               attribute: bool = True, by_offer: bool = False) -> FunnelReport:  # fmt: skip
        """The funnel with conversion rates and median times, per day and store, and attributed
        revenue (``attribute``: attribute new orders first). ``by_offer`` adds vouchers issued,
        views and redemptions per offer (one more scan of those events)."""
        for name, value in (("since", since), ("until", until)):
            if value is None:
                continue
            if value.tzinfo is None:
                raise InvalidInput(f"{name} needs a time zone.")
            try:
                value.astimezone(UTC)
            except OverflowError:  # e.g. 9999-12-31T23:59-14:00 is in year 10000 in UTC
                raise InvalidInput(f"{name} {value.isoformat()} is outside the UTC calendar.") from None
        if attribute:
            self.attribute()
        steps = tuple(steps or self.steps())
        storage = self._sdk.storage
        raw = count_funnel(storage, steps, offer=offer, store=store, since=since, until=until)
        offers, revenue, by_store = self._side_tables(offer, store, since, until, by_offer)
        return build_report(steps, raw, offers, revenue, by_store, offer=offer, store=store, since=since, until=until)

    def _side_tables(self, offer: str | None, store: str | None, since: datetime | None,
                     until: datetime | None, by_offer: bool) -> tuple[builtins.list[OfferRow], builtins.list[RevenueRow], builtins.list[RevenueRow]]:  # fmt: skip
        e = self.events
        with _db.read(self._sdk.storage) as sql:
            where, params = "", []
            if since is not None:
                where += " AND at >= ?"
                params.append(sql.ts(since))
            if until is not None:
                where += " AND at < ?"
                params.append(sql.ts(until))
            jwhere, jparams = where, list(params)
            if offer is not None:
                jwhere += " AND offer_id = ?"
                jparams.append(offer)
            counts: dict[str, dict[str, int]] = {}
            for offer_id, type_, n in sql.all(
                f"SELECT offer_id, type, COUNT(*) FROM journal WHERE type IN (?, ?, ?) AND offer_id IS NOT NULL{jwhere}"
                " GROUP BY offer_id, type", (e.issued, e.viewed, e.redeemed, *jparams),
            ) if by_offer else ():  # fmt: skip
                counts.setdefault(str(offer_id), {})[str(type_)] = int(n)
            offer_rows = [OfferRow(o, c.get(e.issued, 0), c.get(e.viewed, 0), c.get(e.redeemed, 0)) for o, c in sorted(counts.items())]
            # Orders the platform cancelled after they were recorded earn nothing.
            awhere, aparams = where + _NOT_CANCELLED, list(params)
            if offer is not None:
                awhere += " AND offer_id = ?"
                aparams.append(offer)
            if store is not None:
                awhere += " AND COALESCE(touch_store_id, store_id) = ?"
                aparams.append(store)
            revenue = [
                RevenueRow(str(m), c, int(n), int(s or 0)) for m, c, n, s in sql.all(
                    f"SELECT model, currency, COUNT(*), SUM(amount_minor) FROM attributions WHERE 1 = 1{awhere}"
                    " GROUP BY model, currency ORDER BY model, currency", aparams)
            ]  # fmt: skip
            by_store = [
                RevenueRow(str(st), c, int(n), int(s or 0)) for st, c, n, s in sql.all(
                    f"SELECT COALESCE(touch_store_id, store_id) AS st, currency, COUNT(*), SUM(amount_minor) FROM attributions"
                    f" WHERE model <> 'none'{awhere} AND COALESCE(touch_store_id, store_id) IS NOT NULL"
                    " GROUP BY COALESCE(touch_store_id, store_id), currency ORDER BY 1, 2", aparams)
            ]  # fmt: skip
        return offer_rows, revenue, by_store

    def funnel_table(self, **filters: Any) -> str:
        """The funnel as a printable table (``o2o demo`` ends with it)."""
        return self.funnel(**filters).table()

    def report_page(self, **filters: Any) -> ReportPage:
        """The report as data and SVG, so a web page only has to lay them out."""
        report = self.funnel(**filters)
        return ReportPage(report, report.to_dict(), chart_svg(report), report.table())

    # --- privacy
    def forget(self, customer_id: str, *, emails: Iterable[str] = ()) -> ForgetReport:
        """Erase a customer's personal data in every table, keeping anonymous aggregates.

        The id (and the platform ids and e-mail addresses recorded with their orders, plus
        ``emails``) is replaced by one random anonymous id; names, e-mails and phones are
        removed from stored payloads. Journals ``customer_forgotten`` with the anonymous id.
        """
        if not customer_id or not customer_id.strip():
            raise InvalidInput("Which customer? Give their id.")
        if customer_id.startswith("anon_"):
            raise InvalidInput("This id is already anonymous.")
        return forget(self._sdk.storage, customer_id, emails, self._sdk.clock.now())

    def purge(self, older_than: timedelta | None = None) -> ForgetReport:
        """Anonymise personal data older than ``older_than`` (default ``config.retention``)."""
        keep = older_than or self._sdk.config.retention
        if keep is None:
            raise InvalidInput("How old? Give older_than or set the retention (O2O_RETENTION=400d).")
        if keep <= timedelta(0):
            raise InvalidInput("older_than must be positive.")
        return purge(self._sdk.storage, cutoff(self._sdk.clock.now(), keep))

"""The funnel report as data: steps with rates and medians, breakdowns, attributed revenue."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from ..money import Money
from ._funnel import FunnelStep, RawFunnel

__all__ = ["FunnelReport", "GroupRow", "OfferRow", "RevenueRow", "StepStats", "build_report"]


@attrs.frozen
class StepStats:
    """One funnel step: customers who reached it, conversion and time from the previous step."""

    name: str
    label: str
    customers: int
    #: Share of the previous step's customers who reached this one (``None`` for step 1).
    rate_from_previous: float | None
    #: Share of step 1's customers who reached this one.
    rate_from_start: float | None
    #: Median seconds from reaching the previous step to reaching this one.
    median_seconds: float | None


@attrs.frozen
class GroupRow:
    """Customers reaching each step, for one day (of entry) or one store (of the visit)."""

    key: str
    counts: tuple[int, ...]


@attrs.frozen
class RevenueRow:
    """Orders and their total attributed by one model (or to one store / offer), in one currency."""

    key: str
    currency: str | None
    orders: int
    amount_minor: int

    @property
    def amount(self) -> Money | None:
        """The total as money (``None`` without a currency)."""
        return Money(self.amount_minor, self.currency) if self.currency else None


@attrs.frozen
class OfferRow:
    """Per offer: vouchers issued, voucher views and redemptions (events) in the period."""

    offer_id: str
    issued: int
    viewed: int
    redeemed: int


@attrs.frozen
class FunnelReport:
    """The funnel and its breakdowns; :meth:`table`, :meth:`to_dict` and :meth:`to_csv` print it."""

    steps: tuple[StepStats, ...]
    by_day: tuple[GroupRow, ...]
    by_store: tuple[GroupRow, ...]
    by_offer: tuple[OfferRow, ...]
    #: Attributed orders by model (``voucher``, ``checkin``, ``issued``, ``o2o2o``, ``none``).
    revenue: tuple[RevenueRow, ...]
    revenue_by_store: tuple[RevenueRow, ...]
    offer: str | None = None
    store: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        names = [s.name for s in self.steps]
        return {
            "filters": {"offer": self.offer, "store": self.store,
                        "since": self.since.isoformat() if self.since else None,
                        "until": self.until.isoformat() if self.until else None},
            "steps": [attrs.asdict(s) for s in self.steps],
            "by_day": [{"day": g.key, **dict(zip(names, g.counts, strict=True))} for g in self.by_day],
            "by_store": [{"store": g.key, **dict(zip(names, g.counts, strict=True))} for g in self.by_store],
            "by_offer": [attrs.asdict(o) for o in self.by_offer],
            "revenue": [attrs.asdict(r) for r in self.revenue],
            "revenue_by_store": [attrs.asdict(r) for r in self.revenue_by_store],
        }  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_csv(self) -> str:
        """The steps as CSV (one row per step)."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["step", "label", "customers", "rate_from_previous", "rate_from_start", "median_seconds"])
        for s in self.steps:
            w.writerow([s.name, s.label, s.customers, _num(s.rate_from_previous), _num(s.rate_from_start), _num(s.median_seconds)])
        return out.getvalue()

    def table(self) -> str:
        """A plain-text table for terminals and logs."""
        scope = ", ".join(f"{k} {v}" for k, v in (("offer", self.offer), ("store", self.store),
                          ("since", self.since and self.since.date()), ("until", self.until and self.until.date())) if v)  # fmt: skip
        lines = [f"O2O2O funnel{' (' + scope + ')' if scope else ''}"]
        rows = [("step", "customers", "from prev", "from start", "median time")]
        for s in self.steps:
            rows.append((s.label, f"{s.customers:,}", _pct(s.rate_from_previous), _pct(s.rate_from_start), _dur(s.median_seconds)))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for j, r in enumerate(rows):
            lines.append("  ".join(r[0].ljust(widths[0]) if i == 0 else r[i].rjust(widths[i]) for i in range(5)).rstrip())
            if j == 0:
                lines.append("  ".join("-" * w for w in widths))
        if self.revenue:
            lines.append("")
            lines.append("Attributed orders")
            for rev in self.revenue:
                lines.append(f"  {rev.key:<8} {rev.orders:>7,} orders  {_money(rev)}")
        return "\n".join(lines)


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def _money(r: RevenueRow) -> str:
    m = r.amount
    return str(m) if m is not None else f"{r.amount_minor:,} (no currency)"


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = float(seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if s >= size:
            return f"{s / size:.1f}{unit}"
    return f"{s:.0f}s"


def build_report(steps: Sequence[FunnelStep], raw: RawFunnel, by_offer: Sequence[OfferRow], revenue: Sequence[RevenueRow],
                 revenue_by_store: Sequence[RevenueRow], **filters: Any) -> FunnelReport:  # fmt: skip
    n = len(steps)
    totals = [0] * n
    days: dict[str, list[int]] = {}
    stores: dict[str, list[int]] = {}
    for day, store, counts in raw.groups:
        for i, c in enumerate(counts):
            totals[i] += c
            days.setdefault(day, [0] * n)[i] += c
            if store is not None:
                stores.setdefault(store, [0] * n)[i] += c
    stats = []
    for i, step in enumerate(steps):
        prev = totals[i - 1] if i else None
        stats.append(StepStats(
            step.name, step.label, totals[i],
            round(totals[i] / prev, 6) if prev else None,
            round(totals[i] / totals[0], 6) if totals[0] else None,
            raw.medians[i],
        ))  # fmt: skip
    return FunnelReport(
        tuple(stats),
        tuple(GroupRow(k, tuple(v)) for k, v in sorted(days.items())),
        tuple(GroupRow(k, tuple(v)) for k, v in sorted(stores.items())),
        tuple(by_offer), tuple(revenue), tuple(revenue_by_store), **filters,
    )

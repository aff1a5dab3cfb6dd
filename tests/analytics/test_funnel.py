"""The funnel and attribution on a synthetic month whose answers are known by construction."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from o2o_sdk import O2O
from o2o_sdk.config import AttributionSettings

from .synth import OFFERS, START, STEPS, build


@pytest.fixture
def month(sdk: O2O):  # type: ignore[no-untyped-def]
    return sdk, build(sdk)


def test_steps_count_each_customer_once_in_order(month) -> None:  # type: ignore[no-untyped-def]
    sdk, truth = month
    report = sdk.analytics.funnel()
    assert [s.name for s in report.steps] == list(STEPS)
    assert [s.customers for s in report.steps] == truth.counts
    for i, s in enumerate(report.steps):
        assert s.rate_from_start == round(truth.counts[i] / truth.counts[0], 6)
        assert s.rate_from_previous == (round(truth.counts[i] / truth.counts[i - 1], 6) if i else None)


def test_median_time_between_steps(month) -> None:  # type: ignore[no-untyped-def]
    sdk, truth = month
    report = sdk.analytics.funnel()
    assert [s.median_seconds for s in report.steps] == truth.medians()


def test_per_store_and_per_day(month) -> None:  # type: ignore[no-untyped-def]
    sdk, truth = month
    report = sdk.analytics.funnel()
    assert {g.key: list(g.counts) for g in report.by_store} == truth.by_store
    assert {g.key: list(g.counts) for g in report.by_day} == truth.by_day
    only = sdk.analytics.funnel(store="nyc-soho")
    assert [s.customers for s in only.steps] == truth.by_store["nyc-soho"]


def test_per_offer(month) -> None:  # type: ignore[no-untyped-def]
    sdk, truth = month
    for offer in OFFERS:
        report = sdk.analytics.funnel(offer=offer)
        assert [s.customers for s in report.steps] == truth.by_offer[offer]
    rows = {r.offer_id: (r.issued, r.viewed, r.redeemed) for r in sdk.analytics.funnel(by_offer=True).by_offer}
    assert rows == {o: (c["issued"], c["viewed"], c["redeemed"]) for o, c in truth.offer_events.items()}
    assert sdk.analytics.funnel().by_offer == ()


def test_since_until_limit_entries(month) -> None:  # type: ignore[no-untyped-def]
    sdk, truth = month
    since, until = START + timedelta(days=7), START + timedelta(days=14)
    report = sdk.analytics.funnel(since=since, until=until)
    days = {d: c for d, c in truth.by_day.items() if since.date().isoformat() <= d < until.date().isoformat()}
    assert report.steps[0].customers == sum(c[0] for c in days.values())


def test_attribution_answers_and_revenue(month) -> None:  # type: ignore[no-untyped-def]
    sdk, truth = month
    assert sdk.analytics.attribute() == len(truth.orders)
    got = sdk.analytics.attributions(limit=100_000)
    assert Counter(a.model for a in got) == truth.models
    for a in got:
        model, touch, fu = truth.orders[a.order_id]
        assert (a.model, a.touch_type, a.followup_id) == (model, touch, fu), a
    o2o2o = [a for a in got if a.model == "o2o2o"]
    assert o2o2o and all(a.first_touch_type == "checked_in" and a.touch_store_id for a in o2o2o)
    report = sdk.analytics.funnel()
    assert {r.key: r.amount_minor for r in report.revenue} == dict(truth.revenue)
    assert {r.key: r.orders for r in report.revenue} == dict(truth.models)


def test_attribution_is_incremental_and_idempotent(month) -> None:  # type: ignore[no-untyped-def]
    sdk, truth = month
    first = sdk.analytics.attribute(batch=333)
    assert first == len(truth.orders)
    assert sdk.analytics.attribute() == 0
    assert len(sdk.analytics.attributions(limit=100_000)) == len(truth.orders)
    assert sdk.analytics.attribute(rebuild=True) == len(truth.orders)


def test_precedence_is_configurable(make_sdk, clock) -> None:  # type: ignore[no-untyped-def]
    from o2o_sdk import JournalEvent, OrderEvent, OrderKind
    from o2o_sdk.money import Money

    sdk = make_sdk(attribution=AttributionSettings(precedence=("issued", "checkin", "voucher")))
    now = clock.now()
    sdk.storage.append_events([
        JournalEvent("issued", now - timedelta(days=2), "o1", "v1", None, "c1"),
        JournalEvent("checked_in", now - timedelta(hours=1), None, None, "s1", "c1"),
    ])
    sdk.orders.record(OrderEvent("shop", "1", OrderKind.IN_STORE, now, Money(1000, "EUR"), store_id="s1", customer_id="c1"))
    sdk.analytics.attribute()
    [a] = sdk.analytics.attributions()
    assert (a.model, a.offer_id, a.first_touch_type) == ("issued", "o1", "issued")


def test_windows_are_configurable(make_sdk, clock) -> None:  # type: ignore[no-untyped-def]
    from o2o_sdk import JournalEvent, OrderEvent, OrderKind
    from o2o_sdk.money import Money

    sdk = make_sdk(attribution=AttributionSettings(checkin_window=timedelta(minutes=30), issued_window=timedelta(days=1)))
    now = clock.now()
    sdk.storage.append_events([
        JournalEvent("issued", now - timedelta(days=2), "o1", "v1", None, "c1"),
        JournalEvent("checked_in", now - timedelta(hours=1), None, None, "s1", "c1"),
    ])
    sdk.orders.record(OrderEvent("shop", "1", OrderKind.IN_STORE, now, Money(1000, "EUR"), store_id="s1", customer_id="c1"))
    sdk.analytics.attribute()
    assert [a.model for a in sdk.analytics.attributions()] == ["none"]

"""Bad arguments to the SDK's own methods are InvalidInput on every backend: never an
untyped error (OverflowError, ValueError, IndexError), never a StorageError (which says the
database failed), and never read differently by one backend (SQLite takes ``LIMIT -1`` as
"no limit", PostgreSQL refuses it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import DEMO_STORES, TEST_KEYS

from o2o_sdk import O2O, Config, Discount, FrozenClock, InvalidInput, Offer
from o2o_sdk.hours import OpeningHours

HUGE = timedelta(days=10**8)  # past the calendar from any date

CALLS: dict[str, Callable[[O2O], Any]] = {
    "journal.read(limit=-1)": lambda sdk: sdk.journal.read(limit=-1),
    "orders.list(limit=-1)": lambda sdk: sdk.orders.list(limit=-1),
    "checkins.list(limit=-1)": lambda sdk: sdk.checkins.list(limit=-1),
    "offers.release_expired(limit=-1)": lambda sdk: sdk.offers.release_expired(limit=-1),
    "pickups.release_due(limit=-1)": lambda sdk: sdk.pickups.release_due(limit=-1),
    "pickups.list(limit=-1)": lambda sdk: sdk.pickups.list(limit=-1),
    "followups.plan(limit=-1)": lambda sdk: sdk.followups.plan(limit=-1),
    "followups.list(limit=-1)": lambda sdk: sdk.followups.list(limit=-1),
    "followups.list(status='nonsense')": lambda sdk: sdk.followups.list(status="nonsense"),
    "followups.contacts.list(limit=-1)": lambda sdk: sdk.followups.contacts.list(limit=-1),
    "analytics.attributions(limit=-1)": lambda sdk: sdk.analytics.attributions(limit=-1),
    "analytics.attribute(batch=0)": lambda sdk: sdk.analytics.attribute(batch=0),
    "checkins.session_token(ttl=HUGE)": lambda sdk: sdk.checkins.session_token("ada", ttl=HUGE),
    "offers.issue_many(offer, 10**12)": lambda sdk: sdk.offers.issue_many(_offer(sdk), 10**12),  # was a MemoryError
    "offers.issue_many(offer, 5, batch_size=0)": lambda sdk: sdk.offers.issue_many(_offer(sdk), 5, batch_size=0),
    "pickups.create(quantity=10**30)": lambda sdk: sdk.pickups.create("lon-soho", [{"sku": "mug", "quantity": 10**30}]),
    # the hours' look-ahead and look-back ran off the calendar (OverflowError)
    "stores.near(open_at=9999-12-31)": lambda sdk: sdk.stores.near(51.5, -0.13, open_at=datetime(9999, 12, 31, 23, tzinfo=UTC)),
    "stores.near(open_at=0001-01-01)": lambda sdk: sdk.stores.near(51.5, -0.13, open_at=datetime(1, 1, 1, 1, tzinfo=UTC)),
    "stores.near(open_for=10**6 days)": lambda sdk: sdk.stores.near(51.5, -0.13, open_now=True, open_for=timedelta(days=10**6)),
    "OpeningHours.status(9999-12-31)": lambda sdk: OpeningHours.always_open().status(datetime(9999, 12, 31, 23, tzinfo=UTC), "UTC"),
    # an offer ending in year 10000 in UTC: issuing its vouchers raised OverflowError
    "offers.create(ends_at=9999-12-31T23:59-12:00)": lambda sdk: sdk.offers.create(
        "late", Discount.percent_off(5), ends_at=datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-12)))),
    "offers.create(starts_at=0001-01-01)": lambda sdk: sdk.offers.create("early", Discount.percent_off(5), starts_at=datetime(1, 1, 1)),
    "analytics.funnel(since=9999-12-31T23:59-14:00)": lambda sdk: sdk.analytics.funnel(
        since=datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14)))),
}


def _offer(sdk: O2O) -> Offer:
    return sdk.offers.create("5% off", Discount.percent_off(5))


@pytest.fixture
def sdk(database_url: str, clock: FrozenClock) -> Iterator[O2O]:
    with O2O(Config(database_url=database_url, secret_keys=TEST_KEYS, auto_migrate=True), clock=clock) as sdk:
        sdk.stores.add(DEMO_STORES)
        yield sdk


@pytest.mark.parametrize("name", list(CALLS))
def test_a_bad_argument_is_invalid_input(sdk: O2O, name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        CALLS[name](sdk)
    assert err.value.message and not err.value.message.startswith("PostgreSQL error")


def test_an_age_beyond_the_calendar_removes_nothing_instead_of_overflowing(sdk: O2O) -> None:
    assert sdk.checkins.forget_used_codes(HUGE) == 0
    assert sdk.analytics.purge(HUGE).total == 0
    assert sdk.journal.read(limit=0) == []

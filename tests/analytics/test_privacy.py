"""Forgetting a customer and retention: personal data gone everywhere, aggregates kept."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from o2o_sdk import O2O, Basket, Discount, InvalidInput, OrderEvent, OrderKind
from o2o_sdk.analytics import _db, _privacy
from o2o_sdk.money import Money

ADA = "cust-ada-1"
PERSONAL = re.compile(r"customer|email|e_mail|phone|recipient|contact")


def _story(sdk: O2O, customer: str, email: str) -> None:
    sdk.followups.contacts.upsert(customer, email=email, phone=f"+4477009001{len(customer):02d}", name=f"Name of {customer}")
    offer = sdk.offers.create("Spring", Discount.percent_off(10))
    n = len(sdk.orders.list())
    v1 = sdk.offers.issue(offer, customer)
    v2 = sdk.offers.issue(offer, customer)
    sdk.analytics.record_view(v1.token)
    sdk.stores.near(51.5, -0.13, k=1, customer_id=customer)
    sdk.checkins.by_staff("lon-soho", customer_id=customer, staff_id="till-1")
    sdk.offers.reserve(v2.token, "lon-soho", customer_id=customer)
    sdk.offers.redeem(v1.token, "lon-soho", customer_id=customer, basket=Basket(Money(5000, "GBP")), idempotency_key=f"k-{n}")
    sdk.orders.record(OrderEvent("shop", f"o-{n}", OrderKind.IN_STORE, sdk.clock.now(), Money(5000, "GBP"),
                                 store_id="lon-soho", customer_id=f"plat-{customer}", customer_email=email,
                                 voucher_id=v1.id))  # fmt: skip
    sdk.orders.record(OrderEvent("shop", f"w-{n}", OrderKind.ONLINE, sdk.clock.now() + timedelta(days=1),
                                 Money(7000, "GBP"), customer_id=f"plat-{customer}", customer_email=email))  # fmt: skip
    sdk.analytics.attribute()


def _dump(sdk: O2O) -> str:
    """Every row of every table, as text."""
    out = []
    with _db.read(sdk.storage) as sql:
        for table in sorted(_privacy._tables(sql)):
            out += [repr(r) for r in sql.all(f"SELECT * FROM {table}")]
    return "\n".join(out)


def test_forget_erases_ids_and_emails_in_every_table_and_keeps_counts(sdk: O2O) -> None:
    _story(sdk, ADA, "Ada@Example.com")
    _story(sdk, "cust-bob-2", "bob@example.com")
    before = sdk.analytics.funnel()
    counts = sdk.journal.counts()
    assert ADA in _dump(sdk) and "Ada@Example.com" in _dump(sdk)
    done = sdk.analytics.forget(ADA)
    text = _dump(sdk)
    assert ADA not in text and "plat-cust-ada-1" not in text and "ada@example.com" not in text.lower()
    assert done.anonymous_id in text and done.total > 10
    assert {"journal", "vouchers", "redemptions", "reservations", "checkins", "platform_orders",
            "idempotency_keys", "attributions", "followup_contacts"} <= set(done.rows)  # fmt: skip
    assert "Name of cust-ada-1" not in text and sdk.followups.contacts.find(ADA) is None
    assert "cust-bob-2" in text and "bob@example.com" in text  # others untouched
    after = sdk.analytics.funnel()
    assert [s.customers for s in after.steps] == [s.customers for s in before.steps]
    assert after.revenue == before.revenue
    assert {k: v for k, v in sdk.journal.counts().items() if k != "customer_forgotten"} == counts
    [event] = sdk.journal.read(types=["customer_forgotten"])
    assert event.data == {"anonymous_id": done.anonymous_id} and event.customer_id is None


def test_forget_refuses_nonsense(sdk: O2O) -> None:
    with pytest.raises(InvalidInput):
        sdk.analytics.forget(" ")
    with pytest.raises(InvalidInput):
        sdk.analytics.forget("anon_0123456789abcdef")


def test_every_personal_column_of_the_schema_is_handled(sdk: O2O) -> None:
    """Fails when a migration adds a customer / e-mail column that forget does not cover."""
    handled = set(_privacy.ID_COLUMNS) | set(_privacy.EMAIL_COLUMNS) | set(_privacy.NOT_PERSONAL)
    personal = {(t, c) for t, c in _privacy.schema_columns(sdk.storage)
                if PERSONAL.search(c) and t not in _privacy.DELETED_TABLES}  # fmt: skip
    assert personal, "the scan found no customer columns at all"
    assert personal - handled == set()
    tables = {t for t, _ in _privacy.schema_columns(sdk.storage)}
    assert {t for t, _ in _privacy.JSON_COLUMNS} <= tables


def test_purge_anonymises_only_old_rows_with_one_id_per_customer(sdk: O2O, clock) -> None:  # type: ignore[no-untyped-def]
    _story(sdk, ADA, "ada@example.com")
    clock.advance(days=500)
    _story(sdk, "cust-new-3", "new@example.com")
    with pytest.raises(InvalidInput):
        sdk.analytics.purge()
    done = sdk.analytics.purge(timedelta(days=400))
    text = _dump(sdk)
    assert ADA not in text and "ada@example.com" not in text
    assert "cust-new-3" in text and "new@example.com" in text
    assert done.rows["journal"] >= 5
    ids = {e.customer_id for e in sdk.journal.read(limit=10_000) if e.customer_id and e.customer_id.startswith("anon_")}
    assert len(ids) == 2  # ada and her platform id, each consistently renamed
    assert sdk.analytics.purge(timedelta(days=400)).rows.get("journal", 0) == 0


def test_retention_setting_drives_purge(make_sdk, clock) -> None:  # type: ignore[no-untyped-def]
    sdk = make_sdk(retention=timedelta(days=30))
    sdk.journal.append("issued", customer_id="old-1", data={"customer_email": "x@example.com"})
    clock.advance(days=31)
    sdk.analytics.purge()
    [event] = sdk.journal.read()
    assert event.customer_id.startswith("anon_") and json.dumps(event.data).find("x@example.com") < 0

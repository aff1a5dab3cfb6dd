"""Offers: validate (dry run) and redeem (commit), in each store's time zone, within caps.

Every test runs on SQLite and on PostgreSQL (the ``sdk`` fixture). The clock is frozen at
Monday 2026-06-15 12:00 UTC: 13:00 in London, 08:00 in New York, 21:00 in Tokyo.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from o2o_sdk import (
    O2O,
    Adjust,
    AppliedDiscount,
    Basket,
    BasketItem,
    Caps,
    Discount,
    DiscountKind,
    EventType,
    FrozenClock,
    IdempotencyConflict,
    InvalidInput,
    Money,
    NotFound,
    Offer,
    Reason,
    RedemptionContext,
    RedemptionRefused,
    Refuse,
    ReservationStatus,
    Voucher,
    VoucherStatus,
    hookimpl,
)

LONDON, NEW_YORK, TOKYO = "lon-soho", "nyc-soho", "tyo-shibuya"


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def basket(total: Money, *items: BasketItem) -> Basket:
    return Basket(total, tuple(items))


def refused(call: Callable[[], Any]) -> list[Reason]:
    """The reasons a redeem/reserve call is refused with (fails if it is not refused)."""
    with pytest.raises(RedemptionRefused) as err:
        call()
    assert err.value.message == err.value.refusals[0].message
    return list(err.value.reasons)


def codes(sdk: O2O, voucher: Voucher, store: str = LONDON, **kwargs: Any) -> list[Reason]:
    """The reasons ``validate`` gives (empty when the voucher would be accepted)."""
    result = sdk.offers.validate(voucher.token, store, **kwargs)
    assert result.ok == (not result.refusals)
    return [r.code for r in result.refusals]


def journal_types(sdk: O2O) -> list[str]:
    return [e.type for e in sdk.journal.read()]


# --------------------------------------------------------------------------- validate vs redeem


def test_validate_is_a_dry_run_that_shows_the_discount(sdk: O2O) -> None:
    offer = sdk.offers.create("2 EUR off", Discount.amount_off(eur(200)))
    voucher = sdk.offers.issue(offer, "alice")

    for _ in range(2):
        result = sdk.offers.validate(voucher.token, LONDON, basket=basket(eur(1000)))
        assert result.ok
        assert result.voucher_id == voucher.id and result.offer_id == offer.id
        assert result.customer_id == "alice"
        assert result.discount is not None and result.discount.amount == eur(200)

    assert sdk.storage.get_voucher(voucher.id).status is VoucherStatus.ACTIVE
    assert sdk.offers.usage(offer.id).redeemed == 0

    redemption = sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(1000)))
    assert redemption.voucher_id == voucher.id and redemption.offer_id == offer.id
    assert redemption.store_id == LONDON and redemption.customer_id == "alice"
    assert redemption.discount.amount == eur(200)
    assert redemption.basket_total == eur(1000)
    assert sdk.storage.get_voucher(voucher.id).status is VoucherStatus.REDEEMED
    usage = sdk.offers.usage(offer.id)
    assert (usage.redeemed, usage.spent_minor) == (1, 200)
    assert sdk.storage.get_redemption(redemption.id) == redemption


def test_validate_lists_every_reason_and_redeem_raises_with_all_of_them(sdk: O2O) -> None:
    offer = sdk.offers.create("Soho only", Discount.amount_off(eur(300)), stores=[LONDON], min_basket=eur(2000))
    voucher = sdk.offers.issue(offer)

    assert codes(sdk, voucher, NEW_YORK, basket=basket(eur(500))) == [Reason.WRONG_STORE, Reason.BELOW_MINIMUM_BASKET]
    reasons = refused(lambda: sdk.offers.redeem(voucher.token, NEW_YORK, basket=basket(eur(500))))
    assert reasons == [Reason.WRONG_STORE, Reason.BELOW_MINIMUM_BASKET]
    assert sdk.storage.get_voucher(voucher.id).status is VoucherStatus.ACTIVE


def test_an_unknown_store_is_a_caller_mistake(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)))
    with pytest.raises(NotFound):
        sdk.offers.validate(voucher.token, "atlantis")
    with pytest.raises(NotFound):
        sdk.offers.reserve(voucher.token, "atlantis")
    with pytest.raises(NotFound):
        sdk.offers.redeem(voucher.token, "atlantis")
    with pytest.raises(NotFound):
        sdk.offers.create("Atlantis only", Discount.percent_off(10), stores=["atlantis"])
    with pytest.raises(NotFound):
        sdk.offers.get("off_missing")
    assert sdk.offers.validate(voucher.token, LONDON).ok


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": "  "}, "title"),
        ({"starts_at": datetime(2026, 7, 1), "ends_at": datetime(2026, 6, 1)}, "ends before it starts"),
        ({"starts_at": datetime(2026, 6, 1), "ends_at": datetime(2026, 7, 1, tzinfo=UTC)}, "both"),
        ({"stores": []}, "at least one store"),
        ({"caps": Caps(budget=Money(1000, "GBP"))}, "different currencies"),
    ],
)
def test_an_impossible_offer_is_invalid_input(sdk: O2O, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"title": "Offer", "discount": Discount.amount_off(eur(100))} | kwargs
    with pytest.raises(InvalidInput, match=message):
        sdk.offers.create(args.pop("title"), args.pop("discount"), **args)


def test_an_offer_id_is_unique(sdk: O2O) -> None:
    sdk.offers.create("First", Discount.percent_off(5), id="summer")
    with pytest.raises(InvalidInput, match="already exists"):
        sdk.offers.create("Second", Discount.percent_off(5), id="summer")
    assert sdk.offers.get("summer").title == "First"


def test_an_offer_round_trips_through_storage(sdk: O2O) -> None:
    offer = sdk.offers.create(
        "Happy hour", Discount.percent_off("12.5"), starts_at=datetime(2026, 6, 1, 17), ends_at=datetime(2026, 6, 30, 19),
        stores=[LONDON, TOKYO], caps=Caps(total=10, per_customer=2), min_basket=eur(500), metadata={"campaign": "june"},
    )  # fmt: skip
    assert sdk.offers.get(offer.id) == offer
    assert sdk.offers.get(offer.id).starts_at.tzinfo is None, "naive stays naive: store-local wall time"
    assert [o.id for o in sdk.offers.list()] == [offer.id]


# --------------------------------------------------------------------------- validity window


def test_a_naive_end_is_wall_time_in_each_stores_time_zone(sdk: O2O, clock: FrozenClock) -> None:
    offer = sdk.offers.create("Until 8 pm", Discount.percent_off(10), ends_at=datetime(2026, 6, 15, 20, 0))
    clock.set(datetime(2026, 6, 15, 10, 59, 59, tzinfo=UTC))  # 19:59:59 in Tokyo
    voucher = sdk.offers.issue(offer)
    assert codes(sdk, voucher, TOKYO) == []

    clock.set(datetime(2026, 6, 15, 11, 0, tzinfo=UTC))  # 20:00 Tokyo, 07:00 New York, 12:00 London
    assert codes(sdk, voucher, TOKYO) == [Reason.OFFER_ENDED]
    assert codes(sdk, voucher, NEW_YORK) == []
    assert codes(sdk, voucher, LONDON) == []
    assert refused(lambda: sdk.offers.redeem(voucher.token, TOKYO)) == [Reason.OFFER_ENDED]

    clock.set(datetime(2026, 6, 15, 19, 0, tzinfo=UTC))  # 20:00 London
    assert codes(sdk, voucher, LONDON) == [Reason.OFFER_ENDED]
    assert codes(sdk, voucher, NEW_YORK) == []
    assert sdk.offers.redeem(voucher.token, NEW_YORK).store_id == NEW_YORK


def test_a_naive_start_is_wall_time_in_each_stores_time_zone(sdk: O2O) -> None:
    # 12:00 UTC is 08:00 in New York: a 09:00 start has not come there yet.
    offer = sdk.offers.create("From 9 am", Discount.percent_off(10), starts_at=datetime(2026, 6, 15, 9, 0))
    voucher = sdk.offers.issue(offer)
    assert codes(sdk, voucher, NEW_YORK) == [Reason.NOT_YET_VALID]
    assert codes(sdk, voucher, LONDON) == []
    assert codes(sdk, voucher, TOKYO) == []


def test_an_aware_window_is_the_same_instant_for_every_store(sdk: O2O, clock: FrozenClock) -> None:
    offer = sdk.offers.create(
        "Flash sale", Discount.percent_off(10),
        starts_at=datetime(2026, 6, 15, 11, 0, tzinfo=UTC), ends_at=datetime(2026, 6, 15, 13, 0, tzinfo=UTC),
    )  # fmt: skip
    voucher = sdk.offers.issue(offer)
    assert voucher.expires_at == offer.ends_at, "a voucher never outlives an absolute end"
    long_lived = sdk.offers.issue(offer, expires_at=datetime(2026, 7, 1, tzinfo=UTC))
    assert [codes(sdk, voucher, s) for s in (LONDON, NEW_YORK, TOKYO)] == [[], [], []]
    clock.set(datetime(2026, 6, 15, 13, 0, tzinfo=UTC))
    assert [codes(sdk, voucher, s) for s in (LONDON, NEW_YORK, TOKYO)] == [[Reason.EXPIRED]] * 3
    assert [codes(sdk, long_lived, s) for s in (LONDON, NEW_YORK, TOKYO)] == [[Reason.OFFER_ENDED]] * 3
    clock.set(datetime(2026, 6, 15, 10, 59, tzinfo=UTC))
    assert [codes(sdk, long_lived, s) for s in (LONDON, NEW_YORK, TOKYO)] == [[Reason.NOT_YET_VALID]] * 3


def test_a_voucher_of_an_offer_ending_in_local_time_lives_until_the_last_store_closes_it(sdk: O2O) -> None:
    offer = sdk.offers.create("Until 8 pm", Discount.percent_off(10), ends_at=datetime(2026, 6, 15, 20, 0))
    voucher = sdk.offers.issue(offer)
    # 20:00 at UTC-12 is the latest instant that wall time happens anywhere.
    assert voucher.expires_at == datetime(2026, 6, 16, 8, 0, tzinfo=UTC)


def test_no_voucher_is_issued_for_an_offer_that_is_over(sdk: O2O) -> None:
    offer = sdk.offers.create("Past", Discount.percent_off(10), ends_at=datetime(2026, 6, 1, tzinfo=UTC))
    with pytest.raises(InvalidInput, match="expired"):
        sdk.offers.issue(offer)


# --------------------------------------------------------------------------- stores and customers


def test_an_offer_limited_to_stores_is_refused_elsewhere(sdk: O2O) -> None:
    offer = sdk.offers.create("London and Tokyo", Discount.percent_off(10), stores=[LONDON, TOKYO])
    voucher = sdk.offers.issue(offer)
    assert codes(sdk, voucher, NEW_YORK) == [Reason.WRONG_STORE]
    assert refused(lambda: sdk.offers.redeem(voucher.token, NEW_YORK)) == [Reason.WRONG_STORE]
    assert codes(sdk, voucher, TOKYO) == []
    assert sdk.offers.redeem(voucher.token, TOKYO).store_id == TOKYO


def test_a_customer_bound_voucher_is_refused_for_another_customer(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("For Alice", Discount.percent_off(10)), "alice")
    assert codes(sdk, voucher, customer_id="bob") == [Reason.CUSTOMER_MISMATCH]
    assert refused(lambda: sdk.offers.redeem(voucher.token, LONDON, customer_id="bob")) == [Reason.CUSTOMER_MISMATCH]
    assert codes(sdk, voucher, customer_id="alice") == []
    redemption = sdk.offers.redeem(voucher.token, LONDON)  # the till need not know the customer
    assert redemption.customer_id == "alice"


def test_a_redeemed_voucher_is_refused_as_already_redeemed(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)))
    sdk.offers.redeem(voucher.token, LONDON)
    assert codes(sdk, voucher) == [Reason.ALREADY_REDEEMED]
    assert refused(lambda: sdk.offers.redeem(voucher.token, TOKYO)) == [Reason.ALREADY_REDEEMED]
    assert sdk.offers.usage(voucher.offer_id).redeemed == 1


def test_a_deactivated_offer_refuses_its_vouchers_and_issues_no_more(sdk: O2O) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    voucher = sdk.offers.issue(offer)
    assert sdk.offers.deactivate(offer.id).active is False
    assert codes(sdk, voucher) == [Reason.OFFER_INACTIVE]
    assert refused(lambda: sdk.offers.redeem(voucher.token, LONDON)) == [Reason.OFFER_INACTIVE]
    with pytest.raises(InvalidInput, match="inactive"):
        sdk.offers.issue(offer.id)


# --------------------------------------------------------------------------- caps


def test_the_total_cap_counts_redemptions_of_all_vouchers(sdk: O2O) -> None:
    offer = sdk.offers.create("First two", Discount.percent_off(10), caps=Caps(total=2))
    first, second, third = sdk.offers.issue_many(offer, 3)
    sdk.offers.redeem(first.token, LONDON)
    assert codes(sdk, third) == []
    sdk.offers.redeem(second.token, TOKYO)
    assert codes(sdk, third) == [Reason.CAP_REACHED]
    assert refused(lambda: sdk.offers.redeem(third.token, LONDON)) == [Reason.CAP_REACHED]
    assert sdk.offers.usage(offer.id).redeemed == 2


def test_the_per_customer_cap_counts_each_customers_redemptions(sdk: O2O) -> None:
    offer = sdk.offers.create("Once each", Discount.percent_off(10), caps=Caps(per_customer=1))
    alice_1, alice_2, bob = sdk.offers.issue_many(offer, ["alice", "alice", "bob"])
    anonymous = sdk.offers.issue(offer)
    sdk.offers.redeem(alice_1.token, LONDON)
    assert codes(sdk, alice_2) == [Reason.CUSTOMER_CAP_REACHED]
    assert refused(lambda: sdk.offers.redeem(alice_2.token, LONDON)) == [Reason.CUSTOMER_CAP_REACHED]
    # an anonymous voucher presented by a known customer counts for that customer
    assert codes(sdk, anonymous, customer_id="alice") == [Reason.CUSTOMER_CAP_REACHED]
    assert sdk.offers.redeem(bob.token, LONDON).customer_id == "bob"
    assert sdk.offers.redeem(anonymous.token, LONDON).customer_id is None


def test_the_budget_caps_the_money_given_away(sdk: O2O) -> None:
    offer = sdk.offers.create("5 EUR off", Discount.amount_off(eur(500)), caps=Caps(budget=eur(1200)))
    vouchers = sdk.offers.issue_many(offer, 4)
    sdk.offers.redeem(vouchers[0].token, LONDON, basket=basket(eur(2000)))
    sdk.offers.redeem(vouchers[1].token, LONDON, basket=basket(eur(2000)))
    # 1000 spent: a full 500 would overshoot 1200, so it is refused ...
    assert codes(sdk, vouchers[2], basket=basket(eur(2000))) == [Reason.BUDGET_EXHAUSTED]
    assert refused(lambda: sdk.offers.redeem(vouchers[2].token, LONDON, basket=basket(eur(2000)))) == [
        Reason.BUDGET_EXHAUSTED
    ]
    # ... but a 150 basket only takes 150 off, which still fits
    assert sdk.offers.redeem(vouchers[2].token, LONDON, basket=basket(eur(150))).discount.amount == eur(150)
    usage = sdk.offers.usage(offer.id)
    assert (usage.redeemed, usage.spent_minor) == (3, 1150)


def test_a_budget_on_a_percent_offer_needs_the_basket(sdk: O2O) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10), caps=Caps(budget=eur(100)))
    voucher = sdk.offers.issue(offer)
    assert codes(sdk, voucher) == [Reason.BASKET_REQUIRED]
    assert codes(sdk, voucher, basket=basket(eur(2000))) == [Reason.BUDGET_EXHAUSTED]
    assert sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(1000))).discount.amount == eur(100)


# --------------------------------------------------------------------------- baskets and discounts


def test_a_minimum_basket_needs_the_basket_total(sdk: O2O) -> None:
    offer = sdk.offers.create("Over 20 EUR", Discount.amount_off(eur(300)), min_basket=eur(2000))
    voucher = sdk.offers.issue(offer)
    assert codes(sdk, voucher) == [Reason.BASKET_REQUIRED]
    assert codes(sdk, voucher, basket=basket(eur(1999))) == [Reason.BELOW_MINIMUM_BASKET]
    assert codes(sdk, voucher, basket=basket(eur(2000))) == []
    assert refused(lambda: sdk.offers.redeem(voucher.token, LONDON)) == [Reason.BASKET_REQUIRED]
    assert sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(2000))).discount.amount == eur(300)


def test_a_basket_in_another_currency_is_refused(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("3 EUR off", Discount.amount_off(eur(300))))
    assert codes(sdk, voucher, basket=basket(Money(2000, "GBP"))) == [Reason.CURRENCY_MISMATCH]
    assert refused(lambda: sdk.offers.redeem(voucher.token, LONDON, basket=basket(Money(2000, "GBP")))) == [
        Reason.CURRENCY_MISMATCH
    ]


@pytest.mark.parametrize(
    ("percent", "total", "expected"),
    [
        ("10", eur(125), eur(12)),  # 12.5 cents -> 12
        ("10", eur(135), eur(14)),  # 13.5 cents -> 14
        ("15", Money(1250, "GBP"), Money(188, "GBP")),  # 187.5 -> 188
        ("15", Money(1150, "GBP"), Money(172, "GBP")),  # 172.5 -> 172
        ("15", Money(999, "JPY"), Money(150, "JPY")),
        ("100", eur(4999), eur(4999)),
    ],
)
def test_a_percent_discount_rounds_half_to_even(sdk: O2O, percent: str, total: Money, expected: Money) -> None:
    voucher = sdk.offers.issue(sdk.offers.create(f"{percent}% off", Discount.percent_off(percent)))
    result = sdk.offers.validate(voucher.token, LONDON, basket=basket(total))
    assert result.discount == AppliedDiscount(DiscountKind.PERCENT, expected, Decimal(percent), None, f"{percent}% off")
    assert sdk.offers.redeem(voucher.token, LONDON, basket=basket(total)).discount.amount == expected


def test_a_percent_discount_without_a_basket_tells_the_percentage(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("15% off", Discount.percent_off(15)))
    discount = sdk.offers.validate(voucher.token, LONDON).discount
    assert discount is not None
    assert (discount.amount, discount.percent, discount.description) == (None, Decimal(15), "15% off")


def test_a_fixed_amount_never_exceeds_the_basket(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("5 EUR off", Discount.amount_off(eur(500))))
    assert sdk.offers.validate(voucher.token, LONDON).discount.amount == eur(500)
    assert sdk.offers.validate(voucher.token, LONDON, basket=basket(eur(300))).discount.amount == eur(300)
    assert sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(300))).discount.amount == eur(300)


def test_a_free_item_must_be_in_the_basket(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("Free latte", Discount.free_item("latte")))
    croissant = BasketItem("croissant", 2, eur(250))
    latte = BasketItem("latte", 1, eur(380))
    assert codes(sdk, voucher, basket=basket(eur(500), croissant)) == [Reason.ITEM_NOT_IN_BASKET]
    assert refused(lambda: sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(500), croissant))) == [
        Reason.ITEM_NOT_IN_BASKET
    ]
    redemption = sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(880), croissant, latte))
    assert redemption.discount.kind is DiscountKind.FREE_ITEM
    assert redemption.discount.sku == "latte"
    assert redemption.discount.amount == eur(380)


# --------------------------------------------------------------------------- idempotency


def test_a_retried_redeem_with_the_same_key_returns_the_first_redemption(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)))
    first = sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(1000)), idempotency_key="pos-1:tx-42")
    again = sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(1000)), idempotency_key="pos-1:tx-42")
    assert again == first
    assert again.idempotency_key == "pos-1:tx-42"
    assert journal_types(sdk).count(EventType.REDEEMED) == 1
    assert EventType.REFUSED not in journal_types(sdk)
    assert sdk.offers.usage(voucher.offer_id).redeemed == 1
    # without the key the retry is a second use, refused
    assert refused(lambda: sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(1000)))) == [
        Reason.ALREADY_REDEEMED
    ]


def test_the_same_key_with_different_parameters_is_a_conflict(sdk: O2O) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    voucher, other = sdk.offers.issue_many(offer, 2)
    sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(1000)), idempotency_key="tx-1")
    for call in (
        lambda: sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(1001)), idempotency_key="tx-1"),
        lambda: sdk.offers.redeem(voucher.token, TOKYO, basket=basket(eur(1000)), idempotency_key="tx-1"),
        lambda: sdk.offers.redeem(other.token, LONDON, basket=basket(eur(1000)), idempotency_key="tx-1"),
        lambda: sdk.offers.reserve(voucher.token, LONDON, basket=basket(eur(1000)), idempotency_key="tx-1"),
    ):
        with pytest.raises(IdempotencyConflict) as err:
            call()
        assert err.value.code == "idempotency_conflict"
    assert sdk.storage.get_voucher(other.id).status is VoucherStatus.ACTIVE


def test_an_idempotency_key_has_1_to_255_characters(sdk: O2O) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    voucher = sdk.offers.issue(offer)
    for bad in ("k" * 256, ""):
        with pytest.raises(InvalidInput, match="255"):
            sdk.offers.redeem(voucher.token, LONDON, idempotency_key=bad)
    assert sdk.storage.get_voucher(voucher.id).status is VoucherStatus.ACTIVE
    assert sdk.offers.redeem(voucher.token, LONDON, idempotency_key="k" * 255).idempotency_key == "k" * 255


def test_a_refused_request_is_not_remembered_under_its_key(sdk: O2O) -> None:
    offer = sdk.offers.create("Over 20 EUR", Discount.amount_off(eur(300)), min_basket=eur(2000))
    voucher = sdk.offers.issue(offer)
    assert refused(
        lambda: sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(1000)), idempotency_key="tx-7")
    ) == [Reason.BELOW_MINIMUM_BASKET]
    redemption = sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(2500)), idempotency_key="tx-7")
    assert redemption.basket_total == eur(2500)


def test_a_retried_reserve_with_the_same_key_returns_the_first_hold(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)))
    hold = sdk.offers.reserve(voucher.token, LONDON, idempotency_key="checkout-9")
    assert sdk.offers.reserve(voucher.token, LONDON, idempotency_key="checkout-9") == hold
    assert journal_types(sdk).count(EventType.RESERVED) == 1


# --------------------------------------------------------------------------- void


def test_void_gives_back_usage_and_budget_and_the_voucher(sdk: O2O, clock: FrozenClock) -> None:
    offer = sdk.offers.create("5 EUR off", Discount.amount_off(eur(500)), caps=Caps(total=1, budget=eur(500)))
    voucher, waiting = sdk.offers.issue_many(offer, 2)
    redemption = sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(2000)))
    assert codes(sdk, waiting, basket=basket(eur(2000))) == [Reason.CAP_REACHED, Reason.BUDGET_EXHAUSTED]

    clock.advance(minutes=5)
    voided = sdk.offers.void(redemption.id, "refund: customer returned the goods")
    assert voided.id == redemption.id
    assert voided.voided_at == clock.now()
    assert voided.void_reason == "refund: customer returned the goods"
    assert sdk.storage.get_redemption(redemption.id) == voided
    usage = sdk.offers.usage(offer.id)
    assert (usage.redeemed, usage.spent_minor) == (0, 0)
    assert sdk.storage.get_voucher(voucher.id).status is VoucherStatus.ACTIVE

    [event] = sdk.journal.read(types=[EventType.VOIDED])
    assert event.data == {"redemption_id": redemption.id, "reason": "refund: customer returned the goods"}
    assert (event.offer_id, event.voucher_id, event.store_id) == (offer.id, voucher.id, LONDON)

    # the cap and budget are free again; the voided voucher itself is usable again
    assert codes(sdk, waiting, basket=basket(eur(2000))) == []
    again = sdk.offers.redeem(voucher.token, TOKYO, basket=basket(eur(2000)))
    assert again.id != redemption.id


def test_voiding_twice_returns_the_first_void(sdk: O2O, clock: FrozenClock) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("5 EUR off", Discount.amount_off(eur(500))))
    redemption = sdk.offers.redeem(voucher.token, LONDON)
    first = sdk.offers.void(redemption.id, "refund")
    clock.advance(hours=1)
    second = sdk.offers.void(redemption.id, "duplicate refund")
    assert second == first
    assert second.void_reason == "refund"
    assert journal_types(sdk).count(EventType.VOIDED) == 1
    assert sdk.offers.usage(voucher.offer_id).redeemed == 0


def test_void_needs_a_reason_and_a_known_redemption(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("5 EUR off", Discount.amount_off(eur(500))))
    redemption = sdk.offers.redeem(voucher.token, LONDON)
    with pytest.raises(InvalidInput, match="why"):
        sdk.offers.void(redemption.id, "  ")
    with pytest.raises(NotFound):
        sdk.offers.void("red_missing", "refund")
    assert sdk.storage.get_redemption(redemption.id).voided_at is None


# --------------------------------------------------------------------------- reservations


def test_a_hold_blocks_other_redemptions_until_converted(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)), "alice")
    hold = sdk.offers.reserve(voucher.token, LONDON, basket=basket(eur(1000)), ttl=timedelta(minutes=10))
    assert hold.status is ReservationStatus.ACTIVE
    assert (hold.voucher_id, hold.store_id, hold.customer_id, hold.amount) == (voucher.id, LONDON, "alice", eur(100))
    assert hold.expires_at == hold.created_at + timedelta(minutes=10)

    assert codes(sdk, voucher) == [Reason.RESERVED]
    assert refused(lambda: sdk.offers.redeem(voucher.token, LONDON)) == [Reason.RESERVED]
    assert refused(lambda: sdk.offers.reserve(voucher.token, TOKYO)) == [Reason.RESERVED]

    redemption = sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(1000)), reservation_id=hold.id)
    assert redemption.reservation_id == hold.id
    assert sdk.storage.get_reservation(hold.id).status is ReservationStatus.CONVERTED
    assert codes(sdk, voucher) == [Reason.ALREADY_REDEEMED]


def test_a_hold_counts_against_the_caps(sdk: O2O) -> None:
    offer = sdk.offers.create("One only", Discount.amount_off(eur(500)), caps=Caps(total=1, budget=eur(500)))
    held, other = sdk.offers.issue_many(offer, 2)
    hold = sdk.offers.reserve(held.token, LONDON)
    assert sdk.offers.usage(offer.id).reserved == 1
    assert sdk.offers.usage(offer.id).reserved_minor == 500
    assert refused(lambda: sdk.offers.redeem(other.token, LONDON)) == [Reason.CAP_REACHED, Reason.BUDGET_EXHAUSTED]
    # converting the hold is not blocked by its own place in the caps
    sdk.offers.redeem(held.token, LONDON, reservation_id=hold.id)
    usage = sdk.offers.usage(offer.id)
    assert (usage.redeemed, usage.reserved, usage.spent_minor) == (1, 0, 500)


def test_releasing_a_hold_frees_the_voucher_and_the_caps(sdk: O2O) -> None:
    offer = sdk.offers.create("One only", Discount.percent_off(10), caps=Caps(total=1))
    held, other = sdk.offers.issue_many(offer, 2)
    hold = sdk.offers.reserve(held.token, LONDON)
    released = sdk.offers.release(hold.id, "payment failed")
    assert released.status is ReservationStatus.RELEASED
    assert sdk.offers.release(hold.id).status is ReservationStatus.RELEASED  # twice is harmless
    [event] = sdk.journal.read(types=[EventType.RELEASED])
    assert event.data == {"reservation_id": hold.id, "reason": "payment failed"}
    assert refused(lambda: sdk.offers.redeem(held.token, LONDON, reservation_id=hold.id)) == [Reason.RESERVATION_INVALID]
    assert sdk.offers.redeem(other.token, LONDON).voucher_id == other.id
    with pytest.raises(NotFound):
        sdk.offers.release("res_missing")


def test_an_expired_hold_stops_counting_and_is_swept(sdk: O2O, clock: FrozenClock) -> None:
    offer = sdk.offers.create("One only", Discount.percent_off(10), caps=Caps(total=1))
    voucher = sdk.offers.issue(offer)
    hold = sdk.offers.reserve(voucher.token, LONDON, ttl=timedelta(minutes=10))
    clock.advance(minutes=9, seconds=59)
    assert codes(sdk, voucher) == [Reason.RESERVED, Reason.CAP_REACHED]
    assert sdk.offers.release_expired() == 0

    clock.advance(seconds=1)
    assert codes(sdk, voucher) == [], "an expired hold no longer blocks, even before the sweep"
    assert sdk.offers.usage(offer.id).reserved == 0
    assert sdk.offers.release_expired() == 1
    assert sdk.offers.release_expired() == 0
    assert sdk.storage.get_reservation(hold.id).status is ReservationStatus.EXPIRED
    [event] = sdk.journal.read(types=[EventType.RELEASED])
    assert event.data == {"reservation_id": hold.id, "reason": "expired"}
    assert event.at == clock.now()


def test_converting_an_expired_hold_is_refused_as_reservation_invalid(sdk: O2O, clock: FrozenClock) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    voucher, other = sdk.offers.issue_many(offer, 2)
    hold = sdk.offers.reserve(voucher.token, LONDON, ttl=timedelta(minutes=10))
    other_hold = sdk.offers.reserve(other.token, LONDON, ttl=timedelta(minutes=30))
    assert refused(lambda: sdk.offers.redeem(voucher.token, LONDON, reservation_id=other_hold.id)) == [
        Reason.RESERVATION_INVALID
    ]
    assert refused(lambda: sdk.offers.redeem(voucher.token, LONDON, reservation_id="res_missing")) == [
        Reason.RESERVATION_INVALID
    ]
    clock.advance(minutes=11)
    assert refused(lambda: sdk.offers.redeem(voucher.token, LONDON, reservation_id=hold.id)) == [
        Reason.RESERVATION_INVALID
    ]
    assert sdk.offers.redeem(voucher.token, LONDON).reservation_id is None


def test_a_voucher_whose_hold_expired_can_be_held_again_before_the_sweep(sdk: O2O, clock: FrozenClock) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)))
    first = sdk.offers.reserve(voucher.token, LONDON, ttl=timedelta(minutes=10))
    clock.advance(minutes=15)
    second = sdk.offers.reserve(voucher.token, TOKYO, ttl=timedelta(minutes=10))
    assert second.id != first.id
    assert sdk.storage.get_reservation(first.id).status is ReservationStatus.EXPIRED
    assert sdk.offers.release(first.id).status is ReservationStatus.EXPIRED
    assert sdk.offers.redeem(voucher.token, TOKYO, reservation_id=second.id).store_id == TOKYO


def test_a_hold_needs_a_positive_ttl(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)))
    with pytest.raises(InvalidInput):
        sdk.offers.reserve(voucher.token, LONDON, ttl=timedelta(0))
    with pytest.raises(InvalidInput, match="year 9999"):  # not an OverflowError from the date arithmetic
        sdk.offers.reserve(voucher.token, LONDON, ttl=timedelta(days=10**8))
    with pytest.raises(InvalidInput, match="year 2105"):
        sdk.offers.issue(sdk.offers.create("5% off", Discount.percent_off(5)), ttl=timedelta(days=10**8))


@pytest.mark.parametrize("percent", ["nan", "NaN", "sNaN", "Infinity", "abc", "", 0, 101])
def test_a_percentage_that_is_not_one_is_invalid_input(percent: object) -> None:
    with pytest.raises(InvalidInput):
        Discount.percent_off(percent)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- issuing


def test_bulk_issue_writes_in_batches_and_reports_progress(sdk: O2O) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    calls: list[tuple[int, int]] = []
    vouchers = sdk.offers.issue_many(offer, 7, batch_size=3, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 7), (6, 7), (7, 7)]
    assert len({v.id for v in vouchers}) == len({v.token for v in vouchers}) == 7
    assert sorted(v.id for v in sdk.storage.list_vouchers(offer.id)) == sorted(v.id for v in vouchers)
    assert journal_types(sdk) == [EventType.ISSUED] * 7
    named = sdk.offers.issue_many(offer, ["alice", None, "bob"])
    assert [v.customer_id for v in named] == ["alice", None, "bob"]
    with pytest.raises(InvalidInput):
        sdk.offers.issue_many(offer, 0)


def test_an_issued_voucher_carries_its_expiry(sdk: O2O, clock: FrozenClock) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    default = sdk.offers.issue(offer)
    assert default.expires_at == clock.now() + sdk.config.voucher_ttl
    short = sdk.offers.issue(offer, ttl=timedelta(hours=2))
    assert short.expires_at == clock.now() + timedelta(hours=2)
    assert sdk.offers.verify(short.token).expires_at == short.expires_at
    with pytest.raises(InvalidInput, match="time zone"):
        sdk.offers.issue(offer, expires_at=datetime(2026, 7, 1))


# --------------------------------------------------------------------------- plugin rules


class NoDiscountForStaff:
    """A rule plugin: staff members cannot use vouchers."""

    @hookimpl
    def o2o_check_redemption(self, context: RedemptionContext) -> Refuse | None:
        if context.customer_id and context.customer_id.startswith("staff-"):
            return Refuse("Staff cannot use customer vouchers.")
        return None


class CapDiscount:
    def __init__(self, minor: int) -> None:
        self.minor = minor

    @hookimpl
    def o2o_check_redemption(self, context: RedemptionContext) -> Adjust:
        d = context.discount
        return Adjust(AppliedDiscount(d.kind, eur(self.minor), d.percent, d.sku, f"capped at {self.minor}"))


def test_a_plugin_rule_can_refuse_and_is_named_as_the_source(sdk: O2O) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    staff, customer = sdk.offers.issue_many(offer, ["staff-7", "carol"])
    with sdk.plugins.registered(NoDiscountForStaff(), name="staff-rule") as name:
        assert name == "staff-rule"
        result = sdk.offers.validate(staff.token, LONDON)
        [refusal] = result.refusals
        assert (refusal.code, refusal.source, refusal.message) == (
            Reason.REFUSED_BY_RULE, "staff-rule", "Staff cannot use customer vouchers.",
        )  # fmt: skip
        with pytest.raises(RedemptionRefused) as err:
            sdk.offers.redeem(staff.token, LONDON)
        assert err.value.refusals == (refusal,)
        assert refused(lambda: sdk.offers.reserve(staff.token, LONDON)) == [Reason.REFUSED_BY_RULE]
        assert codes(sdk, customer) == []
    assert codes(sdk, staff) == [], "the rule is gone with its plugin"


def test_adjusting_rules_lower_the_discount_and_the_smallest_wins(sdk: O2O) -> None:
    offer = sdk.offers.create("5 EUR off", Discount.amount_off(eur(500)), caps=Caps(budget=eur(5000)))
    voucher = sdk.offers.issue(offer)
    with sdk.plugins.registered(CapDiscount(300), name="cap-300"), sdk.plugins.registered(CapDiscount(200), name="cap-200"):
        assert sdk.offers.validate(voucher.token, LONDON, basket=basket(eur(1000))).discount.amount == eur(200)
        redemption = sdk.offers.redeem(voucher.token, LONDON, basket=basket(eur(1000)))
    assert redemption.discount.amount == eur(200)
    assert redemption.discount.description == "capped at 200"
    assert sdk.offers.usage(offer.id).spent_minor == 200


# --------------------------------------------------------------------------- journal


def test_every_state_change_is_journaled_with_time_offer_voucher_store_and_customer(
    sdk: O2O, clock: FrozenClock
) -> None:
    offer: Offer = sdk.offers.create("5 EUR off", Discount.amount_off(eur(500)), stores=[LONDON, TOKYO])
    times: list[datetime] = []

    def step() -> None:
        times.append(clock.advance(seconds=30))

    step()
    voucher = sdk.offers.issue(offer, "alice")
    step()
    sdk.offers.validate(voucher.token, LONDON)
    step()
    hold = sdk.offers.reserve(voucher.token, LONDON)
    step()
    sdk.offers.release(hold.id, "payment failed")
    step()
    hold = sdk.offers.reserve(voucher.token, LONDON)
    step()
    redemption = sdk.offers.redeem(voucher.token, LONDON, reservation_id=hold.id)
    step()
    sdk.offers.void(redemption.id, "refund")
    step()
    with pytest.raises(RedemptionRefused):
        sdk.offers.redeem(voucher.token, NEW_YORK)

    events = sdk.journal.read()
    assert [e.type for e in events] == [
        "issued", "validated", "reserved", "released", "reserved", "redeemed", "voided", "refused",
    ]  # fmt: skip
    assert [e.at for e in events] == times
    assert all(e.offer_id == offer.id and e.voucher_id == voucher.id and e.customer_id == "alice" for e in events)
    assert [e.store_id for e in events] == [None, LONDON, LONDON, LONDON, LONDON, LONDON, LONDON, NEW_YORK]
    seqs = [e.seq for e in events]
    assert all(isinstance(s, int) for s in seqs) and seqs == sorted(set(seqs))  # type: ignore[type-var]
    assert events[1].data == {"ok": True}
    assert events[2].data["reservation_id"] == events[3].data["reservation_id"]
    assert events[5].data == {"redemption_id": redemption.id, "discount_minor": 500, "currency": "EUR"}
    assert events[7].data == {"reasons": ["wrong_store"]}
    assert sdk.journal.counts() == {"issued": 1, "validated": 1, "reserved": 2, "released": 1,
                                    "redeemed": 1, "voided": 1, "refused": 1}  # fmt: skip


def test_a_refused_validation_is_journaled_with_its_reasons(sdk: O2O) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("Tokyo only", Discount.percent_off(10), stores=[TOKYO]))
    sdk.offers.validate(voucher.token, LONDON)
    sdk.offers.validate("garbage", LONDON)
    _, wrong_store, garbage = sdk.journal.read()
    assert (wrong_store.type, wrong_store.data) == ("validated", {"ok": False, "reasons": ["wrong_store"]})
    assert (garbage.type, garbage.voucher_id, garbage.offer_id, garbage.store_id) == ("validated", None, None, LONDON)
    assert garbage.data == {"ok": False, "reasons": ["malformed_token"]}

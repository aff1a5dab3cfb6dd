"""Money: integer minor units, ISO 4217 exponents, half-even rounding, strict parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2o_sdk import InvalidInput, Money, parse_money
from o2o_sdk.money import MAX_MINOR, currency_exponent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.50 EUR", Money(1250, "EUR")),
        ("EUR 12.50", Money(1250, "EUR")),
        ("12.5 eur", Money(1250, "EUR")),
        ("  7 GBP  ", Money(700, "GBP")),
        ("500 JPY", Money(500, "JPY")),
        ("1.234 KWD", Money(1234, "KWD")),
        ("0.001 KWD", Money(1, "KWD")),
        ("0 USD", Money(0, "USD")),
    ],
)
def test_parse_money_reads_what_people_type(text: str, expected: Money) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize(("currency", "exponent"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3)])
def test_currency_exponent_follows_iso_4217(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("money", "shown", "amount"),
    [
        (Money(1250, "EUR"), "12.50 EUR", Decimal("12.50")),
        (Money(5, "EUR"), "0.05 EUR", Decimal("0.05")),
        (Money(500, "JPY"), "500 JPY", Decimal("500")),
        (Money(1234, "KWD"), "1.234 KWD", Decimal("1.234")),
    ],
)
def test_money_shows_the_currencys_number_of_decimals(money: Money, shown: str, amount: Decimal) -> None:
    assert str(money) == shown
    assert money.amount == amount


@pytest.mark.parametrize(
    "text",
    [
        "12.5 JPY",  # yen has no minor unit
        "1.2345 KWD",  # dinar has three decimals, not four
        "12.505 EUR",
        "12.50",
        "EUR",
        "",
        "twelve EUR",
        "12,50 EUR",
        "12.50 EURO",
        "12.50 EU",
        "12.50 EUR GBP",
        "EUR GBP",
        "nan EUR",
        "inf EUR",
        "12.50 E1R",
    ],
)
def test_bad_money_is_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_money(text)
    assert err.value.code == "invalid_input"
    assert err.value.message  # a sentence for people


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", "", "EUR\n", " EUR"])
def test_a_currency_must_be_three_capital_letters(currency: str) -> None:
    with pytest.raises(InvalidInput):
        Money(100, currency)


def test_money_of_converts_major_units_exactly() -> None:
    assert Money.of("12.50", "eur") == Money(1250, "EUR")
    assert Money.of(3, "JPY") == Money(3, "JPY")
    assert Money.of(Decimal("0.10"), "USD") == Money(10, "USD")
    with pytest.raises(InvalidInput):
        Money.of("0.001", "EUR")
    with pytest.raises(InvalidInput):
        Money.of("abc", "EUR")


@pytest.mark.parametrize(
    ("minor", "currency", "percent", "expected"),
    [
        (125, "EUR", "10", 12),  # 12.5 -> 12 (round half to even)
        (135, "EUR", "10", 14),  # 13.5 -> 14
        (1250, "GBP", "15", 188),  # 187.5 -> 188
        (1050, "GBP", "15", 158),  # 157.5 -> 158
        (1150, "GBP", "15", 172),  # 172.5 -> 172
        (999, "JPY", "15", 150),  # 149.85 -> 150 yen
        (5, "EUR", "50", 2),  # 2.5 -> 2
        (7, "EUR", "50", 4),  # 3.5 -> 4
        (1000, "EUR", "100", 1000),
        (3, "KWD", "33.3", 1),
    ],
)
def test_percent_rounds_half_to_even(minor: int, currency: str, percent: str, expected: int) -> None:
    assert Money(minor, currency).percent(Decimal(percent)) == Money(expected, currency)


def test_money_is_a_value() -> None:
    assert Money(100, "EUR") == Money.of("1", "EUR")
    assert Money(100, "EUR") != Money(100, "USD")
    assert len({Money(100, "EUR"), Money.of("1.00", "EUR")}) == 1


@given(
    minor=st.integers(min_value=0, max_value=10**12),
    currency=st.sampled_from(["EUR", "GBP", "USD", "JPY", "KRW", "KWD", "BHD"]),
)
def test_what_money_prints_parses_back_to_the_same_money(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert parse_money(str(money)) == money
    assert Money.of(money.amount, currency) == money


@given(
    minor=st.integers(min_value=0, max_value=10**9),
    percent=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
)
def test_a_percentage_is_never_more_than_the_amount_and_never_off_by_more_than_half_a_unit(
    minor: int, percent: Decimal
) -> None:
    part = Money(minor, "EUR").percent(percent)
    exact = Decimal(minor) * percent / 100
    assert 0 <= part.minor <= minor
    assert abs(Decimal(part.minor) - exact) <= Decimal("0.5")


def test_an_amount_beyond_what_storage_and_budgets_hold_is_invalid_input() -> None:
    assert Money(MAX_MINOR, "EUR").minor == -Money(-MAX_MINOR, "EUR").minor == 10**15
    for minor in (MAX_MINOR + 1, -MAX_MINOR - 1, 10**30):
        with pytest.raises(InvalidInput, match="largest amount"):
            Money(minor, "EUR")
    with pytest.raises(InvalidInput, match="largest amount"):
        parse_money("100000000000000 EUR")  # 10^16 cents

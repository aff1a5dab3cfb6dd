"""Money as integer minor units plus an ISO 4217 currency code.

Amounts never travel as floats: ``Money(1250, "EUR")`` is 12.50 EUR, ``Money(500, "JPY")`` is
500 JPY. :func:`parse_money` reads what people type (``"12.50 EUR"``).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import attrs

from .errors import InvalidInput

__all__ = ["MAX_MINOR", "Money", "currency_exponent", "parse_money"]

# ISO 4217 currencies whose minor unit is not 1/100.
_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip

_CURRENCY = re.compile(r"[A-Z]{3}")  # always fullmatch: "$" would accept "EUR\n"


def currency_exponent(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (2 for most)."""
    return _EXPONENTS.get(currency, 2)


#: The largest amount, in minor units either way (10^13 euros): what storage, counters and
#: budgets hold with room to add up, and far beyond any basket.
MAX_MINOR = 10**15


def _check_currency(_: object, __: object, value: str) -> None:
    if not _CURRENCY.fullmatch(value):
        raise InvalidInput(f"{value!r} is not an ISO 4217 currency code like 'EUR'.")


def _check_minor(_: object, __: object, value: int) -> None:
    if not -MAX_MINOR <= value <= MAX_MINOR:
        digits = len(str(abs(value)))
        shown = str(value) if digits <= 30 else f"a {digits:,}-digit number of"
        raise InvalidInput(f"{shown} minor units is beyond the largest amount of money this SDK keeps (10^15).")


@attrs.frozen(order=False)
class Money:
    """An amount in minor units (cents, pence, yen) of ``currency``, at most 10^15 either way."""

    minor: int = attrs.field(validator=_check_minor)
    currency: str = attrs.field(validator=_check_currency)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Money from a major-unit amount: ``Money.of("12.50", "EUR")``."""
        currency = currency.upper()
        exp = currency_exponent(currency)
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            raise InvalidInput(f"{amount!r} is not an amount of money.") from None
        if not value.is_finite():
            raise InvalidInput(f"{amount!r} is not an amount of money.")
        scaled = value.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise InvalidInput(f"{amount} {currency} has more than {exp} decimal places.")
        return cls(int(scaled), currency)

    @property
    def amount(self) -> Decimal:
        """The amount in major units, e.g. ``Decimal('12.50')``."""
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    def percent(self, percent: Decimal) -> Money:
        """``percent`` % of this amount, rounded half-even to the minor unit."""
        value = (Decimal(self.minor) * percent / 100).quantize(Decimal(1), ROUND_HALF_EVEN)
        return Money(int(value), self.currency)

    def __str__(self) -> str:
        exp = currency_exponent(self.currency)
        return f"{self.amount:.{exp}f} {self.currency}"


def parse_money(text: str) -> Money:
    """Parse ``"12.50 EUR"`` or ``"EUR 12.50"`` into :class:`Money`."""
    parts = text.strip().split()
    if len(parts) == 2:
        a, b = parts
        if _CURRENCY.fullmatch(b.upper()) and not _CURRENCY.fullmatch(a.upper()):
            return Money.of(a, b)
        if _CURRENCY.fullmatch(a.upper()):
            return Money.of(b, a)
    raise InvalidInput(f"{text!r} is not an amount of money; write it like '12.50 EUR'.")

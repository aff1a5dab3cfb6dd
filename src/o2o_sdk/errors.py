"""The error hierarchy of o2o-sdk.

Every error a user can hit carries a stable machine-readable ``code`` and a sentence a
person understands::

    O2OError
    ├── ConfigurationError        missing or malformed configuration
    ├── InvalidInput              a value given by the caller is malformed (bad date, latitude 91 …)
    │   └── NotFound              an id that does not exist (unknown store, offer, voucher …)
    ├── TokenError                a voucher or pass token that cannot be trusted (see ``reason``)
    ├── RedemptionRefused         validate/redeem/reserve refused; ``refusals`` lists every reason
    ├── PickupRefused             a pickup step not allowed now (``code``: illegal_transition, wrong_store …)
    ├── IdempotencyConflict       an idempotency key reused with different parameters
    ├── StorageError              the database failed or its schema is not at the expected version
    └── PluginError               a plugin failed to load or broke the hook contract

Refusal reasons are the members of :class:`Reason`; they are part of the public API and
never change meaning once released.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "ConfigurationError",
    "IdempotencyConflict",
    "InvalidInput",
    "NotFound",
    "O2OError",
    "PickupRefused",
    "PluginError",
    "Reason",
    "RedemptionRefused",
    "Refusal",
    "StorageError",
    "TokenError",
]


class Reason(enum.StrEnum):
    """Why a voucher was refused. The value is the stable code shown to POS systems."""

    MALFORMED_TOKEN = "malformed_token"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED = "expired"
    UNKNOWN_VOUCHER = "unknown_voucher"
    VOUCHER_REVOKED = "voucher_revoked"
    NOT_YET_VALID = "not_yet_valid"
    OFFER_ENDED = "offer_ended"
    OFFER_INACTIVE = "offer_inactive"
    WRONG_STORE = "wrong_store"
    CUSTOMER_MISMATCH = "customer_mismatch"
    ALREADY_REDEEMED = "already_redeemed"
    RESERVED = "reserved"
    RESERVATION_INVALID = "reservation_invalid"
    CAP_REACHED = "cap_reached"
    CUSTOMER_CAP_REACHED = "customer_cap_reached"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BELOW_MINIMUM_BASKET = "below_minimum_basket"
    BASKET_REQUIRED = "basket_required"
    CURRENCY_MISMATCH = "currency_mismatch"
    ITEM_NOT_IN_BASKET = "item_not_in_basket"
    CHECKIN_REQUIRED = "checkin_required"
    REFUSED_BY_RULE = "refused_by_rule"


@attrs.frozen
class Refusal:
    """One reason a voucher cannot be used, with a sentence for people."""

    code: Reason
    message: str
    #: Name of the plugin that refused, for ``refused_by_rule``.
    source: str | None = None


class O2OError(Exception):
    """Root of every error raised by o2o-sdk.

    :ivar code: a stable, machine-readable reason code.
    :ivar message: one sentence for people.
    """

    code: str = "o2o_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigurationError(O2OError):
    """The SDK is missing configuration or a setting is malformed."""

    code = "configuration_error"


class InvalidInput(O2OError):
    """A value passed by the caller is malformed."""

    code = "invalid_input"


class NotFound(InvalidInput):
    """An id that does not exist (store, offer, voucher, redemption …)."""

    code = "not_found"


class TokenError(O2OError):
    """A token cannot be trusted. ``reason`` says why (a :class:`Reason`)."""

    code = "token_error"

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message, code=reason.value)
        self.reason = reason


class RedemptionRefused(O2OError):
    """A voucher was refused. ``refusals`` holds every reason, most important first."""

    code = "redemption_refused"

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        if not refusals:
            raise ValueError("RedemptionRefused needs at least one refusal")
        self.refusals: tuple[Refusal, ...] = tuple(refusals)
        first = self.refusals[0]
        super().__init__(first.message, code=first.code.value)

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """The reason codes, in order."""
        return tuple(r.code for r in self.refusals)


class IdempotencyConflict(O2OError):
    """An idempotency key was reused with different request parameters."""

    code = "idempotency_conflict"


class PickupRefused(O2OError):
    """A pickup cannot make this step. ``code`` says why: ``illegal_transition`` (with
    ``current`` the pickup's state), ``wrong_store``, ``slot_full``, ``slot_unavailable``,
    ``not_a_reservation`` or ``stale``."""

    code = "pickup_refused"

    def __init__(self, message: str, *, code: str | None = None, current: str | None = None) -> None:
        super().__init__(message, code=code)
        #: The pickup's state when the step was refused, if it was read.
        self.current = current


class StorageError(O2OError):
    """The storage backend failed, or its schema is not at the expected version."""

    code = "storage_error"


class PluginError(O2OError):
    """A plugin failed to load (strict mode) or broke the hook contract."""

    code = "plugin_error"


def refusal_codes(refusals: Iterable[Refusal]) -> list[str]:
    """The codes of ``refusals`` as plain strings (handy for JSON output)."""
    return [r.code.value for r in refusals]

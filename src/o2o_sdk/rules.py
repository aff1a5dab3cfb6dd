"""What redemption-rule plugins receive and return (hook ``o2o_check_redemption``)."""

from __future__ import annotations

from datetime import datetime

import attrs

from .models import AppliedDiscount, Basket, Offer, Store, Voucher

__all__ = ["Adjust", "Refuse", "RedemptionContext", "RuleOutcome"]


@attrs.frozen
class RedemptionContext:
    """Everything known about a voucher at the till, before anything is written.

    ``operation`` is ``"validate"``, ``"reserve"`` or ``"redeem"``; a rule should answer the
    same way for all three, so that a dry run predicts the commit.
    """

    operation: str
    offer: Offer
    voucher: Voucher
    store: Store
    customer_id: str | None
    basket: Basket | None
    #: The discount the offer gives for this basket before any plugin adjusts it.
    discount: AppliedDiscount
    now: datetime


@attrs.frozen
class Refuse:
    """A rule refuses the voucher; reported as ``refused_by_rule`` with ``message`` and the
    plugin's name as the refusal's ``source``."""

    message: str


@attrs.frozen
class Adjust:
    """A rule changes the discount (e.g. caps it for a category). When several rules adjust,
    the smallest resulting amount applies."""

    discount: AppliedDiscount
    note: str = ""


RuleOutcome = Refuse | Adjust

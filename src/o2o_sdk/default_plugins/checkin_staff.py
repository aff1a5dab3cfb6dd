"""Default check-in method ``staff``: the POS scans the customer's voucher or member QR (trust ``high``).

A person at the till saw the customer, so this is the strongest built-in evidence. The
customer comes from a voucher bound to them (even an expired or used one still identifies
them), from a member token (``sdk.checkins.member_token``), or from a customer id typed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..checkin import CheckinRefused, _codes
from ..errors import InvalidInput, TokenError
from ..hookspecs import hookimpl
from ..models import CheckinMethod, CheckinReason, CheckinRequest, CheckinVerdict, TrustLevel

if TYPE_CHECKING:
    from ..sdk import O2O


def _from_voucher(sdk: O2O, token: str) -> tuple[str | None, dict[str, Any]] | None:
    """``(customer, evidence)`` if ``token`` is one of this shop's vouchers, else ``None``."""
    from ..offers import VOUCHER_PURPOSE
    from ..tokens import decode_voucher_payload

    try:
        claims = decode_voucher_payload(sdk.signer.verify(token, VOUCHER_PURPOSE))
    except TokenError:
        return None
    voucher = sdk.storage.get_voucher(claims.voucher_id)
    if voucher is None or voucher.token != token:
        return None
    return voucher.customer_id, {"via": "voucher", "voucher_id": voucher.id}


@hookimpl(trylast=True)
def o2o_verify_checkin(sdk: O2O, request: CheckinRequest) -> CheckinVerdict | None:
    if request.method != CheckinMethod.STAFF:
        return None
    if request.store_id is None:
        raise InvalidInput("A staff check-in needs the store of the till.")
    store = sdk.stores.get(request.store_id)
    who = {"store_id": store.id, "customer_id": request.customer_id}
    evidence: dict[str, Any]
    if request.token:
        segment, token = _codes.split_link(request.token)
        found = None if segment == _codes.MEMBER_PATH else _from_voucher(sdk, token)
        if found is None:
            try:
                found = sdk.checkins.customer_from_member(token), {"via": "member"}
            except CheckinRefused as exc:
                if exc.reason == CheckinReason.SESSION_EXPIRED:
                    return CheckinVerdict.refuse(exc.reason, "This member card has expired.", **who)
                return CheckinVerdict.refuse(CheckinReason.INVALID_CODE,
                                             "This is neither a voucher nor a member QR of this shop.", **who)  # fmt: skip
        customer_id, evidence = found
        if customer_id is None:
            return CheckinVerdict.refuse(CheckinReason.CUSTOMER_REQUIRED,
                                         "This voucher is not tied to a customer; scan their member QR instead.", **who)  # fmt: skip
        if request.customer_id is not None and request.customer_id != customer_id:
            raise InvalidInput("The scanned QR belongs to another customer than the one given.")
    elif request.customer_id is not None:
        customer_id, evidence = request.customer_id, {"via": "customer_id"}
    else:
        raise InvalidInput("A staff check-in needs the customer's voucher or member QR, or their customer id.")
    if request.staff_id:
        evidence["staff_id"] = request.staff_id
    return CheckinVerdict.accept(store.id, customer_id, TrustLevel.HIGH, evidence=evidence)

"""Default check-in method ``poster``: a printed, static check-in QR (trust ``low``).

A poster proves little — a photo of it works anywhere, forever — so its check-ins are
recorded with trust ``low`` and do not unlock "check in to unlock" offers by default.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..checkin import _codes
from ..errors import InvalidInput, TokenError
from ..hookspecs import hookimpl
from ..models import CheckinMethod, CheckinReason, CheckinRequest, CheckinVerdict, TrustLevel

if TYPE_CHECKING:
    from ..sdk import O2O


@hookimpl(trylast=True)
def o2o_verify_checkin(sdk: O2O, request: CheckinRequest) -> CheckinVerdict | None:
    if request.method != CheckinMethod.POSTER:
        return None
    if not request.code:
        raise InvalidInput("A poster check-in needs the poster's code (or link).")
    _, token = _codes.split_link(request.code)
    try:
        ref, printed = _codes.decode_store_stamp(sdk.signer.verify(token, _codes.POSTER_PURPOSE))
    except TokenError:
        return CheckinVerdict.refuse(CheckinReason.INVALID_CODE, "This is not a valid check-in poster of this shop.",
                                     store_id=request.store_id, customer_id=request.customer_id)  # fmt: skip
    store = sdk.checkins._store_by_ref(ref)
    if store is None:
        return CheckinVerdict.refuse(CheckinReason.UNKNOWN_STORE, "This poster belongs to a store that no longer exists.",
                                     store_id=request.store_id, customer_id=request.customer_id)  # fmt: skip
    if request.store_id is not None and request.store_id != store.id:
        return CheckinVerdict.refuse(
            CheckinReason.WRONG_STORE, f"This poster belongs to {store.name}, not to the store you are checking in at.",
            store_id=request.store_id, customer_id=request.customer_id,
        )  # fmt: skip
    return CheckinVerdict.accept(store.id, request.customer_id, TrustLevel.LOW,
                                 evidence={"poster_printed_at": datetime.fromtimestamp(printed, UTC).isoformat()})  # fmt: skip

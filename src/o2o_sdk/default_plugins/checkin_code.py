"""Default check-in method ``code``: the store's rotating QR code (trust ``verified``).

The code is signed, bound to the store and to a time step (``config.checkin_code_step``,
30 s by default); steps within ``config.checkin_code_grace_steps`` of the server's clock are
accepted for clock skew. The step is the verdict's nonce, so a customer cannot use the same
code twice (RFC 6238, section 5.2) and a photo of it expires with its step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..checkin import _codes
from ..hookspecs import hookimpl
from ..models import CheckinMethod, CheckinReason, CheckinRequest, CheckinVerdict, TrustLevel

if TYPE_CHECKING:
    from ..sdk import O2O


@hookimpl(trylast=True)
def o2o_verify_checkin(sdk: O2O, request: CheckinRequest) -> CheckinVerdict | None:
    if request.method != CheckinMethod.CODE:
        return None
    found = _codes.verify_stamped_code(sdk, request, _codes.CODE_PURPOSE, "code")
    if isinstance(found, CheckinVerdict):
        return found
    store, step = found
    current = _codes.step_at(sdk.clock.now(), sdk.config.checkin_code_step)
    grace = sdk.config.checkin_code_grace_steps
    if step < current - grace:
        return CheckinVerdict.refuse(CheckinReason.CODE_EXPIRED, "This code has expired; scan the code the store shows now.",
                                     store_id=store.id, customer_id=request.customer_id)  # fmt: skip
    if step > current + grace:
        return CheckinVerdict.refuse(
            CheckinReason.CODE_NOT_YET_VALID, "This code is not valid yet; the store's display clock may be wrong.",
            store_id=store.id, customer_id=request.customer_id,
        )  # fmt: skip
    return CheckinVerdict.accept(store.id, request.customer_id, TrustLevel.VERIFIED, nonce=f"code:{step}",
                                 evidence={"step": step, "skew_steps": step - current})  # fmt: skip

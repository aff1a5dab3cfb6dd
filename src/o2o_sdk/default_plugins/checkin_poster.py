"""Default check-in method ``poster``: a printed, static check-in QR (trust ``low``).

A poster proves little — a photo of it works anywhere, forever — so its check-ins are
recorded with trust ``low`` and do not unlock "check in to unlock" offers by default.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..checkin import _codes
from ..hookspecs import hookimpl
from ..models import CheckinMethod, CheckinRequest, CheckinVerdict, TrustLevel

if TYPE_CHECKING:
    from ..sdk import O2O


@hookimpl(trylast=True)
def o2o_verify_checkin(sdk: O2O, request: CheckinRequest) -> CheckinVerdict | None:
    if request.method != CheckinMethod.POSTER:
        return None
    found = _codes.verify_stamped_code(sdk, request, _codes.POSTER_PURPOSE, "poster")
    if isinstance(found, CheckinVerdict):
        return found
    store, printed = found
    return CheckinVerdict.accept(store.id, request.customer_id, TrustLevel.LOW,
                                 evidence={"poster_printed_at": datetime.fromtimestamp(printed, UTC).isoformat()})  # fmt: skip

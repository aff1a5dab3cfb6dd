"""Compact signed payloads for check-in: rotating codes, poster codes, customer tokens.

Every token goes through the SDK's signer (``sdk.signer``, hook ``o2o_provide_signer``) with
its own purpose, so a token minted for one use never verifies as another. Payload sizes are
multiples of three bytes, so with the default signer a rotating code is 38 characters and
``https://shop.example/c/<code>`` fits a version-4 QR code at level M::

    rotating code   8-byte store reference + 4-byte time step        purpose "checkin-code"
    poster code     8-byte store reference + 4-byte printing time   purpose "checkin-poster"
    session/member  4-byte expiry + 1-byte length + customer id, zero-padded
                                                  purpose "session" / "member"

The store reference is the first 8 bytes of SHA-256 over the store id: stores keep ids of
any length while codes stay short, and the signature binds the code to it.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from ..errors import InvalidInput, Reason, TokenError

if TYPE_CHECKING:
    from ..models import CheckinRequest, CheckinVerdict, Store
    from ..sdk import O2O

CODE_PURPOSE = "checkin-code"
POSTER_PURPOSE = "checkin-poster"
SESSION_PURPOSE = "session"
MEMBER_PURPOSE = "member"

#: Link path segments: ``<base_url>/<segment>/<token>``.
CODE_PATH = "c"
POSTER_PATH = "p"
MEMBER_PATH = "m"
VOUCHER_PATH = "o"

MAX_CUSTOMER_ID_BYTES = 200
_STORE_STAMP = struct.Struct(">8sI")
_CUSTOMER_HEAD = struct.Struct(">IB")
#: Windows are counted from this Monday, so week-long windows start on Mondays.
_WINDOW_ORIGIN = datetime(1970, 1, 5)


def store_ref(store_id: str) -> bytes:
    """The 8-byte reference to a store carried inside codes."""
    return hashlib.sha256(b"o2o-store:" + store_id.encode()).digest()[:8]


def encode_store_stamp(store_id: str, number: int) -> bytes:
    """A store reference and a 32-bit number (a time step, or the poster's printing time)."""
    return _STORE_STAMP.pack(store_ref(store_id), number)


def decode_store_stamp(payload: bytes) -> tuple[bytes, int]:
    if len(payload) != _STORE_STAMP.size:
        raise TokenError(Reason.MALFORMED_TOKEN, "This is not a check-in code.")
    ref, number = _STORE_STAMP.unpack(payload)
    return ref, int(number)


def check_customer_id(customer_id: str) -> str:
    """A customer id as given, or :class:`InvalidInput` if empty or too long for a token."""
    if not isinstance(customer_id, str) or not customer_id.strip():
        raise InvalidInput("A customer id is needed.")
    if len(customer_id.encode()) > MAX_CUSTOMER_ID_BYTES:
        raise InvalidInput(f"A customer id may have at most {MAX_CUSTOMER_ID_BYTES} bytes.")
    return customer_id


def encode_customer(customer_id: str, expires_at: datetime) -> bytes:
    raw = check_customer_id(customer_id).encode()
    body = _CUSTOMER_HEAD.pack(int(expires_at.timestamp()), len(raw)) + raw
    return body + b"\0" * (-len(body) % 3)


def decode_customer(payload: bytes) -> tuple[str, datetime]:
    bad = TokenError(Reason.MALFORMED_TOKEN, "This is not a customer token.")
    if len(payload) < _CUSTOMER_HEAD.size:
        raise bad
    expires, n = _CUSTOMER_HEAD.unpack_from(payload)
    end = _CUSTOMER_HEAD.size + n
    if len(payload) != end + (-end % 3) or payload[end:].strip(b"\0"):
        raise bad
    raw = payload[_CUSTOMER_HEAD.size : end]
    try:
        return raw.decode(), datetime.fromtimestamp(expires, UTC)
    except UnicodeDecodeError:
        raise bad from None


def split_link(text: str) -> tuple[str | None, str]:
    """``(path segment, token)`` of ``<origin>/<segment>/<token>``; ``(None, text)`` for a bare token."""
    text = text.strip()
    if "/" not in text:
        return None, text
    parts = urlsplit(text).path.rstrip("/").split("/")
    if len(parts) < 2 or not parts[-1]:
        raise InvalidInput(f"{text!r} is not a check-in link.")
    return parts[-2], parts[-1]


def step_at(at: datetime, step: timedelta) -> int:
    """The number of the time step containing ``at`` (steps counted from the Unix epoch)."""
    return int(at.timestamp()) // int(step.total_seconds())


def step_start(number: int, step: timedelta) -> datetime:
    return datetime.fromtimestamp(number * int(step.total_seconds()), UTC)


def window_start(at: datetime, timezone: str, window: timedelta) -> datetime:
    """Start (UTC) of the check-in window containing ``at``, in wall-clock time of ``timezone``.

    Windows are whole multiples of ``window`` counted from Monday 1970-01-05 00:00 local time,
    so a one-day window starts at the store's local midnight whatever its UTC offset or DST.
    """
    tz = ZoneInfo(timezone)
    local = at.astimezone(tz).replace(tzinfo=None)
    minutes = int(window.total_seconds()) // 60
    elapsed = (local - _WINDOW_ORIGIN) // timedelta(minutes=1)
    start = _WINDOW_ORIGIN + timedelta(minutes=(elapsed // minutes) * minutes)
    return start.replace(tzinfo=tz).astimezone(UTC)


def verify_stamped_code(sdk: O2O, request: CheckinRequest, purpose: str, noun: str) -> tuple[Store, int] | CheckinVerdict:
    """Verify a store-stamped code (rotating code or poster) and find its store.

    Returns the store and the stamp (time step or print time), or the refusal verdict: an
    invalid code, a store that no longer exists, or a code of another store than the one asked.
    """
    from ..models import CheckinReason, CheckinVerdict

    if not request.code:
        raise InvalidInput(f"A {noun} check-in needs the {noun}'s code (or link).")
    _, token = split_link(request.code)
    who = {"store_id": request.store_id, "customer_id": request.customer_id}
    try:
        ref, stamp = decode_store_stamp(sdk.signer.verify(token, purpose))
    except TokenError:
        return CheckinVerdict.refuse(CheckinReason.INVALID_CODE, f"This is not a valid check-in {noun} of this shop.", **who)
    store = sdk.checkins._store_by_ref(ref)
    if store is None:
        return CheckinVerdict.refuse(CheckinReason.UNKNOWN_STORE, f"This {noun} belongs to a store that no longer exists.", **who)
    if request.store_id is not None and request.store_id != store.id:
        return CheckinVerdict.refuse(
            CheckinReason.WRONG_STORE, f"This {noun} belongs to {store.name}, not to the store you are checking in at.", **who
        )
    return store, stamp

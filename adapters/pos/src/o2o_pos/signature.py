"""The webhook signature: ``O2O-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]``.

``v1`` is the lower-case hex HMAC-SHA256, keyed with a shared secret, of the bytes
``<t> + "." + <raw body>``. Signing the timestamp with the body lets the receiver refuse an
old delivery replayed by someone who captured it; several ``v1`` values let the POS sign with
the new and the old secret while a secret is rotated. Schemes other than ``v1`` are ignored,
so a later scheme can be added alongside.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

from o2o_sdk import WebhookRejected
from o2o_sdk.http import Secret

__all__ = ["DEFAULT_REPLAY_WINDOW", "SIGNATURE_HEADER", "sign", "signature", "verify_signature"]

#: The header carrying the signature.
SIGNATURE_HEADER = "O2O-Signature"
#: Seconds a signed delivery stays acceptable, either side of the receiver's clock.
DEFAULT_REPLAY_WINDOW = 300
_SCHEME = "v1"
_HEX_LENGTH = 64


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """The ``v1`` value: hex HMAC-SHA256 of ``b"<timestamp>." + body`` keyed with ``secret``."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str | Sequence[str], timestamp: int | None = None) -> str:
    """The ``O2O-Signature`` header value for ``body``, for POS developers and tests.

    ``secret`` is one secret or several (one ``v1`` each, for a rotation); ``timestamp`` is
    unix seconds (default: now). Send the exact ``body`` bytes that were signed.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or not all(secrets):
        raise ValueError("sign() needs at least one non-empty secret")
    t = int(time.time()) if timestamp is None else int(timestamp)
    return ",".join([f"t={t}", *(f"{_SCHEME}={signature(body, s, t)}" for s in secrets)])


def _rejected(message: str) -> WebhookRejected:
    return WebhookRejected(f"POS webhook: {message}", code="bad_signature")


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    given: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise _rejected(f"the {SIGNATURE_HEADER} header is not a list of key=value pairs.")
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise _rejected(f"the {SIGNATURE_HEADER} header needs exactly one t=<unix seconds>.")
            timestamp = int(value)
        elif key == _SCHEME:
            given.append(value.lower())
    if timestamp is None:
        raise _rejected(f"the {SIGNATURE_HEADER} header has no t=<unix seconds>.")
    if not given:
        raise _rejected(f"the {SIGNATURE_HEADER} header has no v1 signature.")
    return timestamp, given


def verify_signature(body: bytes, header: str | None, secrets: Sequence[Secret | str], *, now: float,
                     replay_window: int = DEFAULT_REPLAY_WINDOW) -> int:  # fmt: skip
    """Check an ``O2O-Signature`` header against the raw ``body``; return its timestamp.

    Every ``v1`` value is compared with the expected signature under every secret, in
    constant time and without stopping at the first match (the time taken does not tell
    which secret or value matched). Then the timestamp must be within ``replay_window``
    seconds of ``now`` (past or future). Raises :class:`~o2o_sdk.WebhookRejected` with code
    ``bad_signature`` and a sentence saying what is wrong.
    """
    if not header:
        raise _rejected(f"no {SIGNATURE_HEADER} header.")
    timestamp, given = _parse(header)
    ok = False
    for secret in secrets:
        value = secret.value if isinstance(secret, Secret) else secret
        expected = signature(body, value, timestamp).encode("ascii")
        for candidate in given:
            # compare_digest needs ASCII: anything else cannot match a hex digest anyway.
            raw = candidate.encode("ascii", "replace") if len(candidate) == _HEX_LENGTH else b"-" * _HEX_LENGTH
            ok |= hmac.compare_digest(expected, raw)
    if not ok:
        raise _rejected("the signature does not match the body (check the secret, and sign the exact bytes sent).")
    age = now - timestamp
    if age > replay_window:
        raise _rejected(f"the signature is {int(age)} s old, outside the {replay_window} s replay window.")
    if -age > replay_window:
        raise _rejected(f"the signature's timestamp is {int(-age)} s in the future, beyond the {replay_window} s tolerance"
                        " (check the POS clock).")  # fmt: skip
    return timestamp

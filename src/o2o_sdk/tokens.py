"""Compact signed tokens for vouchers (and, later, passes and check-in codes).

A voucher token is 38 URL-safe characters, so that ``https://<30-char origin>/o/<token>``
fits a QR code of version 5 at error-correction level M (84 bytes)::

    k  AAAAAAAAAAAAAAAA  .  SSSSSSSSSSSSSSSSSSSS
    │  └ 12 bytes: 8-byte voucher id + 4-byte expiry (unix seconds), base64url
    └ key id (one character)       └ 15-byte HMAC-SHA256 tag, base64url

Signing is itsdangerous's :class:`~itsdangerous.Signer` with a truncated HMAC-SHA256 tag (120
bits) and a salt per purpose. Every configured key verifies; the first one signs, so keys
rotate without invalidating outstanding vouchers until an old key is removed ("retired").

Lengths are multiples of three bytes, so no base64 padding bits exist and every valid token
has exactly one spelling (a token altered in any character is refused).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple, Protocol, runtime_checkable

import attrs
from itsdangerous import Signer
from itsdangerous.encoding import base64_encode
from itsdangerous.signer import HMACAlgorithm

from .errors import ConfigurationError, Reason, TokenError

__all__ = [
    "KeyringSigner",
    "SigningKey",
    "TokenSigner",
    "VoucherClaims",
    "decode_voucher_payload",
    "encode_voucher_payload",
    "parse_secret_keys",
]

TAG_BYTES = 15
_KID = re.compile(r"[0-9A-Za-z]")  # used with fullmatch, like _SHAPE
_SHAPE = re.compile(r"[0-9A-Za-z](?:[A-Za-z0-9_-]{4})+\.[A-Za-z0-9_-]{20}")  # fullmatch: "$" would accept a trailing newline
_VOUCHER_PAYLOAD = struct.Struct(">8sI")
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


@attrs.frozen(repr=False)
class SigningKey:
    """A secret with a one-character key id (``0-9``, ``a-z``, ``A-Z``)."""

    kid: str
    secret: bytes

    def __attrs_post_init__(self) -> None:
        if not _KID.fullmatch(self.kid):
            raise ConfigurationError(
                f"Key id {self.kid!r} must be one character from 0-9, a-z or A-Z."
            )
        if len(self.secret) < 16:
            raise ConfigurationError(f"The secret of key {self.kid!r} is shorter than 16 bytes.")

    def __repr__(self) -> str:  # never print secrets
        return f"SigningKey(kid={self.kid!r}, secret=<{len(self.secret)} bytes>)"


def parse_secret_keys(text: str) -> list[SigningKey]:
    """Parse ``O2O_SECRET_KEYS``: ``"b:new-secret,a:old-secret"`` — newest (signing) first."""
    keys: list[SigningKey] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        kid, sep, secret = item.partition(":")
        if not sep or not secret:
            raise ConfigurationError(
                "O2O_SECRET_KEYS must look like 'b:new-secret,a:old-secret' (key id, colon, secret)."
            )
        keys.append(SigningKey(kid.strip(), secret.strip().encode()))
    if not keys:
        raise ConfigurationError("O2O_SECRET_KEYS is set but holds no key.")
    if len({k.kid for k in keys}) != len(keys):
        raise ConfigurationError("O2O_SECRET_KEYS names the same key id twice.")
    return keys


@runtime_checkable
class TokenSigner(Protocol):
    """Signs and verifies payloads for a purpose ("voucher", "pickup", ...).

    Provided through the ``o2o_provide_signer`` hook; a plugin can supply per-store derived
    keys or asymmetric signatures. ``verify`` must raise :class:`~o2o_sdk.errors.TokenError`
    (``malformed_token``, ``bad_signature`` or ``unknown_key``) and nothing else.
    """

    def sign(self, payload: bytes, purpose: str) -> str: ...

    def verify(self, token: str, purpose: str) -> bytes: ...


class _TruncatedSHA256(HMACAlgorithm):
    def __init__(self) -> None:
        super().__init__(hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.new(key, value, hashlib.sha256).digest()[:TAG_BYTES]


_ALGORITHM = _TruncatedSHA256()


def make_itsdangerous_signer(secret: bytes, purpose: str) -> Signer:
    """The :class:`itsdangerous.Signer` the default signer uses for ``purpose``.

    The per-purpose key is derived once (HMAC of the secret with the purpose) instead of on
    every call, so verification costs one HMAC.
    """
    derived = hmac.new(secret, f"o2o-sdk/{purpose}".encode(), hashlib.sha256).digest()
    return Signer(derived, key_derivation="none", algorithm=_ALGORITHM, sep=".")


class KeyringSigner:
    """The default :class:`TokenSigner`: several keys, the first signs, all verify."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ConfigurationError("At least one signing key is needed.")
        self._keys = list(keys)
        self._signers: dict[tuple[str, str], Signer] = {}
        self._verify_keys: dict[tuple[str, str], bytes] = {}

    @property
    def key_ids(self) -> list[str]:
        """Configured key ids, signing key first."""
        return [k.kid for k in self._keys]

    def _signer(self, kid: str, purpose: str) -> Signer | None:
        signer = self._signers.get((kid, purpose))
        if signer is None:
            for key in self._keys:
                if key.kid == kid:
                    signer = make_itsdangerous_signer(key.secret, purpose)
                    self._signers[(kid, purpose)] = signer
                    break
        return signer

    def sign(self, payload: bytes, purpose: str) -> str:
        kid = self._keys[0].kid
        signer = self._signer(kid, purpose)
        assert signer is not None
        value = kid + base64_encode(payload).decode("ascii")
        return signer.sign(value).decode("ascii")

    def _verify_key(self, kid: str, purpose: str) -> bytes | None:
        key = self._verify_keys.get((kid, purpose))
        if key is None:
            signer = self._signer(kid, purpose)
            if signer is None:
                return None
            key = self._verify_keys[(kid, purpose)] = signer.secret_keys[-1]
        return key

    def verify(self, token: str, purpose: str) -> bytes:
        """Check a token and return its payload.

        Tokens are signed by itsdangerous's :class:`~itsdangerous.Signer`; verification
        recomputes the same tag (HMAC-SHA256 with the same derived key, truncated) and compares
        it in constant time, without ``unsign``'s generic parsing — the fixed shape is already
        checked (``tests/test_tokens.py`` proves it accepts exactly what ``unsign`` accepts).
        """
        if not isinstance(token, str) or not _SHAPE.fullmatch(token):
            raise TokenError(Reason.MALFORMED_TOKEN, "This is not a valid code.")
        key = self._verify_key(token[0], purpose)
        if key is None:
            raise TokenError(
                Reason.UNKNOWN_KEY,
                "This code was signed with a key that is unknown or retired.",
            )
        value = token[:-21].encode("ascii")  # _SHAPE: "." then a 20-character tag end the token
        tag = binascii.a2b_base64(token[-20:].translate(_URLSAFE_TO_STANDARD))
        if not hmac.compare_digest(hmac.digest(key, value, "sha256")[:TAG_BYTES], tag):
            raise TokenError(
                Reason.BAD_SIGNATURE, "This code's signature is not valid (altered or forged)."
            )
        # _SHAPE admits only whole 4-character groups of the URL-safe alphabet: they decode
        # without padding, and the encoding is one-to-one (no spare bits), so the payload
        # has exactly one spelling.
        try:
            return binascii.a2b_base64(token[1:-21].translate(_URLSAFE_TO_STANDARD), strict_mode=True)
        except binascii.Error:  # pragma: no cover - excluded by _SHAPE
            raise TokenError(Reason.MALFORMED_TOKEN, "This is not a valid code.") from None


class VoucherClaims(NamedTuple):
    """What a voucher token says: which voucher, valid until when (unix seconds)."""

    voucher_id: str
    expires: int

    @property
    def expires_at(self) -> datetime:
        """The expiry as an aware UTC datetime."""
        return datetime.fromtimestamp(self.expires, UTC)


def encode_voucher_payload(voucher_id: str, expires_at: datetime) -> bytes:
    """Pack a voucher id (16 hex digits) and expiry into the 12-byte token payload."""
    return _VOUCHER_PAYLOAD.pack(bytes.fromhex(voucher_id), int(expires_at.timestamp()))


def decode_voucher_payload(payload: bytes) -> VoucherClaims:
    """Unpack a payload made by :func:`encode_voucher_payload`."""
    if len(payload) != _VOUCHER_PAYLOAD.size:
        raise TokenError(Reason.MALFORMED_TOKEN, "This is not a voucher code.")
    raw_id, expires = _VOUCHER_PAYLOAD.unpack(payload)
    return VoucherClaims(raw_id.hex(), expires)

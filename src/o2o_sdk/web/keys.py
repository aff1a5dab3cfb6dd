"""Store-scoped API keys for the POS / staff web API.

A key looks like ``o2o_3f9c1a2b7d4e_<43 random characters>``: the middle part is its id (safe
to log and to show in ``o2o keys list``), the rest is 256 bits of randomness. Only the key's
SHA-256 digest is stored — keys are high-entropy random strings, so a fast hash is right (a
slow password hash would only slow every request) — and digests are compared in constant
time. A key is shown once, when it is created.

Each key acts for one store, or for every store when created for ``"*"`` (an admin key, given
explicitly). This module needs no web framework: ``o2o keys`` uses it too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from typing import TYPE_CHECKING

from ..errors import InvalidInput, NotFound
from ..models import ApiKey

if TYPE_CHECKING:
    from ..sdk import O2O

__all__ = ["ALL_STORES", "ApiKeys", "digest", "key_id_of"]

#: The store id of an admin key, valid for every store.
ALL_STORES = "*"
_KEY = re.compile(r"o2o_([0-9a-f]{12})_[A-Za-z0-9_-]{43}")
_MAX_NAME = 100


def digest(key: str) -> str:
    """The stored form of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_id_of(key: str) -> str | None:
    """The id part of a well-formed key, else ``None``."""
    m = _KEY.fullmatch(key)
    return m.group(1) if m else None


class ApiKeys:
    """Create, list, revoke and check API keys (``ApiKeys(sdk)``).

    :meth:`authenticate` caches keys it has looked up for ``cache_s`` seconds, so a busy POS
    does not cost a database read per request; a key revoked through this object is refused
    at once, one revoked by another process within ``cache_s``.
    """

    def __init__(self, sdk: O2O, *, cache_s: float = 5.0) -> None:
        self._sdk = sdk
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def create(self, store_id: str, name: str = "") -> tuple[ApiKey, str]:
        """A new key for ``store_id`` (or :data:`ALL_STORES`): the stored record and the key.

        The key itself is returned only here; store it in the POS right away.
        """
        if store_id != ALL_STORES:
            self._sdk.stores.get(store_id)  # NotFound for an unknown store
        name = name.strip()
        if len(name) > _MAX_NAME:
            raise InvalidInput(f"A key's name has at most {_MAX_NAME} characters.")
        key_id = secrets.token_hex(6)
        secret = f"o2o_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(key_id, store_id, name or f"key for {store_id}", digest(secret), self._sdk.clock.now())
        self._sdk.storage.insert_api_key(record)
        return record, secret

    def list(self, store_id: str | None = None) -> list[ApiKey]:
        """Every key (revoked ones included), oldest first, optionally of one store."""
        return self._sdk.storage.list_api_keys(store_id)

    def get(self, key_id: str) -> ApiKey:
        """The key record with this id; :class:`~o2o_sdk.errors.NotFound` otherwise."""
        record = self._sdk.storage.get_api_key(key_id)
        if record is None:
            raise NotFound(f"Unknown API key {key_id!r}.")
        return record

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key; it is refused from now on. Revoking twice is harmless."""
        self.get(key_id)
        self._sdk.storage.revoke_api_key(key_id, self._sdk.clock.now())
        with self._lock:
            self._cache.pop(key_id, None)
        return self.get(key_id)

    def authenticate(self, key: str) -> ApiKey | None:
        """The active key record for a presented key, or ``None`` (malformed, unknown, revoked)."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        record = self.active(key_id)
        if record is None or not hmac.compare_digest(record.key_hash, digest(key)):
            return None
        return record

    def authenticate_cached(self, key: str) -> tuple[bool, ApiKey | None]:
        """:meth:`authenticate` without touching storage: ``(True, record or None)`` when the
        answer is known from the cache (or the key is malformed), ``(False, None)`` otherwise."""
        key_id = key_id_of(key)
        if key_id is None:
            return True, None
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is None or time.monotonic() - hit[0] >= self._cache_s:
            return False, None
        record = hit[1]
        if record is None or not record.active or not hmac.compare_digest(record.key_hash, digest(key)):
            return True, None
        return True, record

    def active(self, key_id: str) -> ApiKey | None:
        """The active key record with this id (cached), or ``None``."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is not None and now - hit[0] < self._cache_s:
            record = hit[1]
        else:
            record = self._sdk.storage.get_api_key(key_id)
            with self._lock:
                if len(self._cache) > 10_000:  # unknown ids must not grow it without bound
                    self._cache.clear()
                self._cache[key_id] = (now, record)
        return record if record is not None and record.active else None

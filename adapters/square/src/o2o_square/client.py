"""Settings and the Square API client: base URL per environment, ``Square-Version``, bearer token,
idempotency keys, Square's error bodies as typed errors, cursor pagination."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import httpx

from o2o_sdk import ConfigurationError
from o2o_sdk.http import (
    RETRY_STATUSES,
    PlatformClient,
    PlatformError,
    PlatformUnprocessable,
    RetryPolicy,
    Secret,
    paginate_cursor,
)

__all__ = [
    "DEFAULT_SQUARE_VERSION",
    "ENVIRONMENTS",
    "SquareClient",
    "SquareSettings",
    "idempotency_key",
]

log = logging.getLogger("o2o_square")

#: The ``Square-Version`` the adapter is written and tested against.
DEFAULT_SQUARE_VERSION = "2025-08-20"
#: Base URL of each named environment.
ENVIRONMENTS: dict[str, str] = {
    "production": "https://connect.squareup.com",
    "sandbox": "https://connect.squareupsandbox.com",
}
_VERSION = re.compile(r"20\d\d-\d\d-\d\d")
_URL = re.compile(r"https?://[^\s/]+(/\S*)?")
_TRUE = frozenset({"1", "true", "yes", "on"})


def _secrets(value: object) -> tuple[Secret, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if isinstance(value, Secret):
        value = [value]
    return tuple(v if isinstance(v, Secret) else Secret(str(v).strip()) for v in value)  # type: ignore[attr-defined]


def _secret(value: object) -> Secret:
    return value if isinstance(value, Secret) else Secret(str(value).strip())


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    return tuple(str(v).strip() for v in value if str(v).strip())  # type: ignore[attr-defined]


def idempotency_key(purpose: str, *parts: object) -> str:
    """A deterministic idempotency key (at most 64 characters) for one write: the same
    ``purpose`` and ``parts`` give the same key, so a retried write is applied once by Square."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]
    return f"o2o-{purpose}-{digest}"


@attrs.frozen
class SquareSettings:
    """How to reach one Square seller account. From the environment (``O2O_SQUARE_<KEY>``) or in code.

    ``locations`` supplies or overrides per-location data:
    ``{"<location id>": {"latitude": 51.5, "longitude": -0.1, "timezone": "Europe/London",
    "store_id": "lon-soho"}}`` (JSON in ``O2O_SQUARE_LOCATIONS``).
    """

    #: A personal or OAuth access token (sent as ``Authorization: Bearer …``).
    access_token: Secret = attrs.field(converter=_secret)
    #: ``production``, ``sandbox`` or a base URL (a proxy, a test server).
    environment: str = "production"
    #: The ``Square-Version`` header (``YYYY-MM-DD``).
    api_version: str = DEFAULT_SQUARE_VERSION
    #: Signature keys of the webhook subscription(s), newest first (two during a rotation).
    webhook_signature_keys: tuple[Secret, ...] = attrs.field(default=(), converter=_secrets)
    #: The notification URL exactly as configured in the subscription: it is part of what Square
    #: signs. ``None``: the URL the request was received at (wrong behind most proxies).
    notification_url: str | None = None
    #: When set, webhooks from another merchant are refused.
    merchant_id: str | None = None
    locations: dict[str, dict[str, Any]] = attrs.field(factory=dict, hash=False)
    #: Prefix of the store ids created for new locations (``square-<location id>``).
    store_id_prefix: str = "square-"
    #: Time zone for locations without one, and for offers whose window is absolute (aware).
    timezone: str | None = None
    #: Mirror offers as automatic discounts (a pricing rule over all items, with the offer's
    #: window) instead of discounts staff pick by name. An offer's ``metadata["square_automatic"]`` wins.
    automatic_discounts: bool = False
    #: ``Order.source.name`` values of orders placed online (besides orders with a pickup,
    #: shipment or delivery fulfilment, which are always online).
    online_sources: tuple[str, ...] = attrs.field(default=(), converter=_names)
    #: SKUs per catalog search (Square takes at most 250).
    sku_batch: int = 100
    #: How long SKU -> variation lookups are cached, in seconds.
    catalog_cache_seconds: float = 900.0
    #: Retries of a request that failed with 429, 5xx or no answer (every Square request here is
    #: a read or carries an idempotency key, so all of them may be retried).
    max_retries: int = 3

    def __attrs_post_init__(self) -> None:
        if not self.access_token.value:
            raise ConfigurationError("Square needs an access token (O2O_SQUARE_ACCESS_TOKEN).")
        if not _VERSION.fullmatch(self.api_version):
            raise ConfigurationError(f"Square-Version {self.api_version!r} must be a date like {DEFAULT_SQUARE_VERSION}.")
        if self.environment.lower() not in ENVIRONMENTS and not _URL.fullmatch(self.environment.strip()):
            raise ConfigurationError(f"Square environment {self.environment!r} must be production, sandbox or a base URL.")
        if not 1 <= self.sku_batch <= 250:
            raise ConfigurationError("O2O_SQUARE_SKU_BATCH must be between 1 and 250 (Square's limit).")
        if self.max_retries < 0:
            raise ConfigurationError("O2O_SQUARE_MAX_RETRIES cannot be negative.")

    @property
    def base_url(self) -> str:
        """``https://connect.squareup.com`` (production), the sandbox's, or the configured URL."""
        return ENVIRONMENTS.get(self.environment.lower(), self.environment.strip()).rstrip("/")

    @classmethod
    def from_mapping(cls, settings: Mapping[str, str]) -> SquareSettings | None:
        """Settings from ``config.plugin_settings("square")``; ``None`` when no access token is configured."""
        if not settings.get("access_token"):
            return None
        locations: dict[str, dict[str, Any]] = {}
        if raw := settings.get("locations"):
            try:
                locations = json.loads(raw)
            except ValueError as exc:
                raise ConfigurationError(f"O2O_SQUARE_LOCATIONS is not JSON: {exc}.") from None
            if not isinstance(locations, dict) or not all(isinstance(v, dict) for v in locations.values()):
                raise ConfigurationError("O2O_SQUARE_LOCATIONS must map location ids to objects.")
        numbers: dict[str, Any] = {}
        for key, kind in (("sku_batch", int), ("max_retries", int), ("catalog_cache_seconds", float)):
            if key in settings:
                try:
                    numbers[key] = kind(settings[key])
                except ValueError:
                    raise ConfigurationError(f"O2O_SQUARE_{key.upper()} must be a number.") from None
        return cls(
            access_token=settings["access_token"], environment=settings.get("environment") or "production",
            api_version=settings.get("api_version") or DEFAULT_SQUARE_VERSION,
            webhook_signature_keys=settings.get("webhook_signature_keys", ""),
            notification_url=settings.get("notification_url") or None, merchant_id=settings.get("merchant_id") or None,
            locations=locations, store_id_prefix=settings.get("store_id_prefix", "square-"),
            timezone=settings.get("timezone") or None,
            automatic_discounts=settings.get("automatic_discounts", "").strip().lower() in _TRUE,
            online_sources=settings.get("online_sources", ""), **numbers,
        )  # fmt: skip


class _ErrorReader:
    """Reads Square's ``{"errors": [{"category", "code", "detail", "field"}]}`` from a failed
    response: returns the first code (``platform_code``) and keeps the details, per thread, for
    the message of the error being raised."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, response: httpx.Response) -> str | None:
        errors = _errors(response)
        self._local.text = _describe(errors) if errors else None
        return str(errors[0].get("code")) if errors and errors[0].get("code") else None

    def take(self) -> str | None:
        text: str | None = getattr(self._local, "text", None)
        self._local.text = None
        return text


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        payload = response.json()
    except ValueError:
        return []
    errors = payload.get("errors") if isinstance(payload, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _request_id(response: httpx.Response) -> str | None:
    value = response.headers.get("x-request-id") or response.headers.get("square-request-id")
    return str(value) if value else None


def _describe(errors: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for e in errors[:5]:
        text = f"{e.get('code') or e.get('category') or 'ERROR'}: {e.get('detail') or 'no detail'}"
        parts.append(text + (f" (field {e['field']})" if e.get("field") else ""))
    return "; ".join(parts)


class SquareClient:
    """Calls the Square API for one seller account.

    Every request carries ``Authorization: Bearer <token>`` and ``Square-Version``. Searches are
    ``POST`` requests that change nothing, and every write carries an ``idempotency_key`` in its
    body, so all requests are retried on 408, 429 (honouring ``Retry-After``), 5xx and connection
    errors by :class:`~o2o_sdk.http.PlatformClient`. Square's error bodies become the typed
    :class:`~o2o_sdk.http.PlatformError` of the status, with Square's first error code as
    ``platform_code`` and every error's detail in the message.
    """

    def __init__(self, settings: SquareSettings, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, retry: RetryPolicy | None = None) -> None:  # fmt: skip
        self.settings = settings
        self._errors = _ErrorReader()
        self.http = PlatformClient(
            "square", settings.base_url,
            headers={"Square-Version": settings.api_version, "Accept": "application/json", "User-Agent": "o2o-square/0.1"},
            secret_headers={"Authorization": Secret(f"Bearer {settings.access_token.value}")},
            # 409 at Square is a state conflict (a stale order version): sending it again cannot help
            retry=retry or RetryPolicy(max_retries=settings.max_retries, statuses=RETRY_STATUSES - {409}),
            transport=transport, sleep=sleep,
            error_code=self._errors,
        )  # fmt: skip

    def close(self) -> None:
        """Close connections."""
        self.http.close()

    def __repr__(self) -> str:
        return f"<SquareClient {self.settings.base_url} Square-Version {self.settings.api_version}>"

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The JSON answer of one request; raises :class:`~o2o_sdk.http.PlatformError`."""
        try:
            response = self.http.request(method, path, json=dict(body) if body is not None else None, idempotent=True)
        except PlatformError as exc:
            detail = self._errors.take()
            if detail:
                exc.message = f"Square answered {exc.status} to {method.upper()} {path}: {detail}."
            raise
        try:
            payload = response.json()
        except ValueError:
            raise PlatformError(f"Square answered {method.upper()} {path} with something other than JSON.", platform="square",
                                status=response.status_code, request_id=_request_id(response), code="platform_bad_answer") from None  # fmt: skip
        if not isinstance(payload, dict):
            raise PlatformError(f"Square answered {method.upper()} {path} with unexpected JSON.", platform="square",
                                status=response.status_code, request_id=_request_id(response), code="platform_bad_answer")  # fmt: skip
        errors = payload.get("errors")
        if isinstance(errors, list) and errors:  # a 2xx that still reports errors (batch endpoints)
            found = [e for e in errors if isinstance(e, dict)]
            raise PlatformUnprocessable(f"Square reported errors for {method.upper()} {path}: {_describe(found)}.",
                                        platform="square", status=response.status_code, request_id=_request_id(response),
                                        platform_code=str(found[0].get("code")) if found else None)  # fmt: skip
        return payload

    def get(self, path: str) -> dict[str, Any]:
        """``GET path``."""
        return self.call("GET", path)

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST path`` with a JSON body (a search, or a write carrying ``idempotency_key``)."""
        return self.call("POST", path, body)

    def put(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT path`` with a JSON body carrying ``idempotency_key``."""
        return self.call("PUT", path, body)

    def paginate(self, path: str, body: Mapping[str, Any], key: str) -> Iterator[dict[str, Any]]:
        """Items under ``key`` of a cursor-paginated ``POST`` search, page after page."""

        def fetch(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            page = self.post(path, {**body, "cursor": cursor} if cursor else body)
            items = page.get(key) or []
            if not isinstance(items, list):
                raise PlatformError(f"Square's answer to {path} has no list {key!r}.", platform="square", code="platform_bad_answer")
            return [i for i in items if isinstance(i, dict)], (str(page["cursor"]) if page.get("cursor") else None)

        return paginate_cursor(fetch)

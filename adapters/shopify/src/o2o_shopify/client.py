"""Settings and the Admin GraphQL client: versioned endpoint, access token, throttling, errors."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import httpx

from o2o_sdk import ConfigurationError
from o2o_sdk.http import (
    RETRY_STATUSES,
    PlatformClient,
    PlatformError,
    PlatformRateLimited,
    PlatformUnprocessable,
    RetryPolicy,
    Secret,
    paginate_cursor,
)

__all__ = ["DEFAULT_API_VERSION", "ShopifyGraphQL", "ShopifySettings", "throttle_wait", "user_errors"]

log = logging.getLogger("o2o_shopify")

DEFAULT_API_VERSION = "2025-04"
_VERSION = re.compile(r"20\d\d-(01|04|07|10)")
_SHOP = re.compile(r"[a-z0-9][a-z0-9-]*")
#: When the adapter asks Shopify whether an online order is a local pickup (see ``ShopifySettings.pickup_lookup``).
PICKUP_LOOKUPS = ("auto", "always", "off")


def _secrets(value: object) -> tuple[Secret, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    return tuple(v if isinstance(v, Secret) else Secret(str(v).strip()) for v in value)  # type: ignore[attr-defined]


def _secret(value: object) -> Secret:
    return value if isinstance(value, Secret) else Secret(str(value))


def _word(value: object) -> str:
    return str(value).strip().lower()


@attrs.frozen
class ShopifySettings:
    """How to reach one shop. From the environment (``O2O_SHOPIFY_<KEY>``) or in code.

    ``locations`` overrides or supplies per-location data the Admin API does not carry:
    ``{"<location id or gid>": {"latitude": 51.5, "longitude": -0.1, "timezone": "Europe/London",
    "store_id": "lon-soho"}}`` (JSON in ``O2O_SHOPIFY_LOCATIONS``).
    """

    #: ``my-shop`` or ``my-shop.myshopify.com``.
    shop: str
    access_token: Secret = attrs.field(converter=_secret)
    api_version: str = DEFAULT_API_VERSION
    #: App client secrets that sign webhooks, newest first (two during a rotation).
    webhook_secrets: tuple[Secret, ...] = attrs.field(default=(), converter=_secrets)
    locations: dict[str, dict[str, Any]] = attrs.field(factory=dict, hash=False)
    #: Prefix of the store ids created for new locations (``shopify-<legacy id>``).
    store_id_prefix: str = "shopify-"
    #: Time zone for locations without one in ``locations`` (default: the shop's).
    timezone: str | None = None
    #: SKUs per inventory query, and inventory levels (locations) per SKU and page.
    inventory_batch: int = 10
    inventory_levels: int = 50
    #: How many times a throttled request is retried after waiting.
    max_throttle_retries: int = 5
    #: Which online orders' fulfillment orders are read to find local pickups: ``auto`` (those
    #: whose payload suggests one: a pickup shipping line, or physical items without a shipping
    #: address), ``always`` (every online order: one more query per order webhook), ``off``.
    pickup_lookup: str = attrs.field(default="auto", converter=_word)

    def __attrs_post_init__(self) -> None:
        if not _SHOP.fullmatch(self.shop_name):
            raise ConfigurationError(f"Shopify shop {self.shop!r} must look like 'my-shop' or 'my-shop.myshopify.com'.")
        if not self.access_token.value:
            raise ConfigurationError("Shopify needs an Admin API access token (O2O_SHOPIFY_ACCESS_TOKEN).")
        if not _VERSION.fullmatch(self.api_version):
            raise ConfigurationError(f"Shopify API version {self.api_version!r} must look like 2025-04.")
        if self.pickup_lookup not in PICKUP_LOOKUPS:
            raise ConfigurationError(f"O2O_SHOPIFY_PICKUP_LOOKUP must be one of {', '.join(PICKUP_LOOKUPS)}, not {self.pickup_lookup!r}.")

    @property
    def shop_name(self) -> str:
        """The shop's handle, without ``.myshopify.com``."""
        return self.shop.strip().lower().removeprefix("https://").removesuffix("/").removesuffix(".myshopify.com")

    @property
    def domain(self) -> str:
        """``my-shop.myshopify.com``."""
        return f"{self.shop_name}.myshopify.com"

    @property
    def endpoint(self) -> str:
        """The versioned Admin API base URL."""
        return f"https://{self.domain}/admin/api/{self.api_version}"

    @classmethod
    def from_mapping(cls, settings: Mapping[str, str]) -> ShopifySettings | None:
        """Settings from ``config.plugin_settings("shopify")``; ``None`` when no shop is configured."""
        if not settings.get("shop"):
            return None
        locations: dict[str, dict[str, Any]] = {}
        if raw := settings.get("locations"):
            try:
                locations = json.loads(raw)
            except ValueError as exc:
                raise ConfigurationError(f"O2O_SHOPIFY_LOCATIONS is not JSON: {exc}.") from None
            if not isinstance(locations, dict) or not all(isinstance(v, dict) for v in locations.values()):
                raise ConfigurationError("O2O_SHOPIFY_LOCATIONS must map location ids to objects.")
        ints = {}
        for key in ("inventory_batch", "inventory_levels", "max_throttle_retries"):
            if key in settings:
                try:
                    ints[key] = int(settings[key])
                except ValueError:
                    raise ConfigurationError(f"O2O_SHOPIFY_{key.upper()} must be a whole number.") from None
        return cls(
            shop=settings["shop"], access_token=settings.get("access_token", ""),
            api_version=settings.get("api_version", DEFAULT_API_VERSION),
            webhook_secrets=settings.get("webhook_secrets", ""), locations=locations,
            store_id_prefix=settings.get("store_id_prefix", "shopify-"), timezone=settings.get("timezone"),
            pickup_lookup=settings.get("pickup_lookup") or "auto", **ints,
        )  # fmt: skip


def throttle_wait(cost: Mapping[str, Any] | None, default: float = 1.0) -> float:
    """Seconds until the leaky bucket holds the points a throttled query asked for:
    ``(requested - available) / restoreRate``, from ``extensions.cost``."""
    if not cost:
        return default
    try:
        status = cost["throttleStatus"]
        missing = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return default
    if rate <= 0:
        return default
    return min(max(missing / rate, 0.0) + 0.05, 60.0)


class ShopifyGraphQL:
    """Runs Admin GraphQL documents for one shop.

    Throttling arrives as HTTP 429 or as HTTP 200 with ``THROTTLED`` errors; both mean the
    request was not executed, so queries **and** mutations are retried after the wait the
    cost extension gives (``Retry-After`` for 429), up to ``max_throttle_retries``. Other
    failures go through :class:`~o2o_sdk.http.PlatformClient`'s policy: queries are retried on
    connection errors and 5xx, mutations never.
    """

    def __init__(self, settings: ShopifySettings, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, retry: RetryPolicy | None = None) -> None:  # fmt: skip
        self.settings = settings
        self._sleep = sleep
        policy = retry or RetryPolicy()
        self.http = PlatformClient(
            "shopify", settings.endpoint,
            headers={"Accept": "application/json", "User-Agent": "o2o-shopify/0.1"},
            secret_headers={"X-Shopify-Access-Token": settings.access_token},
            retry=attrs.evolve(policy, statuses=RETRY_STATUSES - {429}),  # 429 is throttling: handled here
            transport=transport, sleep=sleep, error_code=_error_code,
        )  # fmt: skip
        #: ``extensions.cost`` of the last answer (requested/actual cost, throttle status).
        self.last_cost: dict[str, Any] | None = None

    def close(self) -> None:
        """Close connections."""
        self.http.close()

    def execute(self, document: str, variables: Mapping[str, Any] | None = None, *, mutation: bool = False) -> dict[str, Any]:
        """The ``data`` of a document's answer; raises :class:`~o2o_sdk.http.PlatformError`."""
        body = {"query": document, "variables": dict(variables or {})}
        retries = self.settings.max_throttle_retries
        for attempt in range(retries + 1):
            try:
                response = self.http.post("/graphql.json", json=body, idempotent=not mutation)
            except PlatformRateLimited as exc:
                if attempt >= retries:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else throttle_wait(None, 2.0)
                log.info("shopify throttled (429), waiting %.2fs (request id %s)", wait, exc.request_id)
                self._sleep(wait)
                continue
            payload = _json(response)
            extensions = payload.get("extensions") or {}
            self.last_cost = extensions.get("cost") if isinstance(extensions, dict) else None
            errors = payload.get("errors")
            if errors:
                codes = [str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)]
                if "THROTTLED" in codes:
                    if attempt >= retries:
                        raise PlatformRateLimited(
                            "Shopify kept throttling the request.", platform="shopify", status=200,
                            request_id=response.headers.get("x-request-id"), platform_code="THROTTLED",
                            retry_after=throttle_wait(self.last_cost),
                        )  # fmt: skip
                    wait = throttle_wait(self.last_cost)
                    log.info("shopify throttled (THROTTLED), waiting %.2fs", wait)
                    self._sleep(wait)
                    continue
                messages = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
                raise PlatformError(f"Shopify refused the query: {messages}", platform="shopify", status=response.status_code,
                                    request_id=response.headers.get("x-request-id"), platform_code=next((c for c in codes if c), None),
                                    code="platform_graphql_error")  # fmt: skip
            data = payload.get("data")
            if not isinstance(data, dict):
                raise PlatformError("Shopify answered without data.", platform="shopify", status=response.status_code,
                                    request_id=response.headers.get("x-request-id"), code="platform_bad_answer")  # fmt: skip
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    def paginate(self, document: str, path: tuple[str, ...], variables: Mapping[str, Any] | None = None,
                 page_size: int = 250, after: str | None = None) -> Iterator[dict[str, Any]]:  # fmt: skip
        """Nodes of a connection at ``path`` in the answer, page by page (``first``/``after``),
        from the page after the cursor ``after`` (``None``: from the first page)."""

        def fetch(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            data: Any = self.execute(document, {**(variables or {}), "first": min(page_size, 250), "after": cursor})
            for key in path:
                data = (data or {}).get(key)
            if not isinstance(data, dict):
                raise PlatformError(f"Shopify's answer lacks {'.'.join(path)}.", platform="shopify", code="platform_bad_answer")
            info = data.get("pageInfo") or {}
            return list(data.get("nodes") or []), (info.get("endCursor") if info.get("hasNextPage") else None)

        return paginate_cursor(fetch, start=after)


def user_errors(payload: Mapping[str, Any], request_id: str | None = None) -> None:
    """Raise :class:`~o2o_sdk.http.PlatformUnprocessable` for a mutation's ``userErrors``."""
    errors = payload.get("userErrors") or []
    if errors:
        text = "; ".join(f"{'.'.join(map(str, e.get('field') or []))}: {e.get('message')}".lstrip(": ") for e in errors)
        raise PlatformUnprocessable(f"Shopify refused the values: {text}", platform="shopify", status=200,
                                    request_id=request_id, platform_code=errors[0].get("code"))  # fmt: skip


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        raise PlatformError("Shopify answered with something other than JSON.", platform="shopify",
                            status=response.status_code, request_id=response.headers.get("x-request-id"),
                            code="platform_bad_answer") from None  # fmt: skip
    if not isinstance(payload, dict):
        raise PlatformError("Shopify answered with unexpected JSON.", platform="shopify", status=response.status_code,
                            request_id=response.headers.get("x-request-id"), code="platform_bad_answer")  # fmt: skip
    return payload


def _error_code(response: httpx.Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = (errors[0].get("extensions") or {}).get("code")
        return str(code) if code else None
    return None

"""Settings and the REST API v3 client: authentication (Basic over HTTPS, OAuth 1.0a over HTTP),
typed errors from WooCommerce's error bodies, page-numbered listing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets as _secrets_module
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
import httpx

from o2o_sdk import ConfigurationError, InvalidInput
from o2o_sdk.http import PlatformClient, PlatformError, RetryPolicy, Secret, paginate_pages

__all__ = [
    "API_PATH",
    "DEFAULT_IN_STORE_CREATED_VIA",
    "DEFAULT_ORDER_STATUSES",
    "MAX_PER_PAGE",
    "WooCommerceREST",
    "WooCommerceSettings",
    "oauth1_query",
    "percent_encode",
    "signature_base_string",
]

log = logging.getLogger("o2o_woocommerce")

#: Where the REST API v3 lives under the site URL.
API_PATH = "/wp-json/wc/v3"
#: WooCommerce refuses ``per_page`` above 100.
MAX_PER_PAGE = 100
#: ``created_via`` values of orders taken at a till: WooCommerce's own POS (``pos-rest-api``) and
#: the names POS plugins commonly use. ``admin`` (an order typed in by staff, often by phone) is
#: not among them: it says who entered the order, not where the customer was.
DEFAULT_IN_STORE_CREATED_VIA = frozenset({"pos-rest-api", "point-of-sale", "pos"})
#: Order statuses that count as a sale: paid (``processing``, ``completed``) or awaiting a
#: manual payment the shop accepted (``on-hold``). ``pending`` and ``failed`` orders are not
#: recorded, so the ``order.updated`` delivery after payment is the one that counts.
DEFAULT_ORDER_STATUSES = frozenset({"processing", "completed", "on-hold"})

_AUTH_MODES = ("auto", "basic", "query", "oauth1")


def _secret(value: object) -> Secret:
    return value if isinstance(value, Secret) else Secret(str(value).strip())


def _secrets(value: object) -> tuple[Secret, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    return tuple(_secret(v) for v in value)  # type: ignore[attr-defined]


def _names(value: object) -> frozenset[str]:
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(str(v).strip() for v in value if str(v).strip())  # type: ignore[attr-defined]


def _site_url(value: object) -> str:
    text = str(value).strip().rstrip("/")
    return text.removesuffix(API_PATH).rstrip("/")


@attrs.frozen
class WooCommerceSettings:
    """How to reach one WooCommerce site, and how its orders map to our stores.

    From the environment (``O2O_WOOCOMMERCE_<KEY>``, see :meth:`from_mapping`) or in code.
    WooCommerce has no store entity: an order's store comes from the order meta field
    ``store_meta_key`` (our store id, or a key matched against ``Store.external_ids["woocommerce"]``),
    and a pickup order's store from that field or from ``locations``, which maps a pickup
    location name (WooCommerce Blocks local pickup) or a shipping line's ``"<method_id>:<instance_id>"``
    to our store id.
    """

    #: The site URL, e.g. ``https://shop.example`` (the API is at ``<url>/wp-json/wc/v3``).
    url: str = attrs.field(converter=_site_url)
    #: REST API consumer key (``ck_…``) and secret (``cs_…``).
    consumer_key: Secret = attrs.field(converter=_secret)
    consumer_secret: Secret = attrs.field(converter=_secret)
    #: Secrets of the site's webhooks, newest first (several during a rotation).
    webhook_secrets: tuple[Secret, ...] = attrs.field(default=(), converter=_secrets)
    #: ``auto`` (Basic over HTTPS, OAuth 1.0a over plain HTTP), ``basic``, ``query`` (the key and
    #: secret as query parameters, for HTTPS servers that strip ``Authorization``) or ``oauth1``.
    auth: str = "auto"
    #: Order meta key naming the order's store (our store id or a location key).
    store_meta_key: str = "_o2o_store_id"
    #: Order meta key flagging an in-store order (``1``, ``yes``, ``true``).
    in_store_meta_key: str = "_o2o_in_store"
    #: ``created_via`` values of in-store orders.
    in_store_created_via: frozenset[str] = attrs.field(default=DEFAULT_IN_STORE_CREATED_VIA, converter=_names)
    #: Statuses of orders that are recorded (others are acknowledged and ignored).
    order_statuses: frozenset[str] = attrs.field(default=DEFAULT_ORDER_STATUSES, converter=_names)
    #: Pickup location name or ``"<method_id>:<instance_id>"`` -> our store id.
    locations: dict[str, str] = attrs.field(factory=dict, hash=False)
    #: The site's IANA time zone (WordPress Settings -> General), to read naive offer start times.
    timezone: str = "UTC"
    #: The shop's currency; asked from WooCommerce once when not set.
    currency: str | None = None
    #: Items per page when listing (1..100).
    per_page: int = MAX_PER_PAGE

    def __attrs_post_init__(self) -> None:
        parts = urlsplit(self.url)
        scheme = parts.scheme
        if scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ConfigurationError(
                f"WooCommerce URL {self.url!r} must be the site's http(s) address, like 'https://shop.example'."
            )
        if not self.consumer_key.value or not self.consumer_secret.value:
            raise ConfigurationError(
                "WooCommerce needs a REST API consumer key and secret (O2O_WOOCOMMERCE_KEY, O2O_WOOCOMMERCE_SECRET)."
            )
        if self.auth not in _AUTH_MODES:
            raise ConfigurationError(f"O2O_WOOCOMMERCE_AUTH {self.auth!r} must be one of {', '.join(_AUTH_MODES)}.")
        if scheme == "http" and self.auth in ("basic", "query"):
            raise ConfigurationError(
                f"WooCommerce at {self.url} is plain http: {self.auth} authentication would send the consumer secret "
                "in clear text. Use https, or OAuth 1.0a (O2O_WOOCOMMERCE_AUTH=oauth1 or auto).")  # fmt: skip
        if scheme == "https" and self.auth == "oauth1":
            raise ConfigurationError(
                "WooCommerce accepts OAuth 1.0a only over plain http; over https use basic (the default)."
            )
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ConfigurationError(f"O2O_WOOCOMMERCE_PER_PAGE must be between 1 and {MAX_PER_PAGE}.")
        if not all(isinstance(k, str) and isinstance(v, str) and v for k, v in self.locations.items()):
            raise ConfigurationError("WooCommerce locations must map pickup location names to store ids (strings).")
        if self.currency is not None and (
            len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper()
        ):
            raise ConfigurationError(f"O2O_WOOCOMMERCE_CURRENCY {self.currency!r} must be an ISO 4217 code like 'EUR'.")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(self.timezone)
        except (ValueError, KeyError, OSError):
            raise ConfigurationError(f"O2O_WOOCOMMERCE_TIMEZONE {self.timezone!r} is not an IANA time zone.") from None

    @property
    def endpoint(self) -> str:
        """The REST API base URL."""
        return f"{self.url}{API_PATH}"

    @property
    def auth_method(self) -> str:
        """The authentication actually used: ``basic``, ``query`` or ``oauth1``."""
        if self.auth != "auto":
            return self.auth
        return "oauth1" if self.url.startswith("http://") else "basic"

    @classmethod
    def from_mapping(cls, settings: Mapping[str, str]) -> WooCommerceSettings | None:
        """Settings from ``config.plugin_settings("woocommerce")``; ``None`` when no URL is configured.

        Keys (``O2O_WOOCOMMERCE_<KEY>``): ``url``, ``key``, ``secret``, ``webhook_secrets`` (comma
        separated), ``auth``, ``store_meta_key``, ``in_store_meta_key``, ``in_store_created_via`` and
        ``order_statuses`` (comma separated), ``locations`` (JSON object), ``timezone``, ``currency``,
        ``per_page``.
        """
        if not settings.get("url"):
            return None
        locations: Any = {}
        if raw := settings.get("locations"):
            try:
                locations = json.loads(raw)
            except ValueError as exc:
                raise ConfigurationError(f"O2O_WOOCOMMERCE_LOCATIONS is not JSON: {exc}.") from None
            if not isinstance(locations, dict) or not all(isinstance(v, str) for v in locations.values()):
                raise ConfigurationError("O2O_WOOCOMMERCE_LOCATIONS must map pickup location names to store ids.")
        extra: dict[str, Any] = {}
        for key in (
            "auth",
            "store_meta_key",
            "in_store_meta_key",
            "in_store_created_via",
            "order_statuses",
            "timezone",
        ):
            if settings.get(key):
                extra[key] = settings[key]
        if settings.get("currency"):
            extra["currency"] = settings["currency"].strip().upper()
        if "per_page" in settings:
            try:
                extra["per_page"] = int(settings["per_page"])
            except ValueError:
                raise ConfigurationError("O2O_WOOCOMMERCE_PER_PAGE must be a whole number.") from None
        return cls(url=settings["url"], consumer_key=settings.get("key", ""), consumer_secret=settings.get("secret", ""),
                   webhook_secrets=settings.get("webhook_secrets", ""), locations=locations, **extra)  # fmt: skip


# --------------------------------------------------------------------------- OAuth 1.0a (one-legged)


def percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding (every byte but ``A-Z a-z 0-9 - . _ ~``), as OAuth 1.0a requires."""
    return quote(text, safe="-._~")


def signature_base_string(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The OAuth 1.0a signature base string (RFC 5849, 3.4.1).

    ``METHOD & encode(base URL) & encode(normalized parameters)``, where the base URL has no
    query and a lower-case scheme and host without the default port, and the normalized
    parameters are every (decoded) query parameter and ``oauth_*`` parameter except the
    signature, each name and value encoded, sorted by name then value, joined with ``=`` and ``&``.
    """
    parsed = httpx.URL(url)
    scheme, host = parsed.scheme.lower(), (parsed.host or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    port = f":{parsed.port}" if parsed.port is not None and parsed.port != default else ""
    base_url = f"{scheme}://{host}{port}{parsed.raw_path.split(b'?', 1)[0].decode('ascii')}"
    pairs = sorted((percent_encode(k), percent_encode(v)) for k, v in params if k != "oauth_signature")
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join((method.upper(), percent_encode(base_url), percent_encode(normalized)))


def oauth1_query(method: str, url: str, params: Sequence[tuple[str, str]], consumer_key: str, consumer_secret: str,
                 *, nonce: str, timestamp: int) -> list[tuple[str, str]]:  # fmt: skip
    """``params`` plus the ``oauth_*`` parameters that sign the request, as WooCommerce verifies them:
    HMAC-SHA256 of the base string with the key ``consumer_secret + "&"`` (no token), base64."""
    oauth = [("oauth_consumer_key", consumer_key), ("oauth_nonce", nonce),
             ("oauth_signature_method", "HMAC-SHA256"), ("oauth_timestamp", str(timestamp))]  # fmt: skip
    base = signature_base_string(method, url, [*params, *oauth])
    digest = hmac.new(f"{consumer_secret}&".encode(), base.encode(), hashlib.sha256).digest()
    return [*params, *oauth, ("oauth_signature", base64.b64encode(digest).decode("ascii"))]


class _AuthTransport(httpx.BaseTransport):
    """Adds credentials to each attempt's URL: OAuth 1.0a (a fresh nonce and timestamp per attempt,
    since WooCommerce refuses a nonce twice) or the query-string key and secret."""

    def __init__(self, settings: WooCommerceSettings, inner: httpx.BaseTransport | None,
                 clock: Callable[[], float], nonce: Callable[[], str]) -> None:  # fmt: skip
        self._settings = settings
        self._inner = inner if inner is not None else httpx.HTTPTransport()
        self._clock = clock
        self._nonce = nonce

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = list(request.url.params.multi_items())
        key, secret = self._settings.consumer_key.value, self._settings.consumer_secret.value
        if self._settings.auth_method == "oauth1":
            base = str(request.url.copy_with(query=None))
            params = oauth1_query(
                request.method, base, params, key, secret, nonce=self._nonce(), timestamp=int(self._clock())
            )
        else:
            params = [*params, ("consumer_key", key), ("consumer_secret", secret)]
        signed = httpx.Request(request.method, request.url.copy_with(params=params), headers=request.headers,
                               stream=request.stream, extensions=request.extensions)  # fmt: skip
        return self._inner.handle_request(signed)

    def close(self) -> None:
        self._inner.close()


# --------------------------------------------------------------------------- the client


class WooCommerceREST:
    """Calls the REST API v3 of one site through :class:`~o2o_sdk.http.PlatformClient`.

    Errors: WooCommerce's body ``{"code", "message", "data": {"status"}}`` becomes the typed
    :class:`~o2o_sdk.http.PlatformError` subclass of the status, with ``platform_code`` = ``code``
    and the message in the sentence. GET and PUT are retried on connection errors, 408, 409,
    429 (honouring ``Retry-After``) and 5xx; POST only where the caller marks it idempotent.
    """

    def __init__(self, settings: WooCommerceSettings, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, retry: RetryPolicy | None = None,
                 clock: Callable[[], float] = time.time, nonce: Callable[[], str] | None = None) -> None:  # fmt: skip
        self.settings = settings
        self._errors = threading.local()
        method = settings.auth_method
        secret_headers: dict[str, Secret] = {}
        if method == "basic":
            pair = f"{settings.consumer_key.value}:{settings.consumer_secret.value}".encode()
            secret_headers["Authorization"] = Secret("Basic " + base64.b64encode(pair).decode("ascii"))
        else:
            transport = _AuthTransport(settings, transport, clock, nonce or (lambda: _secrets_module.token_hex(16)))
        self.http = PlatformClient(
            "woocommerce", settings.endpoint,
            headers={"Accept": "application/json", "User-Agent": "o2o-woocommerce/0.1"},
            secret_headers=secret_headers, retry=retry, transport=transport, sleep=sleep, error_code=self._error_code,
        )  # fmt: skip

    def close(self) -> None:
        """Close connections."""
        self.http.close()

    def _error_code(self, response: httpx.Response) -> str | None:
        """WooCommerce's error code; its message is kept (per thread) for the raised error."""
        self._errors.message = None
        try:
            payload = response.json()
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        message = payload.get("message")
        self._errors.message = str(message) if message else None
        code = payload.get("code")
        return str(code) if code else None

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None,
                idempotent: bool | None = None) -> httpx.Response:  # fmt: skip
        """Send one request; raise :class:`~o2o_sdk.http.PlatformError` (typed by status) on failure."""
        try:
            return self.http.request(method, path, params=params, json=json_body, idempotent=idempotent)
        except PlatformError as exc:
            said = getattr(self._errors, "message", None)
            if exc.status is not None and said:
                code = f"{exc.platform_code}, " if exc.platform_code else ""
                exc.message = f"WooCommerce refused {method.upper()} {path}: {said} ({code}HTTP {exc.status})"
            raise

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None,
             idempotent: bool | None = None) -> Any:  # fmt: skip
        """The decoded JSON answer of one request."""
        return _json(self.request(method, path, params=params, json_body=json_body, idempotent=idempotent))

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """``GET`` and decode."""
        return self.call("GET", path, params=params)

    def pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, per_page: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page by page (``page``/``per_page``), up to ``X-WP-TotalPages``."""
        size = self.settings.per_page if per_page is None else per_page
        if not 1 <= size <= MAX_PER_PAGE:
            raise InvalidInput(f"WooCommerce lists 1 to {MAX_PER_PAGE} items per page, not {size}.")

        def fetch(page: int) -> tuple[list[dict[str, Any]], int | None]:
            response = self.request("GET", path, params={**(params or {}), "page": page, "per_page": size})
            items = _json(response)
            if not isinstance(items, list):
                raise PlatformError(f"WooCommerce answered GET {path} without a list.", platform="woocommerce",
                                    status=response.status_code, code="platform_bad_answer")  # fmt: skip
            total = response.headers.get("x-wp-totalpages")
            return [i for i in items if isinstance(i, dict)], int(total) if total and total.strip().isdigit() else None

        return paginate_pages(fetch)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PlatformError(f"WooCommerce answered {response.request.method} {response.request.url.path} with something "
                            "other than JSON.", platform="woocommerce", status=response.status_code,
                            code="platform_bad_answer") from None  # fmt: skip

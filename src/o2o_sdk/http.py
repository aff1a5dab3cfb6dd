"""HTTP foundations shared by every platform adapter.

:class:`PlatformClient` wraps an :class:`httpx.Client` with timeouts, a retry policy, typed
errors that carry the platform's request id, and redaction of secrets in logs and reprs.
Pagination helpers walk cursor, page-number and ``Link``-header APIs.

Retry policy (the constants below, as in Stainless-generated SDKs): 2 retries by default,
exponential backoff from 0.5 s capped at 8 s with jitter, ``Retry-After`` honoured (seconds or
an HTTP date, up to 60 s), on connection errors and timeouts and on 408/409/429/5xx.
A non-idempotent write (``POST``, ``PATCH``) is **never** retried unless it carries an
idempotency key or the caller marks it ``idempotent=True``: a retried write that had reached
the platform would do the work twice.

Errors::

    O2OError
    └── PlatformError                   status, request_id, platform_code, platform
        ├── PlatformConnectionError     no response (DNS, refused, reset); status None
        │   └── PlatformTimeout         the request timed out
        ├── PlatformBadRequest          400
        ├── PlatformAuthError           401
        ├── PlatformPermissionDenied    403
        ├── PlatformNotFound            404
        ├── PlatformConflict            409
        ├── PlatformUnprocessable       422 (also GraphQL user errors)
        ├── PlatformRateLimited         429 (also GraphQL THROTTLED)
        └── PlatformServerError         5xx

:data:`ERROR_BY_STATUS` is the one table mapping statuses to classes.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import httpx

from .errors import O2OError

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ERROR_BY_STATUS",
    "IDEMPOTENT_METHODS",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "REDACTED",
    "verify_hmac_sha256_base64",
    "RETRY_STATUSES",
    "PlatformAuthError",
    "PlatformBadRequest",
    "PlatformClient",
    "PlatformConflict",
    "PlatformConnectionError",
    "PlatformError",
    "PlatformNotFound",
    "PlatformPermissionDenied",
    "PlatformRateLimited",
    "PlatformServerError",
    "PlatformTimeout",
    "PlatformUnprocessable",
    "RetryPolicy",
    "Secret",
    "error_for_status",
    "next_link",
    "paginate_cursor",
    "paginate_links",
    "paginate_pages",
    "parse_retry_after",
    "redact_headers",
    "redact_url",
]

log = logging.getLogger("o2o_sdk.http")

# --------------------------------------------------------------------------- policy constants

#: Connect quickly, read patiently: platform APIs answer slow queries in seconds, not minutes.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
#: A ``Retry-After`` longer than this is not waited for: the error is raised instead.
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES: frozenset[int] = frozenset({408, 409, 429, *range(500, 600)})
IDEMPOTENT_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: Headers that carry platform request ids, most specific first.
REQUEST_ID_HEADERS: tuple[str, ...] = ("x-request-id", "x-shopify-request-id", "x-wc-request-id", "square-request-id", "request-id")

REDACTED = "[redacted]"
_SECRET_HEADER = re.compile(r"authorization|cookie|token|secret|signature|hmac|api[-_]?key|password", re.IGNORECASE)
_SECRET_PARAM = re.compile(r"token|secret|key|signature|password|consumer", re.IGNORECASE)


# --------------------------------------------------------------------------- secrets and redaction


@attrs.frozen(repr=False)
class Secret:
    """A string that never shows itself in a repr, a log line or an exception.

    ``Secret("shpat_…").value`` is the string; ``repr()`` and ``str()`` print ``[redacted]``.
    """

    value: str = attrs.field(eq=True)

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self.value)


def verify_hmac_sha256_base64(message: bytes, header: str | None, keys: Iterable[bytes]) -> bool:
    """Whether ``header`` is the base64 HMAC-SHA256 of ``message`` under one of ``keys`` — the
    webhook signature of Shopify, WooCommerce and Square. Every key is compared in constant time
    and none is skipped, so the time taken tells neither which key matched nor how closely."""
    if not header:
        return False
    try:
        given = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(hmac.new(key, message, hashlib.sha256).digest(), given)
    return ok


def redact_headers(headers: Mapping[str, str] | httpx.Headers) -> dict[str, str]:
    """A copy of ``headers`` with credentials (auth, tokens, cookies, signatures) replaced."""
    return {k: (REDACTED if _SECRET_HEADER.search(k) else v) for k, v in headers.items()}


def redact_url(url: str | httpx.URL) -> str:
    """``url`` with secret-looking query parameters (``access_token``, ``consumer_secret`` …) replaced."""
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    query = [(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="[]")))


# --------------------------------------------------------------------------- errors


class PlatformError(O2OError):
    """A platform API call failed.

    :ivar platform: the adapter's platform name (``shopify`` …).
    :ivar status: the HTTP status, or ``None`` when no response arrived.
    :ivar request_id: the platform's request id (quote it to the platform's support).
    :ivar platform_code: the platform's own error code (``THROTTLED``, ``woocommerce_rest_…``).
    :ivar retry_after: seconds the platform asked to wait, if it said.
    """

    code = "platform_error"

    def __init__(self, message: str, *, platform: str = "", status: int | None = None,
                 request_id: str | None = None, platform_code: str | None = None,
                 retry_after: float | None = None, code: str | None = None) -> None:  # fmt: skip
        super().__init__(message, code=code)
        self.platform = platform
        self.status = status
        self.request_id = request_id
        self.platform_code = platform_code
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message + (f" (request id {self.request_id})" if self.request_id else "")


class PlatformConnectionError(PlatformError):
    """No response arrived: DNS failure, connection refused or reset."""

    code = "platform_unreachable"


class PlatformTimeout(PlatformConnectionError):
    """The platform did not answer in time."""

    code = "platform_timeout"


class PlatformBadRequest(PlatformError):
    """400: the platform refused the request as malformed."""

    code = "platform_bad_request"


class PlatformAuthError(PlatformError):
    """401: the credentials are missing, wrong or revoked."""

    code = "platform_auth_failed"


class PlatformPermissionDenied(PlatformError):
    """403: the credentials lack a permission (an access scope)."""

    code = "platform_permission_denied"


class PlatformNotFound(PlatformError):
    """404: no such resource (or shop) on the platform."""

    code = "platform_not_found"


class PlatformConflict(PlatformError):
    """409: the request conflicts with the platform's current state."""

    code = "platform_conflict"


class PlatformUnprocessable(PlatformError):
    """422, or user errors in a 200 answer: the platform refused the values sent."""

    code = "platform_rejected"


class PlatformRateLimited(PlatformError):
    """429, or a GraphQL ``THROTTLED`` answer: too many requests; ``retry_after`` says how long to wait."""

    code = "platform_rate_limited"


class PlatformServerError(PlatformError):
    """5xx: the platform failed."""

    code = "platform_server_error"


#: Status -> error class; statuses not listed map by class (4xx: PlatformError, 5xx: PlatformServerError).
ERROR_BY_STATUS: dict[int, type[PlatformError]] = {
    400: PlatformBadRequest,
    401: PlatformAuthError,
    403: PlatformPermissionDenied,
    404: PlatformNotFound,
    409: PlatformConflict,
    422: PlatformUnprocessable,
    429: PlatformRateLimited,
}


def request_id_of(response: httpx.Response) -> str | None:
    """The platform's request id from a response's headers, if any."""
    for name in REQUEST_ID_HEADERS:
        value: str | None = response.headers.get(name)
        if value:
            return value
    return None


def error_for_status(response: httpx.Response, platform: str, *, platform_code: str | None = None,
                     message: str | None = None) -> PlatformError:  # fmt: skip
    """The typed error for a failed response (not raised)."""
    status = response.status_code
    cls = ERROR_BY_STATUS.get(status) or (PlatformServerError if status >= 500 else PlatformError)
    text = message or f"{platform or 'The platform'} answered {status} {response.reason_phrase} to {response.request.method} {redact_url(response.request.url)}."
    return cls(text, platform=platform, status=status, request_id=request_id_of(response),
               platform_code=platform_code, retry_after=parse_retry_after(response.headers.get("retry-after")))  # fmt: skip


# --------------------------------------------------------------------------- retry policy


def parse_retry_after(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Seconds to wait from a ``Retry-After`` (or ``retry-after-ms``-free) header value: a number of
    seconds or an HTTP date; ``None`` when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now()).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None  # NaN is unreadable


@attrs.frozen
class RetryPolicy:
    """How many times and how long to wait between attempts.

    The n-th retry (0-based) waits ``min(initial_delay * 2**n, max_delay)``, reduced by up to
    ``jitter`` (a fraction) at random so that many clients do not retry in step; a
    ``Retry-After`` of at most ``max_retry_after`` seconds replaces it.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    jitter: float = 0.25
    max_retry_after: float = MAX_RETRY_AFTER
    statuses: frozenset[int] = RETRY_STATUSES

    def delay(self, retry: int, retry_after: float | None = None, rand: Callable[[], float] = random.random) -> float:
        """Seconds to sleep before retry number ``retry`` (0-based)."""
        if retry_after is not None and 0 <= retry_after <= self.max_retry_after:
            return retry_after
        base = min(self.initial_delay * (2**retry), self.max_delay)
        return float(base * (1 - self.jitter * rand()))


# --------------------------------------------------------------------------- the client


class PlatformClient:
    """An httpx client for one platform account, with retries and typed errors.

    ::

        client = PlatformClient("shopify", "https://shop.myshopify.com/admin/api/2025-04",
                                secret_headers={"X-Shopify-Access-Token": Secret(token)})
        response = client.request("POST", "/graphql.json", json=body, idempotent=True)

    :param platform: name used in errors and logs.
    :param base_url: prefix of relative request paths.
    :param headers: headers sent with every request.
    :param secret_headers: credential headers; sent, never logged or shown in ``repr``.
    :param timeout: an :class:`httpx.Timeout` (default :data:`DEFAULT_TIMEOUT`).
    :param retry: the :class:`RetryPolicy`.
    :param transport: an httpx transport (tests, proxies); respx mocks the default one.
    :param sleep: called with seconds to wait between attempts (tests pass a recorder).
    :param error_code: reads the platform's own error code from a failed response.
    """

    def __init__(
        self,
        platform: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        secret_headers: Mapping[str, Secret | str] | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        error_code: Callable[[httpx.Response], str | None] | None = None,
    ) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._headers = dict(headers or {})
        self._secrets = {k: (v if isinstance(v, Secret) else Secret(v)) for k, v in (secret_headers or {}).items()}
        self._transport = transport
        self._sleep = sleep
        self._error_code = error_code
        self._http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        """The underlying :class:`httpx.Client`, created on first use."""
        if self._http is None:
            headers = {**self._headers, **{k: v.value for k, v in self._secrets.items()}}
            self._http = httpx.Client(headers=headers, timeout=self.timeout, transport=self._transport)
        return self._http

    def with_options(self, *, retry: RetryPolicy | None = None, timeout: httpx.Timeout | float | None = None,
                     sleep: Callable[[float], None] | None = None) -> PlatformClient:  # fmt: skip
        """A new client with the same account and some options changed."""
        return PlatformClient(
            self.platform, self.base_url, headers=self._headers, secret_headers=self._secrets,
            timeout=self.timeout if timeout is None else timeout, retry=retry or self.retry,
            transport=self._transport, sleep=sleep or self._sleep, error_code=self._error_code,
        )  # fmt: skip

    def close(self) -> None:
        """Close connections."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        shown = {**self._headers, **dict.fromkeys(self._secrets, REDACTED)}
        return f"<PlatformClient {self.platform} {self.base_url} headers={shown!r}>"

    def url(self, path: str) -> str:
        """``path`` joined to the base URL (absolute URLs are kept)."""
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotency_header: str = "Idempotency-Key",
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send a request, retrying by the policy; return a 2xx/3xx response or raise :class:`PlatformError`.

        :param idempotency_key: sent as ``idempotency_header`` (platforms that take it in the
            body, like Square, put it there and pass ``idempotent=True``); makes a write retryable.
        :param idempotent: override whether the request may be retried (default: by method,
            or ``True`` with an idempotency key).
        """
        method = method.upper()
        send_headers = dict(headers or {})
        if idempotency_key is not None:
            send_headers[idempotency_header] = idempotency_key
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS or idempotency_key is not None
        url = self.url(path)
        retries = self.retry.max_retries if idempotent else 0
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = self.http.request(method, url, params=params, json=json, content=content, headers=send_headers)
            except httpx.TimeoutException as exc:
                error: PlatformError = PlatformTimeout(
                    f"{self.platform} did not answer {method} {redact_url(url)} in time.", platform=self.platform)
                error.__cause__ = exc
            except httpx.TransportError as exc:
                error = PlatformConnectionError(
                    f"Cannot reach {self.platform} for {method} {redact_url(url)}: {type(exc).__name__}.", platform=self.platform)
                error.__cause__ = exc
            else:
                elapsed = time.monotonic() - started
                log.debug("%s %s %s -> %s in %.3fs (request id %s, attempt %d)", self.platform, method,
                          redact_url(response.request.url), response.status_code, elapsed, request_id_of(response), attempt + 1)  # fmt: skip
                if response.status_code < 400:
                    return response
                response.read()
                code = self._error_code(response) if self._error_code else None
                error = error_for_status(response, self.platform, platform_code=code)
                if response.status_code not in self.retry.statuses:
                    raise error
            if attempt >= retries:
                if not idempotent and isinstance(error, PlatformConnectionError):
                    error.message += " Not retried: the write has no idempotency key and may have been applied."
                raise error
            wait = self.retry.delay(attempt, error.retry_after)
            log.info("%s %s %s failed (%s); retry %d/%d in %.2fs", self.platform, method, redact_url(url),
                     error.code, attempt + 1, retries, wait)  # fmt: skip
            self._sleep(wait)
            attempt += 1

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """``request("GET", path, ...)``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """``request("POST", path, ...)``: not retried without an idempotency key or ``idempotent=True``."""
        return self.request("POST", path, **kwargs)


# --------------------------------------------------------------------------- pagination

T = TypeVar("T")


def paginate_cursor(fetch: Callable[[str | None], tuple[Iterable[T], str | None]], *, start: str | None = None,
                    max_pages: int = 10_000) -> Iterator[T]:  # fmt: skip
    """Items of a cursor-paginated API: ``fetch(cursor)`` returns a page's items and the next
    cursor (``None`` on the last page); the first call gets ``start`` (``None``: the first page).

    A cursor repeated by the platform raises :class:`PlatformError` instead of looping forever.
    """
    cursor: str | None = start
    seen: set[str] = {start} if start is not None else set()
    for _ in range(max_pages):
        items, cursor = fetch(cursor)
        yield from items
        if cursor is None:
            return
        if cursor in seen:
            raise PlatformError(f"The platform returned the cursor {cursor!r} twice; stopping pagination.", code="pagination_loop")
        seen.add(cursor)
    raise PlatformError(f"More than {max_pages} pages; stopping pagination.", code="pagination_limit")


def paginate_pages(fetch: Callable[[int], tuple[Iterable[T], int | None]], *, first: int = 1, max_pages: int = 10_000) -> Iterator[T]:
    """Items of a page-numbered API: ``fetch(page)`` returns the page's items and the total
    number of pages if known (e.g. ``X-WP-TotalPages``); stops at the total or an empty page."""
    page = first
    while page < first + max_pages:
        items, total = fetch(page)
        batch = list(items)
        yield from batch
        if not batch or (total is not None and page >= total):
            return
        page += 1
    raise PlatformError(f"More than {max_pages} pages; stopping pagination.", code="pagination_limit")


def next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` URL of a response's ``Link`` header (RFC 8288), if any."""
    header = response.headers.get("link")
    if not header:
        return None
    for part in re.finditer(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)", header):
        params = part.group(2)
        rel = re.search(r'rel\s*=\s*"?([^";]+)"?', params)
        if rel and "next" in rel.group(1).split():
            return part.group(1)
    return None


def paginate_links(client: PlatformClient, path: str, items: Callable[[httpx.Response], Iterable[T]], *,
                   params: Mapping[str, Any] | None = None, max_pages: int = 10_000) -> Iterator[T]:  # fmt: skip
    """Items of an API that links to the next page in a ``Link`` header, fetched with GET."""
    url: str | None = path
    seen: set[str] = set()
    first = True
    for _ in range(max_pages):
        assert url is not None
        response = client.get(url, params=params if first else None)
        first = False
        yield from items(response)
        url = next_link(response)
        if url is None:
            return
        if url in seen:
            raise PlatformError(f"The platform linked to {redact_url(url)} twice; stopping pagination.", code="pagination_loop")
        seen.add(url)
    raise PlatformError(f"More than {max_pages} pages; stopping pagination.", code="pagination_limit")

"""A Python client for the POS API, for in-house POS software (httpx; no web framework needed).

::

    from o2o_sdk.web.client import POSClient

    with POSClient("https://shop.example/o2o", api_key) as pos:
        check = pos.validate(scanned, basket=Basket(Money.of("8.40", "GBP")))
        if check.ok:
            redemption = pos.redeem(scanned, basket=..., idempotency_key=sale_id)

Results are the SDK's own models (:class:`~o2o_sdk.Validation`, :class:`~o2o_sdk.Redemption`,
:class:`~o2o_sdk.Reservation`). Every call is safe to retry — validate reads, redeem and
reserve carry an ``Idempotency-Key`` (generated when not given: pass your sale's id to make
retries across restarts safe), release and void are idempotent — so connection errors, 408,
429 and 5xx are retried by :class:`o2o_sdk.http.RetryPolicy` (``Retry-After`` honoured).

Errors::

    O2OError
    ├── RedemptionRefused       409 redemption_refused: ``refusals`` lists every reason
    ├── IdempotencyConflict     409 idempotency_conflict
    ├── InvalidInput            400 / 422 (a malformed request)
    │   └── NotFound            404
    └── POSError                status, code
        ├── POSConnectionError  no answer (after retries)
        ├── POSAuthError        401: unknown or revoked key
        ├── POSForbidden        403: the key is not valid for that store
        ├── POSRateLimited      429: ``retry_after`` seconds
        └── POSServerError      5xx (after retries)
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import httpx

from ..converter import make_converter
from ..errors import IdempotencyConflict, InvalidInput, NotFound, O2OError, Reason, RedemptionRefused, Refusal
from ..http import RetryPolicy, parse_retry_after
from ..models import Basket, Redemption, Reservation, Validation

__all__ = [
    "KeyInfo",
    "POSAuthError",
    "POSClient",
    "POSConnectionError",
    "POSError",
    "POSForbidden",
    "POSRateLimited",
    "POSServerError",
]

T = TypeVar("T")
#: Retried statuses: not 409 — a refusal or a conflict does not change by asking again.
POS_RETRY = RetryPolicy(statuses=frozenset({408, 429, 502, 503, 504}))


class POSError(O2OError):
    """The POS API could not be used. ``status`` is the HTTP status (``None``: no answer)."""

    code = "pos_error"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:  # fmt: skip
        super().__init__(message, code=code)
        self.status = status
        self.retry_after = retry_after


class POSConnectionError(POSError):
    """No answer from the server."""

    code = "pos_unreachable"


class POSAuthError(POSError):
    """401: the API key is unknown or revoked."""

    code = "unauthorized"


class POSForbidden(POSError):
    """403: the API key is not valid for that store."""

    code = "store_forbidden"


class POSRateLimited(POSError):
    """429: too many attempts; wait ``retry_after`` seconds."""

    code = "rate_limited"


class POSServerError(POSError):
    """5xx: the server failed."""

    code = "server_error"


@attrs.frozen
class KeyInfo:
    """What the server knows about the client's key."""

    key_id: str
    store_id: str
    name: str


class POSClient:
    """The POS API of one o2o web app, with one store's API key.

    :param base_url: where the app is mounted, e.g. ``https://shop.example/o2o``.
    :param api_key: the store's key (``o2o keys create --store S``).
    :param store_id: the store to act for, needed only with an admin key.
    :param retry: the retry policy (default: 2 retries on connection errors, 408, 429, 502-504).
    :param transport: an httpx transport (tests: ``httpx.MockTransport``).
    """

    def __init__(self, base_url: str, api_key: str, *, store_id: str | None = None, timeout: float = 10.0,
                 retry: RetryPolicy = POS_RETRY, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.store_id = store_id
        self.retry = retry
        self._sleep = sleep
        self._converter = make_converter()
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
        )

    def __repr__(self) -> str:  # never show the key
        return f"<POSClient {self.base_url} store={self.store_id or 'of the key'}>"

    def close(self) -> None:
        """Close connections."""
        self._http.close()

    def __enter__(self) -> POSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the API
    def me(self) -> KeyInfo:
        """The key's id and store."""
        data = self._call("GET", "/api/pos/v1/me")
        return KeyInfo(str(data["key_id"]), str(data["store_id"]), str(data["name"]))

    def validate(self, token: str, *, store_id: str | None = None, customer_id: str | None = None,
                 basket: Basket | None = None) -> Validation:  # fmt: skip
        """Dry run: the discount that would apply, or every reason it would not (``ok`` false)."""
        body = self._body(token, store_id, customer_id, basket)
        return self._as(self._call("POST", "/api/pos/v1/validate", body), Validation)

    def reserve(self, token: str, *, store_id: str | None = None, customer_id: str | None = None,
                basket: Basket | None = None, ttl_seconds: int | None = None,
                idempotency_key: str | None = None) -> Reservation:  # fmt: skip
        """Hold the voucher for a checkout; :class:`~o2o_sdk.errors.RedemptionRefused` if refused."""
        body = self._body(token, store_id, customer_id, basket)
        if ttl_seconds is not None:
            body["ttl_seconds"] = ttl_seconds
        return self._as(self._call("POST", "/api/pos/v1/reserve", body, idempotency_key or _new_key()), Reservation)

    def release(self, reservation_id: str, reason: str = "released") -> Reservation:
        """Give a hold back."""
        return self._as(self._call("POST", f"/api/pos/v1/reservations/{_segment(reservation_id)}/release",
                                   {"reason": reason}), Reservation)  # fmt: skip

    def redeem(self, token: str, *, store_id: str | None = None, customer_id: str | None = None,
               basket: Basket | None = None, reservation_id: str | None = None,
               idempotency_key: str | None = None) -> Redemption:  # fmt: skip
        """Redeem once; a retry with the same ``idempotency_key`` returns the first redemption."""
        body = self._body(token, store_id, customer_id, basket)
        if reservation_id is not None:
            body["reservation_id"] = reservation_id
        return self._as(self._call("POST", "/api/pos/v1/redeem", body, idempotency_key or _new_key()), Redemption)

    def void(self, redemption_id: str, reason: str) -> Redemption:
        """Undo a redemption (refund); caps and budget are given back."""
        return self._as(self._call("POST", f"/api/pos/v1/redemptions/{_segment(redemption_id)}/void",
                                   {"reason": reason}), Redemption)  # fmt: skip

    # ------------------------------------------------------------------ plumbing
    def _body(self, token: str, store_id: str | None, customer_id: str | None, basket: Basket | None) -> dict[str, Any]:
        body: dict[str, Any] = {"token": token}
        store = store_id or self.store_id
        if store is not None:
            body["store_id"] = store
        if customer_id is not None:
            body["customer_id"] = customer_id
        if basket is not None:
            body["basket"] = self._converter.unstructure(basket)
        return body

    def _as(self, data: Mapping[str, Any], cls: type[T]) -> T:
        return self._converter.structure(dict(data), cls)

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None,
              idempotency_key: str | None = None) -> Any:  # fmt: skip
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                error: POSError = POSConnectionError(f"Cannot reach the POS API at {self.base_url}: {type(exc).__name__}.")
                retry_after = None
            else:
                if response.status_code < 400:
                    return response.json()
                raised = _error(response)
                if not isinstance(raised, POSError) or response.status_code not in self.retry.statuses:
                    raise raised
                error, retry_after = raised, raised.retry_after
            if attempt >= self.retry.max_retries:
                raise error
            self._sleep(self.retry.delay(attempt, retry_after))
            attempt += 1


def _new_key() -> str:
    return f"pos-{secrets.token_hex(12)}"


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _error(response: httpx.Response) -> O2OError:
    status = response.status_code
    try:
        err = response.json()["error"]
        code, message = str(err["code"]), str(err["message"])
        refusals = err.get("refusals") or []
    except (ValueError, KeyError, TypeError):
        code, message, refusals = "http_error", f"The POS API answered {status}.", []
    if status == 409 and code == "redemption_refused" and refusals:
        parsed = []
        for r in refusals:
            try:
                reason = Reason(r["code"])
            except ValueError:
                reason = Reason.REFUSED_BY_RULE
            parsed.append(Refusal(reason, str(r["message"]), r.get("source")))
        return RedemptionRefused(parsed)
    if status == 409 and code == "idempotency_conflict":
        return IdempotencyConflict(message)
    if status == 404:
        return NotFound(message)
    if status in (400, 422):
        return InvalidInput(message, code=code)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    cls = {401: POSAuthError, 403: POSForbidden, 429: POSRateLimited}.get(status)
    if cls is None:
        cls = POSServerError if status >= 500 else POSError
    return cls(message, status=status, code=code, retry_after=retry_after)

"""The mountable ASGI app: customer pages, the store-locator widget, the POS API, staff pages."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import logging
import math
import secrets
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from itsdangerous import BadSignature, TimestampSigner
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..checkin import CheckinRefused
from ..errors import (
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    O2OError,
    PickupRefused,
    PluginError,
    Reason,
    RedemptionRefused,
    Refusal,
    StorageError,
    TokenError,
)
from ..models import ApiKey, Basket, BasketItem, Offer, Pickup, PickupState, Store, Voucher
from ..money import Money, parse_money
from . import _pages as pages
from ._openapi import openapi_document
from ._threads import SdkRunner
from .keys import ALL_STORES, ApiKeys
from .limits import RateLimit, RateLimiter, TokenBucketLimiter
from .logs import mask_secrets

if TYPE_CHECKING:
    from ..sdk import O2O

__all__ = ["create_app"]

log = logging.getLogger("o2o_sdk.web")

T = TypeVar("T")
CustomerResolver = Callable[[Request], "str | Awaitable[str | None] | None"]

#: Refusals that mean "this is not one of our vouchers": what a guesser sees; they cost rate.
GUESS_REASONS = frozenset({Reason.MALFORMED_TOKEN, Reason.BAD_SIGNATURE, Reason.UNKNOWN_KEY, Reason.UNKNOWN_VOUCHER})
RESERVED_PREFIXES = ("/api/", "/staff", "/static/", "/o/", "/c/", "/p/", "/u/")
MAX_BODY = 64 * 1024
MAX_IDEMPOTENCY_KEY = 200
STAFF_COOKIE = "o2o_staff"
CSRF_COOKIE = "o2o_csrf"
SESSION_COOKIE = "o2o_session"
STAFF_SESSION_S = 12 * 3600
#: Default limits: per API key, per client IP (voucher checks), per client IP (store search).
VALIDATE_LIMIT = RateLimit(burst=30, per_second=0.5)
IP_LIMIT = RateLimit(burst=60, per_second=1.0)
NEAR_LIMIT = RateLimit(burst=60, per_second=2.0)


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "refusals"?}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, *, refusals: Sequence[Refusal] = (),
                 headers: Mapping[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.refusals = tuple(refusals)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.refusals:
            err["refusals"] = [{"code": r.code.value, "message": r.message, "source": r.source} for r in self.refusals]
        return {"error": err}


def _status_of(exc: O2OError) -> ApiError:
    """The one table mapping SDK errors to HTTP (docs/web.md)."""
    if isinstance(exc, RedemptionRefused):
        return ApiError(409, "redemption_refused", exc.message, refusals=exc.refusals)
    if isinstance(exc, IdempotencyConflict):
        return ApiError(409, "idempotency_conflict", "This Idempotency-Key was already used for a different request.")
    if isinstance(exc, (CheckinRefused, PickupRefused)):
        return ApiError(409, exc.code, exc.message)
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", exc.message)
    if isinstance(exc, (InvalidInput, TokenError)):
        return ApiError(422, exc.code, exc.message)
    if isinstance(exc, StorageError):
        return ApiError(503, "storage_unavailable", "The database is unavailable; try again.")
    return ApiError(500, "internal_error", "Something went wrong on our side.")


def token_from(text: str) -> str:
    """A bare token from a token or its link ``…/o/<token>`` (query and fragment dropped)."""
    text = text.strip()
    if "/o/" in text:
        text = text.rsplit("/o/", 1)[1]
    return text.split("?", 1)[0].split("#", 1)[0].strip("/")


class _SecurityHeaders:
    """Pure ASGI middleware: a CSP nonce per response and the security headers on every response."""

    def __init__(self, app: ASGIApp, frame_ancestors: str) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope["o2o.nonce"] = nonce
        csp = (
            "default-src 'none'; script-src 'self'; "
            f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; "
            f"form-action 'self'; base-uri 'none'; frame-ancestors {self.frame_ancestors}"
        ).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for name, value in (
                    (b"content-security-policy", csp),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"permissions-policy", b"camera=(self), geolocation=(self), microphone=(), payment=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ):
                    if name not in names:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Web:
    """Settings and endpoints of one app instance (nothing is global)."""

    def __init__(self, sdk: O2O, *, shop_name: str, secret_key: bytes, theme: Mapping[str, str],
                 stylesheet: str | None, limiter: RateLimiter, validate_limit: RateLimit,
                 ip_limit: RateLimit, near_limit: RateLimit, customer_resolver: CustomerResolver | None,
                 login_url: str | None, sdk_threads: int, sdk_batch: int, cors_origins: Sequence[str]) -> None:  # fmt: skip
        self.sdk = sdk
        self.shop_name = shop_name
        self.secret = secret_key
        self.theme = dict(theme)
        self.stylesheet = stylesheet
        self.keys = ApiKeys(sdk)
        self.limiter = limiter
        self.validate_limit = validate_limit
        self.ip_limit = ip_limit
        self.near_limit = near_limit
        self.customer_resolver = customer_resolver
        self.login_url = login_url
        self.runner = SdkRunner(sdk_threads, sdk_batch)
        self.run = self.runner.run
        self.run_batched = self.runner.run_batched
        self.cors_origins = tuple(cors_origins)
        self.staff_signer = TimestampSigner(secret_key, salt="o2o-staff-session")

    # ------------------------------------------------------------------ plumbing
    def page(self, request: Request) -> pages.Page:
        return pages.Page(request.scope.get("root_path", "").rstrip("/"), request.scope.get("o2o.nonce", ""),
                          self.shop_name, self.theme, self.stylesheet)  # fmt: skip

    @staticmethod
    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @staticmethod
    def client_ip(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def html(self, text: str, status: int = 200, *, no_store: bool = False) -> HTMLResponse:
        headers = {"Cache-Control": "no-store"} if no_store else {"Cache-Control": "no-cache"}
        return HTMLResponse(text, status_code=status, headers=headers)

    def limit(self, bucket: str, limit: RateLimit, *, take: bool = True) -> None:
        wait = self.limiter.take(bucket, limit) if take else self.limiter.peek(bucket, limit)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(429, "rate_limited", f"Too many attempts; try again in {seconds} s.",
                           headers={"Retry-After": str(seconds)})  # fmt: skip

    def limit_guessing(self, key: ApiKey, ip: str, *, take: bool) -> None:
        self.limit(f"key:{key.id}", self.validate_limit, take=take)
        self.limit(f"ip:{ip}", self.ip_limit, take=take)

    def count_guess(self, key: ApiKey, ip: str, refusals: Iterable[Refusal]) -> None:
        if any(r.code in GUESS_REASONS for r in refusals):
            self.limiter.take(f"key:{key.id}", self.validate_limit)
            self.limiter.take(f"ip:{ip}", self.ip_limit)

    # --- CSRF: a random cookie, and in each form its HMAC under the app's secret
    def csrf_token(self, request: Request) -> tuple[str, str | None]:
        """``(form value, new cookie value or None)``."""
        cookie = request.cookies.get(CSRF_COOKIE)
        new = None
        if not cookie or len(cookie) > 100:
            cookie = new = secrets.token_urlsafe(32)
        return self._csrf_mac(cookie), new

    def _csrf_mac(self, cookie: str) -> str:
        return hmac.new(self.secret, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, request: Request, form_value: object) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE)
        return bool(cookie) and isinstance(form_value, str) and hmac.compare_digest(self._csrf_mac(str(cookie)), form_value)

    def set_cookie(self, request: Request, response: Response, name: str, value: str, *, path: str | None = None,
                   max_age: int | None = None) -> None:  # fmt: skip
        response.set_cookie(name, value, max_age=max_age, path=path or (self.root(request) or "/"),
                            secure=request.url.scheme == "https", httponly=True, samesite="strict")  # fmt: skip

    def with_csrf(self, request: Request, response: Response, new_cookie: str | None) -> Response:
        if new_cookie:
            self.set_cookie(request, response, CSRF_COOKIE, new_cookie)
        return response

    # --- API keys
    async def api_key(self, request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        presented = header[7:].strip() if header[:7].lower() == "bearer " else request.headers.get("x-api-key", "")
        if not presented:
            raise ApiError(401, "unauthorized", "Send the store's API key: Authorization: Bearer <key>.",
                           headers={"WWW-Authenticate": 'Bearer realm="o2o"'})  # fmt: skip
        known, key = self.keys.authenticate_cached(presented)  # no thread hop for a busy till
        if not known:
            key = await self.run(self.keys.authenticate, presented)
        if key is None:
            self.limiter.take(f"ip:{self.client_ip(request)}", self.ip_limit)
            raise ApiError(401, "unauthorized", "This API key is not valid or was revoked.",
                           headers={"WWW-Authenticate": 'Bearer realm="o2o", error="invalid_token"'})  # fmt: skip
        return key

    @staticmethod
    def store_for(key: ApiKey, requested: str | None) -> str:
        if requested is None:
            if key.store_id == ALL_STORES:
                raise ApiError(422, "invalid_input", "An admin key must name the store: give store_id.")
            return key.store_id
        if not key.allows(requested):
            raise ApiError(403, "store_forbidden", "This API key is not valid for that store.")
        return requested

    # ------------------------------------------------------------------ POS API
    async def pos_me(self, request: Request) -> Response:
        key = await self.api_key(request)
        return JSONResponse({"key_id": key.id, "store_id": key.store_id, "name": key.name})

    async def pos_validate(self, request: Request) -> Response:
        key = await self.api_key(request)
        body = await _json_object(request)
        _only(body, {"token", "store_id", "customer_id", "basket"})
        token = token_from(_string(body, "token", required=True, max_len=4096))
        store_id = self.store_for(key, _string(body, "store_id", max_len=200))
        ip = self.client_ip(request)
        self.limit_guessing(key, ip, take=True)
        result = await self.run_batched(self.sdk.offers.validate, token, store_id, customer_id=_string(body, "customer_id", max_len=200),
                                basket=_basket(body.get("basket")))  # fmt: skip
        return JSONResponse(self.sdk.converter.unstructure(result))

    async def pos_reserve(self, request: Request) -> Response:
        key = await self.api_key(request)
        body = await _json_object(request)
        _only(body, {"token", "store_id", "customer_id", "basket", "ttl_seconds"})
        token = token_from(_string(body, "token", required=True, max_len=4096))
        store_id = self.store_for(key, _string(body, "store_id", max_len=200))
        idem = _idempotency_key(request, key, required=True)
        ttl = _integer(body, "ttl_seconds", 1, 86_400)
        ip = self.client_ip(request)
        self.limit_guessing(key, ip, take=False)
        try:
            res = await self.run_batched(self.sdk.offers.reserve, token, store_id, customer_id=_string(body, "customer_id", max_len=200),
                                 basket=_basket(body.get("basket")), ttl=timedelta(seconds=ttl or 900),
                                 idempotency_key=idem)  # fmt: skip
        except RedemptionRefused as exc:
            self.count_guess(key, ip, exc.refusals)
            raise
        return JSONResponse(self.sdk.converter.unstructure(res), status_code=201)

    async def pos_release(self, request: Request) -> Response:
        key = await self.api_key(request)
        body = await _json_object(request, empty_ok=True)
        _only(body, {"reason"})
        reason = _string(body, "reason", max_len=500) or "released"
        res_id = request.path_params["reservation_id"]
        current = await self.run_batched(self.sdk.storage.get_reservation, res_id) if _could_be_id(res_id) else None
        if current is None or not key.allows(current.store_id):
            raise ApiError(404, "not_found", "Unknown reservation.")
        res = await self.run_batched(self.sdk.offers.release, res_id, reason)
        return JSONResponse(self.sdk.converter.unstructure(res))

    async def pos_redeem(self, request: Request) -> Response:
        key = await self.api_key(request)
        body = await _json_object(request)
        _only(body, {"token", "store_id", "customer_id", "basket", "reservation_id"})
        token = token_from(_string(body, "token", required=True, max_len=4096))
        store_id = self.store_for(key, _string(body, "store_id", max_len=200))
        idem = _idempotency_key(request, key, required=True)
        ip = self.client_ip(request)
        self.limit_guessing(key, ip, take=False)
        try:
            red = await self.run_batched(self.sdk.offers.redeem, token, store_id, customer_id=_string(body, "customer_id", max_len=200),
                                 basket=_basket(body.get("basket")), idempotency_key=idem,
                                 reservation_id=_string(body, "reservation_id", max_len=100))  # fmt: skip
        except RedemptionRefused as exc:
            self.count_guess(key, ip, exc.refusals)
            raise
        data = self.sdk.converter.unstructure(red)
        data["idempotency_key"] = request.headers.get("idempotency-key")
        return JSONResponse(data, status_code=201)

    async def pos_void(self, request: Request) -> Response:
        key = await self.api_key(request)
        body = await _json_object(request)
        _only(body, {"reason"})
        reason = _string(body, "reason", required=True, max_len=500)
        if not reason.strip():
            raise ApiError(422, "invalid_input", "Say why the redemption is voided.")
        red_id = request.path_params["redemption_id"]
        current = await self.run_batched(self.sdk.storage.get_redemption, red_id) if _could_be_id(red_id) else None
        if current is None or not key.allows(current.store_id):
            raise ApiError(404, "not_found", "Unknown redemption.")
        red = await self.run_batched(self.sdk.offers.void, red_id, reason)
        data = self.sdk.converter.unstructure(red)
        data["idempotency_key"] = None
        return JSONResponse(data)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document(self.root(request) or "/"))

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    # ------------------------------------------------------------------ store locator (public, CORS)
    def cors(self, request: Request, response: Response) -> Response:
        origin = request.headers.get("origin")
        if "*" in self.cors_origins:
            response.headers["Access-Control-Allow-Origin"] = "*"
        elif origin and origin in self.cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response

    async def preflight(self, request: Request) -> Response:
        response = Response(status_code=204, headers={"Access-Control-Allow-Methods": "GET, OPTIONS",
                                                      "Access-Control-Max-Age": "86400"})  # fmt: skip
        return self.cors(request, response)

    async def stores_near(self, request: Request) -> Response:
        try:
            data = await self._near(request)
        except ApiError as exc:
            return self.cors(request, JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers))
        return self.cors(request, JSONResponse(data, headers={"Cache-Control": "no-store"}))

    async def _near(self, request: Request) -> dict[str, Any]:
        q = request.query_params
        unknown = set(q.keys()) - {"lat", "lon", "q", "k", "open", "service", "sku", "offer"}
        if unknown:
            raise ApiError(422, "invalid_input", f"Unknown parameter {sorted(unknown)[0]!r}.")
        self.limit(f"near:{self.client_ip(request)}", self.near_limit)
        k = _int_param(q.get("k"), "k", 1, 20, 5)
        open_mode = q.get("open", "now")
        if open_mode not in ("now", "any"):
            raise ApiError(422, "invalid_input", "open is 'now' or 'any'.")
        services = [s for s in q.getlist("service") for s in s.split(",") if s.strip()][:10]
        skus = [s for s in q.getlist("sku") for s in s.split(",") if s.strip()][:10]
        if any(len(s) > 100 for s in services + skus):
            raise ApiError(422, "invalid_input", "A service or SKU has at most 100 characters.")
        origin: dict[str, Any] | None
        if q.get("lat") is not None or q.get("lon") is not None:
            lat, lon = _float_param(q.get("lat"), "lat", -90, 90), _float_param(q.get("lon"), "lon", -180, 180)
            origin = {"latitude": lat, "longitude": lon, "label": None}
        elif q.get("q"):
            text = q["q"].strip()[:200]
            found = await self.run(self.sdk.plugins.geocode, self.sdk, text) if text else None
            if not found:
                return {"origin": None, "stores": [], "message": "We could not find that place; try a postcode or town."}
            g = found[0]
            origin = {"latitude": g.latitude, "longitude": g.longitude, "label": g.label}
        else:
            raise ApiError(422, "invalid_input", "Give lat and lon, or q (a postcode or town).")
        offer_stores: set[str] | None = None
        if q.get("offer"):
            offer = await self.run(self.sdk.storage.get_offer, q["offer"][:200])
            if offer is None:
                raise ApiError(404, "not_found", "Unknown offer.")
            offer_stores = set(offer.stores) if offer.stores is not None else None
        matches = await self.run(self._search, origin["latitude"], origin["longitude"], k, open_mode == "now",
                                 services, skus, offer_stores)  # fmt: skip
        return {"origin": origin, "stores": matches}

    def _search(self, lat: float, lon: float, k: int, open_now: bool, services: list[str], skus: list[str],
                only: set[str] | None) -> list[dict[str, Any]]:  # fmt: skip
        want = k if only is None else max(k * 4, 20)
        while True:
            found = self.sdk.stores.near(lat, lon, k=want, open_now=open_now, services=services, skus=skus)
            kept = [m for m in found if only is None or m.store.id in only]
            if len(kept) >= k or len(found) < want:
                break
            want *= 4
        return [_match_json(m) for m in kept[:k]]

    async def widget_js(self, request: Request) -> Response:
        data = _static_bytes("widget.js")
        response = Response(data, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "public, max-age=300"})
        return self.cors(request, response)

    async def locator(self, request: Request) -> Response:
        q = request.query_params
        sku = (q.get("sku") or "")[:100] or None
        service = (q.get("service") or "")[:100] or None
        return self.html(pages.locator_page(self.page(request), sku=sku, service=service))

    async def index(self, request: Request) -> Response:
        return RedirectResponse(f"{self.root(request)}/stores", status_code=303)

    # ------------------------------------------------------------------ voucher page
    async def voucher(self, request: Request) -> Response:
        page = self.page(request)
        token = request.path_params["token"]
        found = await self.run(self._voucher, token)
        if isinstance(found, str):
            return self.html(pages.message_page(page, "Voucher", found, good=False), 404, no_store=True)
        voucher, offer, stores, expired = found
        await self.run(self.sdk.analytics.record_view, voucher.id)  # the funnel's "voucher viewed"
        qr = self.sdk.offers.qr(voucher)
        svg = qr.svg_inline(scale=6, border=4, title=f"QR code of your voucher for {offer.title}")
        svg = svg.replace("<svg ", '<svg role="img" ', 1)
        return self.html(pages.voucher_page(page, voucher, offer, stores, svg, self.sdk.offers.url(voucher),
                                            expired=expired), no_store=True)  # fmt: skip

    async def voucher_qr(self, request: Request) -> Response:
        found = await self.run(self._voucher, request.path_params["token"])
        if isinstance(found, str):
            raise HTTPException(404)
        svg = self.sdk.offers.qr(found[0]).svg_inline(scale=8, border=4)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    def _voucher(self, token: str) -> tuple[Voucher, Offer, list[Store], bool] | str:
        if len(token) > 4096:
            return "This is not a voucher of ours."
        expired = False
        try:
            claims = self.sdk.offers.verify(token)
            voucher_id = claims.voucher_id
        except TokenError as exc:
            if exc.reason is not Reason.EXPIRED:
                return "This is not a voucher of ours. Check the link, or ask the shop."
            return "This voucher has expired."
        voucher = self.sdk.storage.get_voucher(voucher_id)
        if voucher is None or not hmac.compare_digest(voucher.token, token):
            return "This voucher is not known to this shop."
        offer = self.sdk.offers.get(voucher.offer_id)
        if offer.stores is not None:
            stores = [s for s in (self.sdk.storage.get_store(sid) for sid in offer.stores) if s is not None]
        else:
            stores = self.sdk.stores.list()
        stores.sort(key=lambda s: s.name)
        return voucher, offer, stores, expired

    # ------------------------------------------------------------------ check-in
    async def customer(self, request: Request) -> tuple[str | None, str | None]:
        """``(customer_id, session_token)`` of the person visiting, if known."""
        if self.customer_resolver is not None:
            found = self.customer_resolver(request)
            if hasattr(found, "__await__"):
                found = await found  # type: ignore[misc]
            if found:
                return str(found), None
        session = request.cookies.get(SESSION_COOKIE)
        if session and len(session) < 1000:
            try:
                await self.run(self.sdk.checkins.customer_from_session, session)
            except CheckinRefused:
                return None, None
            return None, session
        return None, None

    def _code_store(self, kind: str, code: str) -> Store | None:
        from ..checkin import _codes

        purpose = _codes.CODE_PURPOSE if kind == "c" else _codes.POSTER_PURPOSE
        try:
            ref, _ = _codes.decode_store_stamp(self.sdk.signer.verify(code, purpose))
        except TokenError:
            return None
        return self.sdk.checkins._store_by_ref(ref)

    async def checkin(self, request: Request) -> Response:
        kind = request.url.path.rstrip("/").split("/")[-2]
        code = request.path_params["code"]
        page = self.page(request)
        store = await self.run(self._code_store, kind, code) if len(code) < 512 else None
        if store is None:
            return self.html(pages.message_page(page, "Check-in", "This is not a check-in code of ours.", good=False),
                             404, no_store=True)  # fmt: skip
        customer_id, session = await self.customer(request)
        signed_in = customer_id is not None or session is not None
        action = f"{self.root(request)}/{kind}/{code}"
        csrf, new_cookie = self.csrf_token(request)
        if request.method == "GET":
            login = None
            if self.login_url:
                sep = "&" if "?" in self.login_url else "?"
                login = f"{self.login_url}{sep}next={action}"
            return self.with_csrf(request, self.html(pages.checkin_page(
                page, store, action, csrf, signed_in=signed_in, login_url=login), no_store=True), new_cookie)  # fmt: skip
        form = await request.form()
        if not self.check_csrf(request, form.get("csrf")):
            return self.html(pages.message_page(page, "Check-in", "This form has expired; scan the code again.", good=False),
                             403, no_store=True)  # fmt: skip
        if not signed_in:
            return self.html(pages.message_page(page, "Check-in", "Sign in first, then scan the code again.", good=False),
                             401, no_store=True)  # fmt: skip
        method = self.sdk.checkins.with_code if kind == "c" else self.sdk.checkins.with_poster
        try:
            result = await self.run(method, code, session=session, customer_id=customer_id)
        except CheckinRefused as exc:
            return self.html(pages.message_page(page, "Check-in refused", exc.message, good=False), 409, no_store=True)
        msg = f"You are checked in at {store.name}." if result.created else f"You were already checked in at {store.name} today."
        return self.html(pages.message_page(page, "Checked in", msg, good=True), no_store=True)

    # ------------------------------------------------------------------ pickup pass
    def _pickup(self, token: str) -> Pickup | None:
        if len(token) > 1024:
            return None
        try:
            return self.sdk.pickups.verify_pass(token)
        except (TokenError, NotFound):
            return None

    async def pickup(self, request: Request) -> Response:
        """The customer's pickup pass: QR, store, hours today, deadline; POST: "I'm here"."""
        page = self.page(request)
        token = request.path_params["token"]
        pickup = await self.run(self._pickup, token)
        if pickup is None:
            return self.html(pages.message_page(page, "Pickup", "This is not a pickup pass of ours.", good=False), 404,
                             no_store=True)  # fmt: skip
        action = f"{self.root(request)}/pickup/{token}"
        csrf, new_cookie = self.csrf_token(request)
        notice = ""
        status = 200
        if request.method == "POST":
            form = await request.form()
            if not self.check_csrf(request, form.get("csrf")):
                return self.html(pages.message_page(page, "Pickup", "This form has expired; open your pass again.", good=False),
                                 403, no_store=True)  # fmt: skip
            note = form.get("note")
            try:
                pickup = await self.run(self.sdk.pickups.arrived, pickup.id, method="link",
                                        note=note if isinstance(note, str) else None)  # fmt: skip
                notice = "Thanks, the store has been told you are here."
            except PickupRefused as exc:
                notice, status = exc.message, 409
        info = await self.run(self.sdk.pickups.describe, pickup)
        svg = self.sdk.pickups.pass_qr(pickup).svg_inline(scale=6, border=4, title="QR code of your pickup pass")
        svg = svg.replace("<svg ", '<svg role="img" ', 1)
        text = pages.pickup_page(page, pickup, info, svg, action, csrf, notice=notice)
        return self.with_csrf(request, self.html(text, status, no_store=True), new_cookie)

    async def pickup_qr(self, request: Request) -> Response:
        """The pass QR as PNG (for the pickup email: mail clients show PNG, not inline SVG)."""
        import io

        pickup = await self.run(self._pickup, request.path_params["token"])
        if pickup is None:
            raise HTTPException(404)
        buffer = io.BytesIO()
        self.sdk.pickups.pass_qr(pickup).save(buffer, kind="png", scale=6, border=4)
        return Response(buffer.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------ pickups at the counter (POS API and display)
    async def pos_pickups(self, request: Request) -> Response:
        key = await self.api_key(request)
        store_id = self.store_for(key, request.query_params.get("store_id"))
        states = request.query_params.getlist("state") or None
        rows = await self.run(self.sdk.pickups.list, store_id=store_id, state=states, limit=500)
        return JSONResponse({"pickups": self.sdk.converter.unstructure(rows)})

    async def pos_pickup_step(self, request: Request) -> Response:
        key = await self.api_key(request)
        step = request.path_params["step"]
        pickup_id = request.path_params["pickup_id"]
        current = await self.run(self.sdk.pickups.tables.get, pickup_id) if _could_be_id(pickup_id) else None
        if current is None or not key.allows(current.store_id):
            raise ApiError(404, "not_found", "Unknown pickup.")
        body = await _json_object(request, empty_ok=True)
        p = self.sdk.pickups
        if step == "accept":
            _only(body, set())
            done = await self.run(p.accept, pickup_id, staff_id=key.id)
        elif step == "ready":
            _only(body, set())
            done = await self.run(p.ready, pickup_id, staff_id=key.id)
        elif step == "arrived":
            _only(body, {"note"})
            done = await self.run(p.arrived, pickup_id, method="staff", note=_string(body, "note", max_len=200))
        elif step == "cancel":
            _only(body, {"reason"})
            done = await self.run(p.cancel, pickup_id, reason=_string(body, "reason", max_len=500) or "cancelled by the store",
                                  staff_id=key.id)  # fmt: skip
        else:
            raise ApiError(404, "not_found", f"No pickup step {step!r}; use accept, ready, arrived or cancel.")
        return JSONResponse(self.sdk.converter.unstructure(done))

    async def pos_pickup_handover(self, request: Request) -> Response:
        """Staff scanned the pickup pass: hand over at this key's store."""
        key = await self.api_key(request)
        body = await _json_object(request)
        _only(body, {"pass", "store_id", "bought"})
        token = _string(body, "pass", required=True, max_len=1024)
        store_id = self.store_for(key, _string(body, "store_id", max_len=200))
        bought = body.get("bought")
        if bought is not None and not isinstance(bought, bool):
            raise ApiError(422, "invalid_input", "'bought' must be true or false.")
        self.limit_guessing(key, self.client_ip(request), take=True)
        done = await self.run(self.sdk.pickups.handover, token, store_id=store_id, staff_id=key.id, bought=bought)
        return JSONResponse(self.sdk.converter.unstructure(done))

    async def staff_store(self, request: Request, title: str) -> Store | Response:
        """The store a staff screen shows (the key's, or ``?store=`` for an admin key), or the
        response to send instead (login, a wrong or unknown store)."""
        key = await self.staff_key(request)
        if key is None:
            return RedirectResponse(f"{self.staff_path(request)}/login", status_code=303)
        store_id = key.store_id if key.store_id != ALL_STORES else request.query_params.get("store", "")
        page = self.page(request)
        if not store_id or not key.allows(store_id):
            return self.html(pages.message_page(page, title, "Open this screen with ?store=<store id>."), 422)
        try:
            return await self.run(self.sdk.stores.get, store_id)
        except NotFound:
            return self.html(pages.message_page(page, title, "Unknown store."), 404)

    async def staff_pickups(self, request: Request) -> Response:
        store = await self.staff_store(request, "Pickups")
        if isinstance(store, Response):
            return store
        page = self.page(request)
        store_id = store.id
        waiting = (PickupState.PLACED, PickupState.ACCEPTED, PickupState.READY, PickupState.ARRIVED)
        rows = await self.run(self.sdk.pickups.list, store_id=store_id, state=waiting, limit=500)
        return self.html(pages.pickups_board(page, store, rows, refresh_s=10), no_store=True)

    # ------------------------------------------------------------------ unsubscribe (RFC 8058)
    async def unsubscribe(self, request: Request) -> Response:
        page = self.page(request)
        token = request.path_params["token"]
        action = f"{self.root(request)}/u/{token}"
        if len(token) > 1024:
            return self.html(pages.message_page(page, "Unsubscribe", "This unsubscribe link is not valid.", good=False),
                             404, no_store=True)  # fmt: skip
        if request.method == "GET":  # a page with a button: mail scanners that follow links unsubscribe nobody
            return self.html(pages.unsubscribe_page(page, action, done=False), no_store=True)
        # One-click (RFC 8058): the signed token is the authority; mail providers send no cookie or CSRF token.
        try:
            await self.run(self.sdk.followups.unsubscribe, token)
        except (TokenError, NotFound):
            return self.html(pages.message_page(page, "Unsubscribe", "This unsubscribe link is not valid.", good=False),
                             404, no_store=True)  # fmt: skip
        return self.html(pages.unsubscribe_page(page, action, done=True), no_store=True)

    # ------------------------------------------------------------------ staff
    async def staff_key(self, request: Request) -> ApiKey | None:
        cookie = request.cookies.get(STAFF_COOKIE)
        if not cookie or len(cookie) > 300:
            return None
        try:
            key_id = self.staff_signer.unsign(cookie, max_age=STAFF_SESSION_S).decode()
        except (BadSignature, UnicodeDecodeError):
            return None
        return await self.run(self.keys.active, key_id)

    def staff_path(self, request: Request) -> str:
        return f"{self.root(request)}/staff"

    async def staff_login(self, request: Request) -> Response:
        page = self.page(request)
        csrf, new_cookie = self.csrf_token(request)
        if request.method == "GET":
            return self.with_csrf(request, self.html(pages.login_page(page, csrf), no_store=True), new_cookie)
        form = await request.form()
        if not self.check_csrf(request, form.get("csrf")):
            return self.with_csrf(request, self.html(pages.login_page(page, csrf, error="The form expired; try again."), 403,
                                                     no_store=True), new_cookie)  # fmt: skip
        self.limit(f"ip:{self.client_ip(request)}", self.ip_limit)
        presented = form.get("api_key")
        key = await self.run(self.keys.authenticate, presented.strip()) if isinstance(presented, str) else None
        if key is None:
            return self.with_csrf(request, self.html(pages.login_page(page, csrf, error="That key is not valid."), 401,
                                                     no_store=True), new_cookie)  # fmt: skip
        response = RedirectResponse(self.staff_path(request), status_code=303)
        self.set_cookie(request, response, STAFF_COOKIE, self.staff_signer.sign(key.id).decode(),
                        path=self.staff_path(request), max_age=STAFF_SESSION_S)  # fmt: skip
        return response

    async def staff_logout(self, request: Request) -> Response:
        form = await request.form()
        response = RedirectResponse(f"{self.staff_path(request)}/login", status_code=303)
        if self.check_csrf(request, form.get("csrf")):
            response.delete_cookie(STAFF_COOKIE, path=self.staff_path(request))
        return response

    async def staff_home(self, request: Request) -> Response:
        key = await self.staff_key(request)
        if key is None:
            return RedirectResponse(f"{self.staff_path(request)}/login", status_code=303)
        return await self._staff_render(request, key, "", None)

    async def _staff_render(self, request: Request, key: ApiKey, result: str, store_id: str | None,
                            status: int = 200) -> Response:  # fmt: skip
        csrf, new_cookie = self.csrf_token(request)
        if key.store_id == ALL_STORES:
            stores: list[Store] | None = await self.run(self.sdk.stores.list)
            label = "Admin key: choose the store."
        else:
            stores = None
            store = await self.run(self.sdk.storage.get_store, key.store_id)
            label = f"Store: {store.name if store else key.store_id}"
        text = pages.staff_page(self.page(request), csrf, store_label=label, stores=stores, selected_store=store_id,
                                result=result, idempotency_key=secrets.token_hex(16))  # fmt: skip
        return self.with_csrf(request, self.html(text, status, no_store=True), new_cookie)

    async def staff_redeem(self, request: Request) -> Response:
        key = await self.staff_key(request)
        if key is None:
            return RedirectResponse(f"{self.staff_path(request)}/login", status_code=303)
        form = await request.form()
        if not self.check_csrf(request, form.get("csrf")):
            return await self._staff_render(request, key, pages.staff_result(False, "This form expired; try again."), None, 403)
        fields = {k: v if isinstance(v, str) else "" for k, v in form.items()}
        store_id = fields.get("store_id") or None
        if key.store_id != ALL_STORES:
            store_id = key.store_id
        if store_id is None or not key.allows(store_id):
            return await self._staff_render(request, key, pages.staff_result(False, "Choose one of your stores."), None, 403)
        code = token_from(fields.get("code", ""))[:4096]
        action = fields.get("action", "redeem")
        ip = self.client_ip(request)
        try:
            basket = Basket(parse_money(fields["basket"])) if fields.get("basket", "").strip() else None
            if not code:
                raise InvalidInput("Type or scan the voucher code.")
            if action == "validate":
                self.limit_guessing(key, ip, take=True)
                v = await self.run(self.sdk.offers.validate, code, store_id, basket=basket)
                if v.ok and v.discount is not None:
                    result = pages.staff_result(True, f"Valid: {pages.discount_text(v.discount)}", "Not redeemed yet.")
                else:
                    result = pages.staff_result(False, "Not valid here", refusals=v.refusals)
            else:
                self.limit_guessing(key, ip, take=False)
                idem = (fields.get("idempotency_key") or secrets.token_hex(16))[:64]
                red = await self.run(self.sdk.offers.redeem, code, store_id, basket=basket,
                                     idempotency_key=f"{key.id}:staff:{idem}")  # fmt: skip
                result = pages.staff_result(True, f"Redeemed: {pages.discount_text(red.discount)}", f"Redemption {red.id}.")
        except RedemptionRefused as exc:
            self.count_guess(key, ip, exc.refusals)
            result = pages.staff_result(False, "Refused", refusals=exc.refusals)
        except ApiError as exc:
            result = pages.staff_result(False, exc.message)
        except O2OError as exc:
            result = pages.staff_result(False, _status_of(exc).message)
        return await self._staff_render(request, key, result, store_id)

    async def staff_display(self, request: Request) -> Response:
        store = await self.staff_store(request, "Display")
        if isinstance(store, Response):
            return store
        page = self.page(request)
        code = await self.run(self.sdk.checkins.current_code, store.id)
        svg = self.sdk.checkins.qr(code.url).svg_inline(scale=10, border=4, title=f"Check-in code of {store.name}")
        svg = svg.replace("<svg ", '<svg role="img" ', 1)
        left = (code.valid_until - self.sdk.clock.now()).total_seconds()
        refresh = max(1, min(int(self.sdk.config.checkin_code_step.total_seconds()), math.ceil(left)))
        return self.html(pages.display_page(page, store, svg, code.valid_until, refresh), no_store=True)


# --------------------------------------------------------------------------- input parsing


async def _json_object(request: Request, *, empty_ok: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip() and empty_ok:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_input", "The request body must be a JSON object.")
    return data


def _fail(message: str) -> NoReturn:
    raise ApiError(422, "invalid_input", message)


def _only(body: Mapping[str, Any], allowed: set[str]) -> None:
    extra = set(body) - allowed
    if extra:
        _fail(f"Unknown field {sorted(extra)[0]!r}.")


def _could_be_id(value: str) -> bool:
    """Whether a path's id is worth looking up: ids are short and never hold a NUL character."""
    return len(value) <= 100 and "\x00" not in value


def _string(body: Mapping[str, Any], name: str, *, required: bool = False, max_len: int) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            _fail(f"{name} is required.")
        return None
    if not isinstance(value, str) or not value or len(value) > max_len or "\x00" in value:
        _fail(f"{name} must be a string of 1 to {max_len} characters.")
    return value


def _integer(body: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        _fail(f"{name} must be an integer from {low} to {high}.")
    return value


def _money(value: Any, where: str) -> Money:
    if not isinstance(value, dict) or set(value) != {"minor", "currency"}:
        _fail(f"{where} must be {{\"minor\": integer, \"currency\": \"EUR\"}}.")
    minor, currency = value["minor"], value["currency"]
    if not isinstance(minor, int) or isinstance(minor, bool) or not 0 <= minor <= 10**15:
        _fail(f"{where}.minor must be an integer from 0 to 10^15.")
    if not isinstance(currency, str):
        _fail(f"{where}.currency must be an ISO 4217 code like EUR.")
    return Money(minor, currency)


def _basket(value: Any) -> Basket | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "total" not in value or set(value) - {"total", "items"}:
        _fail('basket must be {"total": money, "items": [...]}.')
    items_in = value.get("items") or []
    if not isinstance(items_in, list) or len(items_in) > 500:
        _fail("basket.items must be a list of at most 500 items.")
    items = []
    for i, item in enumerate(items_in):
        if not isinstance(item, dict) or set(item) != {"sku", "quantity", "unit_price"}:
            _fail(f"basket.items[{i}] needs sku, quantity and unit_price.")
        sku, qty = item["sku"], item["quantity"]
        if not isinstance(sku, str) or not 0 < len(sku) <= 100:
            _fail(f"basket.items[{i}].sku must be a string of 1 to 100 characters.")
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= 100_000:
            _fail(f"basket.items[{i}].quantity must be an integer from 1 to 100000.")
        items.append(BasketItem(sku, qty, _money(item["unit_price"], f"basket.items[{i}].unit_price")))
    return Basket(_money(value["total"], "basket.total"), tuple(items))


def _idempotency_key(request: Request, key: ApiKey, *, required: bool) -> str | None:
    value = request.headers.get("idempotency-key")
    if value is None:
        if required:
            raise ApiError(400, "idempotency_key_required", "Send an Idempotency-Key header (one per POS transaction).")
        return None
    if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY or not value.isprintable():
        raise ApiError(400, "invalid_idempotency_key", f"An Idempotency-Key has 1 to {MAX_IDEMPOTENCY_KEY} printable characters.")
    # Scoped by API key: two POS systems choosing the same key never see each other's results.
    return f"{key.id}:{value}"


def _int_param(text: str | None, name: str, low: int, high: int, default: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        _fail(f"{name} must be an integer from {low} to {high}.")
    if not low <= value <= high:
        _fail(f"{name} must be an integer from {low} to {high}.")
    return value


def _float_param(text: str | None, name: str, low: float, high: float) -> float:
    try:
        value = float(text) if text is not None and len(text) < 40 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        _fail(f"{name} must be a number from {low:g} to {high:g}.")
    return value


def _match_json(m: Any) -> dict[str, Any]:
    data: dict[str, Any] = m.to_dict()
    change = m.next_change
    if m.is_open is None:
        data["status_text"] = "Hours unknown"
    elif m.is_open:
        data["status_text"] = f"Open · closes {change:%H:%M}" if change else "Open"
    else:
        data["status_text"] = f"Closed · opens {change:%a %H:%M}" if change else "Closed"
    hours = m.store.hours
    data["hours"] = hours.to_dict() if hours is not None else None
    return data


def _static_bytes(name: str) -> bytes:
    from importlib.resources import files

    return (files("o2o_sdk.web") / "static" / name).read_bytes()


# --------------------------------------------------------------------------- the factory


def create_app(
    sdk: O2O,
    *,
    shop_name: str = "Shop",
    secret_key: str | bytes | None = None,
    theme: Mapping[str, str] | None = None,
    stylesheet: str | None = None,
    limiter: RateLimiter | None = None,
    validate_limit: RateLimit = VALIDATE_LIMIT,
    ip_limit: RateLimit = IP_LIMIT,
    near_limit: RateLimit = NEAR_LIMIT,
    customer_resolver: CustomerResolver | None = None,
    login_url: str | None = None,
    frame_ancestors: Sequence[str] = ("'self'",),
    cors_origins: Sequence[str] = ("*",),
    sdk_threads: int | None = None,
    sdk_batch: int = 16,
    debug: bool = False,
) -> Starlette:
    """The o2o web app for ``sdk``: an ASGI app to mount under any prefix (see docs/web.md).

    :param shop_name: shown in page headers and titles.
    :param secret_key: signs staff sessions and CSRF tokens; default: a random secret kept in
        the database (shared by every process on it).
    :param theme: CSS variables without the ``--o2o-`` prefix, e.g. ``{"accent": "#0b6e4f"}``.
    :param stylesheet: URL of an extra stylesheet (the shop's own look).
    :param limiter: rate limiter for voucher checks (default: in memory, per app instance;
        multi-process deployments pass a shared one, see :mod:`o2o_sdk.web.limits`).
    :param validate_limit: per API key: validations, and failed guesses on reserve/redeem.
    :param ip_limit: the same, per client IP (all keys together).
    :param near_limit: store-locator queries per client IP.
    :param customer_resolver: ``(request) -> customer id | None`` (may be async): who is signed
        in on the shop, for check-in. Default: the ``o2o_session`` cookie holding
        ``sdk.checkins.session_token(customer_id)``.
    :param login_url: where the check-in page sends customers who are not signed in.
    :param frame_ancestors: CSP ``frame-ancestors`` sources (``"'none'"`` forbids framing).
    :param cors_origins: origins that may call the store-locator API from a browser (``"*"``).
    :param sdk_threads: worker threads for SDK calls; 0 runs them on the event loop. Default: 0 on
        SQLite (one writer, calls of a few hundred µs: a thread hop costs more than it gains),
        3 otherwise (enough to overlap database round trips; more threads only contend for the
        GIL). See docs/web.md, "Threads and performance".
    :param sdk_batch: with worker threads, POS API calls that arrive while every thread is busy
        go to the next free one together, up to this many per hand-off (they run one after
        another there); 1 hands each call over on its own.
    """
    for k, v in (theme or {}).items():
        if not all(c.isalnum() or c == "-" for c in k) or any(c in v for c in ";{}<>\\\"'"):
            raise InvalidInput(f"Theme variable {k!r}: use a name like 'accent' and a plain CSS value.")
    if secret_key is None:
        secret = sdk.storage.set_meta_if_absent("web_secret", secrets.token_hex(32)).encode()
    else:
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    if len(secret) < 16:
        raise InvalidInput("The web secret key needs at least 16 bytes.")
    # Measured on 2 cores (docs/benchmarks.md, Web): on SQLite, calls on the event loop serve
    # twice the requests of one SDK thread; on PostgreSQL 2 to 4 threads with batched POS calls do
    # about equally well.
    threads = sdk_threads if sdk_threads is not None else (0 if sdk.storage.dialect_name == "sqlite" else 3)
    if threads < 0 or sdk_batch < 1:
        raise InvalidInput("sdk_threads must be 0 or more, and sdk_batch 1 or more.")
    web = _Web(sdk, shop_name=shop_name, secret_key=secret, theme=theme or {}, stylesheet=stylesheet,
               limiter=limiter or TokenBucketLimiter(), validate_limit=validate_limit, ip_limit=ip_limit,
               near_limit=near_limit, customer_resolver=customer_resolver, login_url=login_url,
               sdk_threads=threads, sdk_batch=sdk_batch, cors_origins=cors_origins)  # fmt: skip
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if _is_api(request):
            return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
        page = web.page(request)
        return web.html(pages.message_page(page, "Sorry", exc.message, good=False), exc.status)

    async def sdk_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, O2OError)
        return await api_error(request, _status_of(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status_code, "http_error")
        message = {404: "Nothing here.", 405: "Method not allowed.", 413: "The request body is too large."}.get(
            exc.status_code, str(exc.detail))
        return await api_error(request, ApiError(exc.status_code, code, message, headers=exc.headers))

    async def unexpected(request: Request, exc: Exception) -> Response:
        # Tokens may sit in the path or an exception's text: mask before logging.
        log.error("unhandled error on %s %s:\n%s", request.method, mask_secrets(request.url.path),
                  mask_secrets("".join(traceback.format_exception(exc))))  # fmt: skip
        return await api_error(request, ApiError(500, "internal_error", "Something went wrong on our side."))

    def guard(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """Every endpoint answers errors itself, so nothing reaches the server's error log unmasked."""

        async def guarded(request: Request) -> Response:
            try:
                return await endpoint(request)
            except ApiError as exc:
                return await api_error(request, exc)
            except O2OError as exc:
                return await api_error(request, _status_of(exc))
            except HTTPException:
                raise
            except Exception as exc:
                return await unexpected(request, exc)

        return guarded

    routes: list[BaseRoute] = [
        # The POS API first, its busiest calls at the top: routes are matched in order, and a
        # busy till should not wait for it.
        Route("/api/pos/v1/redeem", guard(web.pos_redeem), methods=["POST"]),
        Route("/api/pos/v1/validate", guard(web.pos_validate), methods=["POST"]),
        Route("/api/openapi.json", guard(web.openapi), methods=["GET"]),
        Route("/api/stores/near", guard(web.stores_near), methods=["GET"]),
        Route("/api/stores/near", guard(web.preflight), methods=["OPTIONS"]),
        Route("/api/pos/v1/me", guard(web.pos_me), methods=["GET"]),
        Route("/api/pos/v1/reserve", guard(web.pos_reserve), methods=["POST"]),
        Route("/api/pos/v1/reservations/{reservation_id}/release", guard(web.pos_release), methods=["POST"]),
        Route("/api/pos/v1/redemptions/{redemption_id}/void", guard(web.pos_void), methods=["POST"]),
        Route("/", guard(web.index), methods=["GET"]),
        Route("/healthz", guard(web.health), methods=["GET"]),
        Route("/stores", guard(web.locator), methods=["GET"]),
        Route("/widget.js", guard(web.widget_js), methods=["GET"]),
        Route("/o/{token}", guard(web.voucher), methods=["GET"]),
        Route("/o/{token}/qr.svg", guard(web.voucher_qr), methods=["GET"]),
        Route("/c/{code}", guard(web.checkin), methods=["GET", "POST"]),
        Route("/p/{code}", guard(web.checkin), methods=["GET", "POST"]),
        Route("/u/{token}", guard(web.unsubscribe), methods=["GET", "POST"]),
        Route("/staff", guard(web.staff_home), methods=["GET"]),
        Route("/staff/login", guard(web.staff_login), methods=["GET", "POST"]),
        Route("/staff/logout", guard(web.staff_logout), methods=["POST"]),
        Route("/staff/redeem", guard(web.staff_redeem), methods=["POST"]),
        Route("/staff/display", guard(web.staff_display), methods=["GET"]),
        Route("/staff/pickups", guard(web.staff_pickups), methods=["GET"]),
        Route("/pickup/{token}", guard(web.pickup), methods=["GET", "POST"]),
        Route("/pickup/{token}/qr.png", guard(web.pickup_qr), methods=["GET"]),
        Route("/api/pos/v1/pickups", guard(web.pos_pickups), methods=["GET"]),
        Route("/api/pos/v1/pickups/handover", guard(web.pos_pickup_handover), methods=["POST"]),
        Route("/api/pos/v1/pickups/{pickup_id}/{step}", guard(web.pos_pickup_step), methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("o2o_sdk.web", "static")]), name="static"),
    ]
    taken = {(r.path, m) for r in routes if isinstance(r, Route) for m in (r.methods or ())}

    def register(path: str, endpoint: Callable[..., Any], methods: Sequence[str] | None = None, name: str | None = None) -> None:
        if not isinstance(path, str) or not path.startswith("/") or path.startswith(RESERVED_PREFIXES) or path == "/":
            raise PluginError(f"A plugin cannot add the route {path!r}: use a path of its own, e.g. /webhooks/<name>.")
        wanted = [m.upper() for m in (methods or ["GET"])]
        if any((path, m) in taken for m in wanted):
            raise PluginError(f"A plugin tried to add the route {' '.join(wanted)} {path}, which is taken.")
        taken.update((path, m) for m in wanted)
        if inspect.iscoroutinefunction(endpoint):
            handler = endpoint
        else:  # a plain function runs in the SDK's worker threads

            async def handler(request: Request, _sync: Callable[..., Any] = endpoint) -> Any:
                return await web.run(_sync, request)

        routes.append(Route(path, guard(handler), methods=wanted, name=name))

    sdk.plugins.register_routes(sdk, register)

    app = Starlette(
        debug=debug,
        routes=routes,
        exception_handlers={HTTPException: http_error},
        max_body_size=MAX_BODY,
    )
    fa = " ".join(frame_ancestors) or "'none'"
    app.add_middleware(_SecurityHeaders, frame_ancestors=fa)
    app.state.o2o = web
    return app


def _is_api(request: Request) -> bool:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    path = request.url.path
    return path.startswith(f"{root}/api/") or path.startswith("/api/")

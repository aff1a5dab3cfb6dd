"""A fake WooCommerce REST API v3 for respx, checking every request and answer against the specs.

- Every request's route and method must exist in ``shared/specs/woocommerce/wc-v3-routes.json``
  (the ``GET /wp-json/wc/v3`` index) or in the OpenAPI document; its query parameters must be
  arguments of that endpoint (with the declared type and enum), and JSON bodies must validate
  against the OpenAPI request schema with no property the spec does not list.
- Every answer the fake gives (and every fixture payload) validates against the OpenAPI component
  schema (``shop_coupon``, ``customer``, ``shop_order``, ``order_note``, ``webhook``), relaxed
  where real responses differ from this community-written spec: any value may be ``null`` (the
  spec has no ``nullable``), ``meta_data[].value`` may be any JSON, ``line_items[].product_id`` is
  an integer and ``shop_order.version`` a string.
- Credentials are checked like WooCommerce does: Basic over https; over http, OAuth 1.0a with an
  HMAC-SHA256 signature verified by an implementation independent of the adapter's (WooCommerce's
  algorithm: sort by decoded name, encode each pair, join with ``%26``), a 15-minute timestamp
  window and single-use nonces.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
SPECS = ROOT.parent / "shared" / "specs" / "woocommerce"
OPENAPI_FILE = SPECS / "woocommerce-openapi-3.0.x.yml"
ROUTES_FILE = SPECS / "wc-v3-routes.json"

SITE = "https://shop.example"
PLAIN_SITE = "http://plain.example"
API = "/wp-json/wc/v3"
CONSUMER_KEY = "ck_0123456789abcdef0123456789abcdef01234567"
CONSUMER_SECRET = "cs_fedcba9876543210fedcba9876543210fedcba98"
WEBHOOK_SECRET = "whsec-newest-0123456789"
OLD_WEBHOOK_SECRET = "whsec-older-0123456789"
NOW = 1_781_524_800  # 2026-06-15T12:00:00Z, the o2o_clock's default instant


def require_specs() -> None:
    """Skip (fail in CI) when ``shared/specs`` is not beside this clone."""
    if not (OPENAPI_FILE.exists() and ROUTES_FILE.exists()):
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but the WooCommerce specs are missing at {SPECS}")
        pytest.skip(f"WooCommerce specs not found at {SPECS} (shared/specs is not beside this clone)")


@functools.cache
def openapi() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


@functools.cache
def routes() -> dict[str, Any]:
    return json.loads(ROUTES_FILE.read_text(encoding="utf-8"))["routes"]


# --------------------------------------------------------------------------- schemas


def _relax(schema: Any, name: str | None = None) -> Any:
    """A copy of an OpenAPI schema as real answers are: nulls allowed, known deviations fixed."""
    if isinstance(schema, list):
        return [_relax(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _relax(v) if k not in ("properties",) else v for k, v in schema.items()}
    if "properties" in schema:
        props = {}
        for key, sub in schema["properties"].items():
            if key == "value" and set(schema["properties"]) >= {"id", "key", "value"}:
                props[key] = {}  # meta_data values are any JSON (strings, objects, arrays)
            elif key == "product_id":
                props[key] = {
                    "type": ["integer", "string", "null"]
                }  # the spec says string; WooCommerce sends an integer
            else:
                props[key] = _relax(sub, key)
        out["properties"] = props
    t = out.get("type")
    if isinstance(t, str):
        out["type"] = [t, "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def _validator(name: str) -> Any:
    import jsonschema

    schema = _relax(copy.deepcopy(openapi()["components"]["schemas"][name]))
    if name == "shop_order":
        schema["properties"]["version"] = {"type": ["string", "integer", "null"]}  # "9.1.0" in real answers
    return jsonschema.Draft7Validator(schema)


def schema_errors(name: str, instance: Any) -> list[str]:
    """Errors of ``instance`` against component schema ``name`` (relaxed as real answers are)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(name).iter_errors(instance)]


def _strict(schema: Any) -> Any:
    """A request schema that refuses properties it does not list (what we send must exist)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if out.get("type") == "object" and "properties" in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    return schema


def request_body_errors(path: str, method: str, body: Any) -> list[str]:
    """Errors of a JSON request body against the OpenAPI request schema of ``method path``."""
    import jsonschema

    operation = openapi()["paths"][path][method.lower()]
    schema = _strict(operation["requestBody"]["content"]["application/json"]["schema"])
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(body)
    ]


def find_route(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """``(route, endpoint)`` of the route index serving ``method`` on ``path`` (``/wc/v3/...``)."""
    for route, spec in routes().items():
        if re.fullmatch(route, path):
            for endpoint in spec["endpoints"]:
                if method.upper() in endpoint["methods"]:
                    return route, endpoint
    return None


def openapi_path(path: str) -> str | None:
    """The OpenAPI path template matching a concrete API path (``/orders/5/notes``)."""
    for template in openapi()["paths"]:
        if re.fullmatch(re.sub(r"\{[^}]+\}", r"[^/]+", template), path):
            return template
    return None


_AUTH_PARAMS = {"oauth_consumer_key", "oauth_nonce", "oauth_signature", "oauth_signature_method", "oauth_timestamp",
                "consumer_key", "consumer_secret"}  # fmt: skip


def query_errors(method: str, api_path: str, params: list[tuple[str, str]]) -> list[str]:
    """Errors of query parameters against the endpoint's arguments, as declared by the route index
    or the OpenAPI document (the index is older: ``dates_are_gmt`` is only in the latter)."""
    found = find_route(method, f"/wc/v3{api_path}")
    template = openapi_path(api_path)
    operation = openapi()["paths"][template].get(method.lower()) if template is not None else None
    if found is None and operation is None:
        return [f"{method} {api_path} is neither in the route index nor in the OpenAPI document"]
    args: dict[str, Any] = {p["name"]: p.get("schema", {}) for p in (operation or {}).get("parameters", [])
                            if p.get("in") == "query"}  # fmt: skip
    args.update(found[1]["args"] if found is not None else {})
    errors = []
    for key, value in params:
        if key in _AUTH_PARAMS:
            continue
        arg = args.get(key)
        if arg is None:
            errors.append(f"{key} is not an argument of {method} {api_path}")
            continue
        kind = arg.get("type")
        if kind == "integer" and not value.isdigit():
            errors.append(f"{key}={value!r} is not an integer")
        if kind == "boolean" and value not in ("true", "false", "1", "0"):
            errors.append(f"{key}={value!r} is not a boolean")
        if arg.get("enum") and value not in arg["enum"]:
            errors.append(f"{key}={value!r} is not one of {arg['enum']}")
    return errors


# --------------------------------------------------------------------------- OAuth 1.0a, WooCommerce's way


def _rawurlencode(text: str) -> str:
    """PHP's ``rawurlencode``, byte by byte."""
    keep = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode("utf-8"))


def woocommerce_oauth_signature(method: str, url: str, params: dict[str, str], consumer_secret: str) -> str:
    """The signature WooCommerce expects (``check_oauth_signature``), written as its PHP is:
    sort by decoded name, encode names and values, encode each ``name=value`` again, join with ``%26``."""
    parts = urlsplit(url)
    base_uri = _rawurlencode(f"{parts.scheme}://{parts.netloc}{parts.path}")
    ordered = sorted((k, v) for k, v in params.items() if k != "oauth_signature")
    pairs = [_rawurlencode(f"{_rawurlencode(k)}={_rawurlencode(v)}") for k, v in ordered]
    to_sign = f"{method.upper()}&{base_uri}&{'%26'.join(pairs)}"
    digest = hmac.new(f"{consumer_secret}&".encode(), to_sign.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# --------------------------------------------------------------------------- payloads


def meta(key: str, value: Any, n: int = 1) -> dict[str, Any]:
    return {"id": 100 + n, "key": key, "value": value}


def line_item(n: int = 1, *, sku: str = "MUG-BLUE", name: str = "Blue mug", quantity: int = 2, unit: str = "12.50",
              product_id: int = 31, variation_id: int = 0) -> dict[str, Any]:  # fmt: skip
    subtotal = f"{float(unit) * quantity:.2f}"
    return {
        "id": 400 + n, "name": name, "product_id": product_id, "variation_id": variation_id, "quantity": quantity,
        "tax_class": "", "subtotal": subtotal, "subtotal_tax": "0.00", "total": subtotal, "total_tax": "0.00",
        "taxes": [], "meta_data": [], "sku": sku, "price": float(unit), "image": {"id": "", "src": ""}, "parent_name": None,
    }  # fmt: skip


def pickup_location_line(name: str = "Soho shop", address: str = "1 Soho Square, London W1D 3QP") -> dict[str, Any]:
    """A WooCommerce Blocks local pickup shipping line."""
    return {"id": 77, "method_title": "Pickup", "method_id": "pickup_location", "instance_id": "0", "total": "0.00",
            "total_tax": "0.00", "taxes": [],
            "meta_data": [meta("pickup_location", name, 7), meta("pickup_address", address, 8),
                          meta("pickup_details", "Ask at the till", 9)]}  # fmt: skip


def local_pickup_line(instance_id: str = "3") -> dict[str, Any]:
    """The classic ``local_pickup`` shipping method's line."""
    return {"id": 78, "method_title": "Local pickup", "method_id": "local_pickup", "instance_id": instance_id,
            "total": "0.00", "total_tax": "0.00", "taxes": [], "meta_data": [meta("Items", "Blue mug &times; 2", 10)]}  # fmt: skip


def flat_rate_line() -> dict[str, Any]:
    return {"id": 79, "method_title": "Flat rate", "method_id": "flat_rate", "instance_id": "1", "total": "4.90",
            "total_tax": "0.00", "taxes": [], "meta_data": []}  # fmt: skip


def order_payload(order_id: int = 1001, *, status: str = "processing", created_via: str = "checkout",
                  codes: tuple[str, ...] = (), total: str = "29.90", currency: str = "EUR",
                  email: str | None = "buyer@example.com", customer_id: int = 7,
                  meta_data: list[dict[str, Any]] | None = None, shipping_lines: list[dict[str, Any]] | None = None,
                  line_items: list[dict[str, Any]] | None = None, customer_note: str = "",
                  date_created_gmt: str = "2026-06-15T11:05:00") -> dict[str, Any]:  # fmt: skip
    """An order as the REST API (and so a webhook) returns it."""
    return {
        "id": order_id, "parent_id": 0, "status": status, "currency": currency, "version": "9.1.0",
        "prices_include_tax": False, "date_created": "2026-06-15T13:05:00", "date_modified": "2026-06-15T13:05:01",
        "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "4.90", "shipping_tax": "0.00",
        "cart_tax": "0.00", "total": total, "total_tax": "0.00", "customer_id": customer_id,
        "order_key": f"wc_order_{order_id}abc", "number": str(order_id),
        "billing": {"first_name": "Ada", "last_name": "Byron", "company": "", "address_1": "1 Main St", "address_2": "",
                    "city": "London", "state": "", "postcode": "W1D 3QP", "country": "GB", "email": email,
                    "phone": ""},
        "shipping": {"first_name": "Ada", "last_name": "Byron", "company": "", "address_1": "1 Main St", "address_2": "",
                     "city": "London", "state": "", "postcode": "W1D 3QP", "country": "GB", "phone": ""},
        "payment_method": "stripe", "payment_method_title": "Card", "transaction_id": "pi_123",
        "customer_ip_address": "203.0.113.9", "customer_user_agent": "Mozilla/5.0", "created_via": created_via,
        "customer_note": customer_note, "date_completed": None, "date_paid": "2026-06-15T13:05:01", "cart_hash": "abc",
        "meta_data": meta_data if meta_data is not None else [meta("_wc_order_attribution_source_type", "typein")],
        "line_items": line_items if line_items is not None else [line_item()],
        "tax_lines": [], "shipping_lines": shipping_lines if shipping_lines is not None else [flat_rate_line()],
        "fee_lines": [],
        "coupon_lines": [{"id": 500 + i, "code": c, "discount": "2.00", "discount_tax": "0.00", "meta_data": []}
                         for i, c in enumerate(codes)],
        "refunds": [], "payment_url": "", "is_editable": False, "needs_payment": False, "needs_processing": True,
        "date_created_gmt": date_created_gmt, "date_modified_gmt": "2026-06-15T11:05:01", "date_completed_gmt": None,
        "date_paid_gmt": "2026-06-15T11:05:01", "currency_symbol": "€",
        "_links": {"self": [{"href": f"{SITE}{API}/orders/{order_id}"}], "collection": [{"href": f"{SITE}{API}/orders"}]},
    }  # fmt: skip


def delivery(payload: Any, *, delivery_id: str | None = "dlv-1", topic: str = "order.created",
             secret: str = WEBHOOK_SECRET, raw: bytes | None = None, signed: bool = True) -> Any:  # fmt: skip
    """A webhook delivery as WooCommerce sends it."""
    from o2o_woocommerce import sign

    from o2o_sdk import WebhookRequest

    body = raw if raw is not None else json.dumps(payload).encode()
    resource, _, event = topic.partition(".")
    headers = {"Content-Type": "application/json", "User-Agent": "WooCommerce/9.1.0 Hookshot (WordPress/6.6.1)",
               "X-WC-Webhook-Source": f"{SITE}/", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource,
               "X-WC-Webhook-Event": event, "X-WC-Webhook-ID": "12",
               "X-WC-Webhook-Signature": sign(body, secret if signed else "not-the-secret")}  # fmt: skip
    if delivery_id is not None:
        headers["X-WC-Webhook-Delivery-ID"] = delivery_id
    return WebhookRequest(body, headers, f"{SITE}/webhooks/woocommerce")


def ping(webhook_id: int = 12) -> Any:
    """The unsigned test delivery WooCommerce sends when a webhook is saved."""
    from o2o_sdk import WebhookRequest

    return WebhookRequest(f"webhook_id={webhook_id}".encode(),
                          {"User-Agent": "WooCommerce/9.1.0 Hookshot (WordPress/6.6.1)",
                           "Content-Type": "application/x-www-form-urlencoded"}, f"{SITE}/webhooks/woocommerce")  # fmt: skip


def error(status: int, code: str, message: str) -> httpx.Response:
    """WooCommerce's error body."""
    return httpx.Response(status, json={"code": code, "message": message, "data": {"status": status}})


# --------------------------------------------------------------------------- the fake site


class FakeWooCommerce:
    """One fake site. ``answers`` queues raw responses (or callables) served before normal handling."""

    def __init__(self, site: str = SITE, *, auth: str = "basic") -> None:
        require_specs()
        self.site = site
        self.auth = auth
        self.now = NOW
        self.currency = "EUR"
        self.coupons: dict[int, dict[str, Any]] = {}
        self.usage = 4
        self.customers: list[dict[str, Any]] = [self._customer(77, "Ada@Example.com", "Ada", "Byron")]
        self.orders: list[dict[str, Any]] = []
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.products = [{"id": 31, "name": "Blue mug", "sku": "MUG-BLUE", "price": "12.50", "type": "simple"}]
        self.webhooks: list[dict[str, Any]] = []
        self.nonces: set[str] = set()
        self.answers: list[Callable[[httpx.Request], httpx.Response] | httpx.Response] = []
        self.requests: list[httpx.Request] = []
        self._next = 900

    # --- respx side effect
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        assert path.startswith(API), f"not a REST API v3 call: {path}"
        api_path = path[len(API) :]
        params = list(request.url.params.multi_items())
        errors = query_errors(request.method, api_path, params)
        assert errors == [], f"{request.method} {api_path}: {errors}"
        denied = self._check_auth(request, dict(params))
        if denied is not None:
            return denied
        body = json.loads(request.content) if request.content else None
        if body is not None:
            template = openapi_path(api_path)
            assert template is not None
            assert request_body_errors(template, request.method, body) == [], request_body_errors(
                template, request.method, body
            )
            found = find_route(request.method, f"/wc/v3{api_path}")
            assert found is not None
            unknown = set(body) - set(found[1]["args"])
            assert not unknown, f"arguments {unknown} are not accepted by {request.method} {api_path}"
        if self.answers:
            answer = self.answers.pop(0)
            return answer(request) if callable(answer) else answer
        return self._route(request.method, api_path, dict(params), body)

    def _check_auth(self, request: httpx.Request, params: dict[str, str]) -> httpx.Response | None:
        if self.auth == "basic":
            expected = "Basic " + base64.b64encode(f"{CONSUMER_KEY}:{CONSUMER_SECRET}".encode()).decode()
            if request.headers.get("authorization") != expected:
                return error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
            return None
        if self.auth == "query":
            if (params.get("consumer_key"), params.get("consumer_secret")) != (CONSUMER_KEY, CONSUMER_SECRET):
                return error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
            return None
        assert "authorization" not in request.headers, "OAuth credentials travel in the query string"
        if params.get("oauth_consumer_key") != CONSUMER_KEY or params.get("oauth_signature_method") != "HMAC-SHA256":
            return error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        url = f"{request.url.scheme}://{request.url.netloc.decode()}{request.url.path}"
        if not hmac.compare_digest(woocommerce_oauth_signature(request.method, url, params, CONSUMER_SECRET),
                                   params.get("oauth_signature", "")):  # fmt: skip
            return error(
                401, "woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match."
            )
        if abs(int(params.get("oauth_timestamp", "0")) - self.now) > 15 * 60:
            return error(401, "woocommerce_rest_authentication_error", "Invalid timestamp.")
        nonce = params.get("oauth_nonce", "")
        if nonce in self.nonces:
            return error(401, "woocommerce_rest_authentication_error", "Invalid nonce - nonce has already been used.")
        self.nonces.add(nonce)
        return None

    # --- answers
    def _reply(
        self, schema: str | None, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        if schema is not None:
            for item in data if isinstance(data, list) else [data]:
                assert schema_errors(schema, item) == [], (
                    f"the fake answers an invalid {schema}: {schema_errors(schema, item)}"
                )
        return httpx.Response(status, json=data, headers=headers)

    def _id(self) -> int:
        self._next += 1
        return self._next

    @staticmethod
    def _customer(cid: int, email: str, first: str, last: str) -> dict[str, Any]:
        return {"id": cid, "date_created": "2026-01-02T10:00:00", "date_created_gmt": "2026-01-02T10:00:00",
                "date_modified": None, "date_modified_gmt": None, "email": email, "first_name": first, "last_name": last,
                "role": "customer", "username": first.lower(), "billing": {"email": email}, "shipping": {},
                "is_paying_customer": True, "avatar_url": "https://secure.gravatar.com/avatar/x", "meta_data": []}  # fmt: skip

    def _coupon(self, body: dict[str, Any]) -> dict[str, Any]:
        cid = self._id()
        coupon = {
            "id": cid, "code": str(body["code"]).lower(), "amount": f"{float(body.get('amount') or 0):.2f}",
            "date_created": "2026-06-15T13:00:00", "date_created_gmt": "2026-06-15T12:00:00",
            "date_modified": "2026-06-15T13:00:00", "date_modified_gmt": "2026-06-15T12:00:00",
            "discount_type": body.get("discount_type", "fixed_cart"), "description": body.get("description", ""),
            "date_expires": body.get("date_expires"), "date_expires_gmt": body.get("date_expires_gmt"),
            "usage_count": 0, "individual_use": body.get("individual_use", False),
            "product_ids": body.get("product_ids", []), "excluded_product_ids": [],
            "usage_limit": body.get("usage_limit"), "usage_limit_per_user": body.get("usage_limit_per_user"),
            "limit_usage_to_x_items": body.get("limit_usage_to_x_items"), "free_shipping": False,
            "product_categories": [], "excluded_product_categories": [], "exclude_sale_items": False,
            "minimum_amount": body.get("minimum_amount", "0.00"), "maximum_amount": "0.00",
            "email_restrictions": body.get("email_restrictions", []), "used_by": [],
            "meta_data": [{"id": 600 + i, **m} for i, m in enumerate(body.get("meta_data", []))],
        }  # fmt: skip
        self.coupons[cid] = coupon
        return coupon

    def _route(self, method: str, path: str, params: dict[str, str], body: Any) -> httpx.Response:
        if (method, path) == ("GET", "/coupons"):
            wanted = params.get("code", "").lower()
            found = [dict(c, usage_count=self.usage) for c in self.coupons.values() if c["code"] == wanted]
            return self._reply("shop_coupon", found)
        if (method, path) == ("POST", "/coupons"):
            if any(c["code"] == str(body["code"]).lower() for c in self.coupons.values()):
                return error(
                    400, "woocommerce_rest_coupon_code_already_exists", f"The coupon code {body['code']} already exists"
                )
            return self._reply("shop_coupon", self._coupon(body), 201)
        if m := re.fullmatch(r"/coupons/(\d+)", path):
            coupon = self.coupons.get(int(m.group(1)))
            if coupon is None:
                return error(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
            return self._reply("shop_coupon", dict(coupon, usage_count=self.usage))
        if (method, path) == ("GET", "/customers"):
            email = params.get("email", "").lower()
            return self._reply("customer", [c for c in self.customers if c["email"].lower() == email])
        if (method, path) == ("GET", "/orders"):
            page, size = int(params.get("page", "1")), int(params.get("per_page", "10"))
            assert 1 <= size <= 100, f"per_page {size} is outside WooCommerce's 1..100"
            total_pages = max(1, -(-len(self.orders) // size))
            chunk = self.orders[(page - 1) * size : page * size]
            return self._reply(
                "shop_order", chunk, headers={"X-WP-Total": str(len(self.orders)), "X-WP-TotalPages": str(total_pages)}
            )
        if m := re.fullmatch(r"/orders/(\d+)", path):
            order = next((o for o in self.orders if o["id"] == int(m.group(1))), None)
            if order is None:
                return error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            if method == "PUT":
                order.update(body)
            return self._reply("shop_order", order)
        if m := re.fullmatch(r"/orders/(\d+)/notes", path):
            notes = self.notes.setdefault(int(m.group(1)), [])
            if method == "GET":
                return self._reply("order_note", list(notes))
            note = {"id": self._id(), "author": "system", "date_created": "2026-06-15T13:10:00",
                    "date_created_gmt": "2026-06-15T12:10:00", "note": body["note"],
                    "customer_note": bool(body.get("customer_note", False))}  # fmt: skip
            notes.append(note)
            return self._reply("order_note", note, 201)
        if (method, path) == ("GET", "/data/currencies/current"):
            return self._reply("data_currencies", {"code": self.currency, "name": "Euro", "symbol": "&euro;"})
        if (method, path) == ("GET", "/products"):
            return httpx.Response(200, json=[p for p in self.products if p["sku"] == params.get("sku")])
        if (method, path) == ("GET", "/webhooks"):
            return self._reply("webhook", list(self.webhooks), headers={"X-WP-TotalPages": "1"})
        if (method, path) == ("POST", "/webhooks"):
            hook = {"id": self._id(), "name": body["name"], "status": body["status"], "topic": body["topic"],
                    "resource": body["topic"].split(".")[0], "event": body["topic"].split(".")[1],
                    "hooks": ["woocommerce_new_order"], "delivery_url": body["delivery_url"],
                    "date_created": "2026-06-15T13:00:00", "date_created_gmt": "2026-06-15T12:00:00",
                    "date_modified": None, "date_modified_gmt": None}  # fmt: skip
            self.webhooks.append(hook)
            return self._reply("webhook", hook, 201)
        raise AssertionError(f"the fake does not serve {method} {path}")

    def calls(self, method: str | None = None, path: str | None = None) -> list[httpx.Request]:
        """Requests received (of one method and API path)."""
        return [r for r in self.requests if (method is None or r.method == method)
                and (path is None or r.url.path == f"{API}{path}")]  # fmt: skip


class Sleeps(list[float]):
    """Records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def settings(**overrides: Any) -> Any:
    from o2o_woocommerce import WooCommerceSettings

    values: dict[str, Any] = {"url": SITE, "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET,
                              "webhook_secrets": [WEBHOOK_SECRET, OLD_WEBHOOK_SECRET]}  # fmt: skip
    values.update(overrides)
    return WooCommerceSettings(**values)


@pytest.fixture
def fake() -> FakeWooCommerce:
    return FakeWooCommerce()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def woo(fake: FakeWooCommerce, sleeps: Sleeps) -> Any:
    """A mocked site (respx) and an adapter talking to it, with recorded sleeps."""
    import respx
    from o2o_woocommerce import WooCommerceAdapter

    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.route(host="shop.example").mock(side_effect=fake)
        adapter = WooCommerceAdapter(settings(), sleep=sleeps)
        yield adapter
        adapter.close()

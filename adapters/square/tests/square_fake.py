"""A fake Square API for respx, checking every request and answer against Square's OpenAPI document.

The operation of each request is found from the document's own paths (an adapter calling a
path Square does not have fails the test); its JSON body is validated against the operation's
request schema **strictly** (no property the schema does not name), and every answer the fake
gives against the response schema. Data comes from the ``example`` payloads of the document
(``shared/specs/square/api.json``), with ids adapted. Without the document the tests skip
(in CI they fail).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
SPEC_FILE = ROOT.parent / "shared" / "specs" / "square" / "api.json"
BASE = "https://connect.squareup.com"
VERSION = "2025-08-20"
ACCESS_TOKEN = "EAAAl-test-access-token-0123456789"
SIGNATURE_KEY = "sig-key-newest-0123456789"
OLD_SIGNATURE_KEY = "sig-key-older-0123456789"
NOTIFICATION_URL = "https://shop.example/webhooks/square"
MERCHANT = "6SSW7HV8K2ST5"

# --------------------------------------------------------------------------- the OpenAPI document


class Spec:
    """Square's OpenAPI document: examples, and validators of component schemas.

    OpenAPI 3.0's ``nullable`` becomes JSON Schema's ``null`` type. Strict validation (requests)
    also refuses properties a schema does not name, so a misspelt field fails.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schemas: dict[str, Any] = document["components"]["schemas"]
        self._components = {strict: {"schemas": {k: _jsonschema(v, strict) for k, v in self.schemas.items()}} for strict in (False, True)}
        self._validators: dict[tuple[str, bool], Any] = {}
        self.operations = [_Operation(path, method, op) for path, item in document["paths"].items()
                           for method, op in item.items() if method in ("get", "post", "put", "delete")]  # fmt: skip

    def example(self, name: str) -> Any:
        """A deep copy of ``components.schemas[name].example``."""
        return copy.deepcopy(self.schemas[name]["example"])

    def errors(self, name: str, value: Any, *, strict: bool = False) -> list[str]:
        """Why ``value`` is not a valid ``name`` (empty when it is)."""
        from jsonschema import Draft7Validator

        key = (name, strict)
        if key not in self._validators:
            self._validators[key] = Draft7Validator({"$ref": f"#/components/schemas/{name}", "components": self._components[strict]})
        out = []
        for error in self._validators[key].iter_errors(value):
            deepest = error
            while deepest.context:
                deepest = max(deepest.context, key=lambda e: len(list(e.absolute_path)))
            out.append(f"{'/'.join(map(str, deepest.absolute_path)) or '(root)'}: {deepest.message[:300]}")
        return out

    def operation(self, method: str, path: str) -> _Operation | None:
        """The operation ``method path`` is an instance of (path templates filled in)."""
        return next((op for op in self.operations if op.method == method.lower() and op.pattern.fullmatch(path)), None)


class _Operation:
    def __init__(self, path: str, method: str, op: dict[str, Any]) -> None:
        self.path, self.method, self.id = path, method, op.get("operationId", "")
        self.pattern = re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)))
        body = ((op.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get("schema", {})
        self.request_schema = body.get("$ref", "").rsplit("/", 1)[-1] or None
        answer = (op.get("responses", {}).get("200", {}).get("content") or {}).get("application/json", {}).get("schema", {})
        self.response_schema = answer.get("$ref", "").rsplit("/", 1)[-1] or None


def _jsonschema(node: Any, strict: bool) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _jsonschema(sub, strict) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _jsonschema(value, strict)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_jsonschema(v, strict) for v in value]
        elif key not in ("example", "x-enum-elements", "description"):
            out[key] = value
    if strict and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if out.pop("nullable", False):
        if "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
        elif "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
    return out


def require_spec() -> Spec:
    """The Square document; skips (or fails in CI) when ``shared/specs`` is absent."""
    if not SPEC_FILE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but the Square OpenAPI document is missing at {SPEC_FILE}")
        pytest.skip(f"Square OpenAPI document not found at {SPEC_FILE} (shared/specs is not beside this clone)")
    return _spec()


@functools.cache
def _spec() -> Spec:
    return Spec(json.loads(SPEC_FILE.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- fixtures from the examples


def locations(spec: Spec) -> list[dict[str, Any]]:
    """``ListLocationsResponse.example``'s two locations (the first given coordinates), the
    business hours of ``UpdateLocationResponse.example`` on the second, and an inactive third."""
    first, second = spec.example("ListLocationsResponse")["locations"]
    first["coordinates"] = {"latitude": 37.7599, "longitude": -122.4312}
    second["business_hours"] = spec.example("UpdateLocationResponse")["location"]["business_hours"]
    closed = {**copy.deepcopy(first), "id": "INACTIVE00001", "name": "Closed for good", "status": "INACTIVE"}
    return [first, second, closed]


def variations(spec: Spec) -> list[dict[str, Any]]:
    """The item variations of ``SearchCatalogObjectsResponse.example``, given SKUs."""
    items = spec.example("SearchCatalogObjectsResponse")["objects"]
    out = [v for item in items for v in item["item_data"]["variations"]]
    for variation, sku in zip(out, ("TEA-BLACK-R", "TEA-BLACK-L", "TEA-GREEN-R"), strict=True):
        variation["item_variation_data"]["sku"] = sku
    return out


def count(spec: Spec, variation_id: str, location_id: str, quantity: str, state: str = "IN_STOCK") -> dict[str, Any]:
    """An ``InventoryCount`` shaped like ``BatchRetrieveInventoryCountsResponse.example``'s."""
    template = spec.example("BatchRetrieveInventoryCountsResponse")["counts"][0]
    return {**template, "catalog_object_id": variation_id, "location_id": location_id, "quantity": quantity, "state": state}


def money(amount: int, currency: str = "USD") -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def order(spec: Spec, order_id: str, *, location_id: str, total: int = 550, currency: str = "USD",
          discounts: Iterable[dict[str, Any]] | None = None, fulfillments: list[dict[str, Any]] | None = None,
          customer_id: str | None = None, state: str = "COMPLETED", created_at: str = "2026-06-15T13:05:00.000Z",
          **extra: Any) -> dict[str, Any]:  # fmt: skip
    """``RetrieveOrderResponse.example``'s order with its ids, money, discounts and fulfilments replaced."""
    body = spec.example("RetrieveOrderResponse")["order"]
    body.update(id=order_id, location_id=location_id, state=state, created_at=created_at, updated_at=created_at)
    for key in ("total_money", "net_amounts"):
        body.pop(key, None)
    body["total_money"] = money(total, currency)
    for field in ("total_discount_money", "total_tax_money", "total_tip_money", "total_service_charge_money"):
        body[field] = money(body[field]["amount"], currency)
    for line in body["line_items"]:
        for field in [k for k in line if k.endswith("_money")]:
            line[field] = money(line[field]["amount"], currency)
        for applied in line.get("applied_discounts", []):
            applied["applied_money"] = money(applied["applied_money"]["amount"], currency)
    if discounts is not None:
        body["discounts"] = [dict(d) for d in discounts]
        if not body["discounts"]:
            for line in body["line_items"]:
                line.pop("applied_discounts", None)
    for d in body.get("discounts", []):
        if "applied_money" in d:
            d["applied_money"] = money(d["applied_money"]["amount"], currency)
    if fulfillments is not None:
        body["fulfillments"] = fulfillments
    if customer_id is not None:
        body["customer_id"] = customer_id
    body.update(extra)
    return body


def discount(name: str, *, catalog_object_id: str | None = None, uid: str = "disc-uid-1", percentage: str = "10") -> dict[str, Any]:
    """An ``OrderLineItemDiscount`` (as in ``RetrieveOrderResponse.example``)."""
    found = {"uid": uid, "name": name, "type": "FIXED_PERCENTAGE", "percentage": percentage, "scope": "ORDER",
             "applied_money": money(55)}  # fmt: skip
    if catalog_object_id is not None:
        found["catalog_object_id"] = catalog_object_id
    return found


def pickup_fulfillment(*, uid: str = "FULFILL-PICKUP-1", state: str = "PROPOSED", email: str | None = "ada@example.com",
                       expires_at: str | None = "2026-06-18T17:00:00Z", pickup_at: str | None = "2026-06-16T10:00:00Z",
                       note: str | None = "Ring twice", curbside: bool = False, car: str | None = None) -> dict[str, Any]:  # fmt: skip
    details: dict[str, Any] = {"schedule_type": "SCHEDULED", "is_curbside_pickup": curbside,
                               "recipient": {"display_name": "Ada Lovelace", **({"email_address": email} if email else {})}}  # fmt: skip
    for key, value in (("expires_at", expires_at), ("pickup_at", pickup_at), ("note", note)):
        if value is not None:
            details[key] = value
    if car:
        details["curbside_pickup_details"] = {"curbside_details": car}
    return {"uid": uid, "type": "PICKUP", "state": state, "pickup_details": details}


def shipment_fulfillment(email: str | None = "buyer@example.com") -> dict[str, Any]:
    recipient = {"display_name": "Buyer", **({"email_address": email} if email else {})}
    return {"uid": "FULFILL-SHIP-1", "type": "SHIPMENT", "state": "PROPOSED", "shipment_details": {"recipient": recipient}}


# --------------------------------------------------------------------------- the fake API


class FakeSquare:
    """One fake seller account. ``answers`` queues raw responses served before normal handling."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.locations = locations(spec)
        self.variations = variations(spec)
        first, second = self.locations[0]["id"], self.locations[1]["id"]
        tea_r, tea_l, green = (v["id"] for v in self.variations)
        self.counts = [
            count(spec, tea_r, first, "3"), count(spec, tea_r, second, "0"), count(spec, tea_l, second, "7"),
            count(spec, tea_l, second, "2", state="SOLD"), count(spec, green, first, "2.5"),
            count(spec, green, second, "-1"),
        ]  # fmt: skip
        self.customers = spec.example("SearchCustomersResponse")["customers"]
        self.customers[0]["email_address"] = "Ada@Example.com"
        self.customers[0]["given_name"], self.customers[0]["family_name"] = "Ada", "Lovelace"
        self.catalog: dict[str, dict[str, Any]] = {}  # discounts, product sets, pricing rules created
        self.orders: dict[str, dict[str, Any]] = {}
        #: Completed orders that use each new discount, added when it is created.
        self.usage = 3
        #: When those orders were created (after the discount, as in life).
        self.order_time = "2026-06-15T13:05:00.000Z"
        self.page_size = 1000
        self.answers: list[Callable[[httpx.Request], httpx.Response] | httpx.Response] = []
        self.requests: list[tuple[str, Any, httpx.Request]] = []
        self._idempotent: dict[str, tuple[Any, Any]] = {}
        self._serial = 0

    # --- respx side effect
    def __call__(self, request: httpx.Request) -> httpx.Response:
        op = self.spec.operation(request.method, request.url.path)
        assert op is not None, f"Square has no {request.method} {request.url.path}"
        assert request.headers.get("authorization") == f"Bearer {ACCESS_TOKEN}", "the access token is sent as a bearer token"
        assert request.headers.get("square-version") == VERSION, "Square-Version is pinned"
        body = json.loads(request.content) if request.content else None
        if op.request_schema:
            assert body is not None, f"{op.id} needs a JSON body"
            errors = self.spec.errors(op.request_schema, body, strict=True)
            assert errors == [], f"invalid {op.request_schema} sent to Square: {errors}\n{json.dumps(body)[:2000]}"
        else:
            assert body is None, f"{op.id} takes no body"
        self.requests.append((op.id, body, request))
        if self.answers:
            answer = self.answers.pop(0)
            return answer(request) if callable(answer) else answer
        key = body.get("idempotency_key") if isinstance(body, dict) else None
        if key is not None and key in self._idempotent:
            previous, answer = self._idempotent[key]
            if previous != body:
                return self.error(op.response_schema, 400, "IDEMPOTENCY_KEY_REUSED", "The idempotency key was used with another request.")
            return httpx.Response(200, json=answer)  # Square replays the first answer
        response = getattr(self, f"op_{op.id}")(request, body)
        if response.status_code < 300:
            errors = self.spec.errors(op.response_schema, response.json()) if op.response_schema else []
            assert errors == [], f"the fake answered an invalid {op.response_schema}: {errors}"
        if key is not None and response.status_code < 300:
            self._idempotent[key] = (body, response.json())
        return response

    def error(self, schema: str | None, status: int, code: str, detail: str, category: str = "INVALID_REQUEST_ERROR",
              field: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
        payload = {"errors": [{"category": category, "code": code, "detail": detail, **({"field": field} if field else {})}]}
        if schema:
            assert self.spec.errors(schema, payload) == []
        return httpx.Response(status, json=payload, headers={"X-Request-Id": f"req-{code.lower()}", **(headers or {})})

    def operations(self) -> list[str]:
        return [op for op, _, _ in self.requests]

    def bodies(self, operation: str) -> list[Any]:
        return [b for op, b, _ in self.requests if op == operation]

    def _id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:0>{24 - len(prefix)}}"

    def _page(self, items: list[dict[str, Any]], body: dict[str, Any], key: str, limit: int | None = None) -> dict[str, Any]:
        start = int(body.get("cursor") or 0)
        size = min(self.page_size, limit or self.page_size)
        chunk = items[start:start + size]
        out: dict[str, Any] = {key: chunk} if chunk else {}
        if start + size < len(items):
            out["cursor"] = str(start + size)
        return out

    # --- operations
    def op_ListLocations(self, request: httpx.Request, body: Any) -> httpx.Response:
        return httpx.Response(200, json={"locations": self.locations})

    def op_SearchCatalogObjects(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        query = body.get("query") or {}
        types = set(body.get("object_types") or [])
        found: list[dict[str, Any]] = []
        if "set_query" in query and query["set_query"]["attribute_name"] == "sku":
            wanted = {v.lower() for v in query["set_query"]["attribute_values"]}  # Square ignores case
            found = [v for v in self.variations if "ITEM_VARIATION" in types and v["item_variation_data"].get("sku", "").lower() in wanted]
        elif "exact_query" in query and query["exact_query"]["attribute_name"] == "name":
            value = query["exact_query"]["attribute_value"].lower()  # and matches partially
            found = [o for o in self.catalog.values() if o["type"] in types and value in o.get("discount_data", {}).get("name", "").lower()]
        else:
            raise AssertionError(f"the fake does not know this catalog query: {query}")
        return httpx.Response(200, json=self._page(found, body, "objects", body.get("limit")))

    def op_BatchRetrieveCatalogObjects(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        known = {v["id"]: v for v in self.variations} | self.catalog
        objects = [known[i] for i in body["object_ids"] if i in known]
        return httpx.Response(200, json={"objects": objects} if objects else {})

    def op_BatchUpsertCatalogObjects(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        mappings, created = [], []
        ids: dict[str, str] = {}
        for batch in body["batches"]:
            for obj in batch["objects"]:
                assert obj["id"].startswith("#"), "new catalog objects need temporary ids starting with #"
                ids[obj["id"]] = self._id(obj["type"][:4])
        for batch in body["batches"]:
            for obj in batch["objects"]:
                text = json.dumps(obj)
                for temp, real in ids.items():
                    text = text.replace(json.dumps(temp), json.dumps(real))
                made = {**json.loads(text), "version": 1781000000000 + self._serial, "is_deleted": False,
                        "updated_at": "2026-06-15T12:00:00.000Z"}  # fmt: skip
                self.catalog[made["id"]] = made
                created.append(made)
                mappings.append({"client_object_id": obj["id"], "object_id": made["id"]})
                if made["type"] == "DISCOUNT":
                    self._use(made["id"], made["discount_data"]["name"])
        return httpx.Response(200, json={"objects": created, "id_mappings": mappings, "updated_at": "2026-06-15T12:00:00.000Z"})

    def _use(self, discount_id: str, name: str) -> None:
        """Completed orders that used a new discount (``usage`` of them, spread over locations),
        one open order that did, and one completed order with another discount."""
        active = [loc["id"] for loc in self.locations if loc.get("status") == "ACTIVE"]
        for n in range(self.usage):
            oid = f"USED-{discount_id}-{n}"
            self.orders[oid] = order(self.spec, oid, location_id=active[n % len(active)], created_at=self.order_time,
                                     discounts=[discount(name, catalog_object_id=discount_id)])  # fmt: skip
        self.orders[f"OPEN-{discount_id}"] = order(self.spec, f"OPEN-{discount_id}", location_id=active[0], state="OPEN",
                                                   created_at=self.order_time,
                                                   discounts=[discount(name, catalog_object_id=discount_id)])  # fmt: skip
        self.orders[f"OTHER-{discount_id}"] = order(self.spec, f"OTHER-{discount_id}", location_id=active[0], created_at=self.order_time,
                                                    discounts=[discount("Staff 10%", catalog_object_id="SOMETHINGELSE")])  # fmt: skip

    def op_BatchRetrieveInventoryCounts(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        ids, locs, states = (set(body.get(k) or []) for k in ("catalog_object_ids", "location_ids", "states"))
        found = [c for c in self.counts if (not ids or c["catalog_object_id"] in ids) and (not locs or c["location_id"] in locs)
                 and (not states or c["state"] in states)]  # fmt: skip
        return httpx.Response(200, json=self._page(found, body, "counts", body.get("limit")))

    def op_SearchCustomers(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        email = body["query"]["filter"]["email_address"]["exact"].lower()
        found = [c for c in self.customers if (c.get("email_address") or "").lower() == email]
        return httpx.Response(200, json={"customers": found} if found else {})

    def op_RetrieveOrder(self, request: httpx.Request, body: Any) -> httpx.Response:
        order_id = request.url.path.rsplit("/", 1)[-1]
        if order_id not in self.orders:
            return self.error("RetrieveOrderResponse", 404, "NOT_FOUND", f"Order {order_id} not found.")
        return httpx.Response(200, json={"order": self.orders[order_id]})

    def op_BatchRetrieveOrders(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        found = [self.orders[i] for i in body["order_ids"] if i in self.orders]
        return httpx.Response(200, json={"orders": found} if found else {})

    def op_SearchOrders(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        locs = body.get("location_ids") or []
        if not 1 <= len(locs) <= 10:
            return self.error("SearchOrdersResponse", 400, "INVALID_VALUE", "Between 1 and 10 location ids.", field="location_ids")
        query = body.get("query") or {}
        flt = query.get("filter") or {}
        states = set((flt.get("state_filter") or {}).get("states") or [])
        created = ((flt.get("date_time_filter") or {}).get("created_at") or {}).get("start_at")
        sort = (query.get("sort") or {}).get("sort_field", "CREATED_AT")
        if created and sort != "CREATED_AT":
            return self.error("SearchOrdersResponse", 400, "INVALID_VALUE", "sort_field must match the DateTimeFilter.")
        found = sorted((o for o in self.orders.values() if o["location_id"] in locs and (not states or o.get("state") in states)
                        and (not created or o["created_at"] >= created)), key=lambda o: (o["created_at"], o["id"]))  # fmt: skip
        return httpx.Response(200, json=self._page(found, body, "orders", body.get("limit")))

    def op_UpdateOrder(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        order_id = request.url.path.rsplit("/", 1)[-1]
        current = self.orders.get(order_id)
        if current is None:
            return self.error("UpdateOrderResponse", 404, "NOT_FOUND", f"Order {order_id} not found.")
        sparse = body["order"]
        if sparse.get("version") != current.get("version"):
            return self.error("UpdateOrderResponse", 409, "CONFLICT", "The order version does not match.", field="order.version")
        for change in sparse.get("fulfillments") or []:
            target = next((f for f in current.get("fulfillments", []) if f["uid"] == change["uid"]), None)
            if target is None:
                return self.error("UpdateOrderResponse", 400, "INVALID_VALUE", "Unknown fulfillment uid.", field="order.fulfillments")
            target["state"] = change["state"]
            if "pickup_details" in change:
                target.setdefault("pickup_details", {}).update(change["pickup_details"])
        current["version"] = current["version"] + 1
        return httpx.Response(200, json={"order": current})

    def op_BatchChangeInventory(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        raise AssertionError("the adapter must not change Square inventory")


def rate_limited(retry_after: str | None = "1.5") -> httpx.Response:
    """429 RATE_LIMITED, as Square answers when the app sends too much."""
    payload = {"errors": [{"category": "RATE_LIMIT_ERROR", "code": "RATE_LIMITED", "detail": "Too many requests."}]}
    return httpx.Response(429, json=payload, headers={"X-Request-Id": "req-429", **({"Retry-After": retry_after} if retry_after else {})})


def settings(**overrides: Any) -> Any:
    from o2o_square import SquareSettings

    values: dict[str, Any] = {"access_token": ACCESS_TOKEN, "webhook_signature_keys": [SIGNATURE_KEY, OLD_SIGNATURE_KEY],
                              "notification_url": NOTIFICATION_URL}  # fmt: skip
    values.update(overrides)
    return SquareSettings(**values)


class Sleeps(list[float]):
    """Records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def spec() -> Spec:
    return require_spec()


@pytest.fixture
def fake(spec: Spec) -> FakeSquare:
    return FakeSquare(spec)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def square(fake: FakeSquare, sleeps: Sleeps, ticks: Ticks) -> Any:
    """A mocked Square (respx) and an adapter talking to it, with recorded sleeps."""
    import respx
    from o2o_square import SquareAdapter

    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.route(host="connect.squareup.com").mock(side_effect=fake)
        adapter = SquareAdapter(settings(), sleep=sleeps, monotonic=ticks)
        yield adapter
        adapter.close()


# --------------------------------------------------------------------------- notifications


def payment_event(spec: Spec, order_id: str, *, event_id: str = "evt-1", status: str = "COMPLETED", location_id: str = "LOC",
                  kind: str = "payment.created") -> dict[str, Any]:  # fmt: skip
    """``PaymentCreatedEvent.example`` (or ``PaymentUpdatedEvent``) about ``order_id``."""
    event = spec.example("PaymentCreatedEvent" if kind == "payment.created" else "PaymentUpdatedEvent")
    payment = event["data"]["object"]["payment"]
    payment.pop("risk_evaluation", None)  # the example lacks the status its schema requires
    payment.update(order_id=order_id, status=status, location_id=location_id)
    event.update(event_id=event_id, merchant_id=MERCHANT, type=kind)
    assert spec.errors("PaymentCreatedEvent", event) == []
    return event


def order_created_event(spec: Spec, order_id: str, *, event_id: str = "evt-o-1", state: str = "OPEN", location_id: str = "LOC") -> dict[str, Any]:
    """``OrderCreatedEvent.example`` about ``order_id``."""
    event = spec.example("OrderCreatedEvent")
    event["data"]["id"] = order_id
    event["data"]["object"]["order_created"].update(order_id=order_id, state=state, location_id=location_id)
    event.update(event_id=event_id, merchant_id=MERCHANT)
    assert spec.errors("OrderCreatedEvent", event) == []
    return event


def order_updated_event(spec: Spec, order_id: str, *, event_id: str = "evt-u-1", state: str = "CANCELED",
                        location_id: str = "LOC", version: int = 5) -> dict[str, Any]:  # fmt: skip
    """``OrderUpdatedEvent.example`` about ``order_id``, now in ``state``."""
    event = spec.example("OrderUpdatedEvent")
    event["data"]["id"] = order_id
    event["data"]["object"]["order_updated"].update(order_id=order_id, state=state, location_id=location_id, version=version)
    event.update(event_id=event_id, merchant_id=MERCHANT)
    assert spec.errors("OrderUpdatedEvent", event) == []
    return event


def fulfillment_updated_event(spec: Spec, order_id: str, *, event_id: str = "evt-f-1", uid: str = "FULFILL-PICKUP-1",
                              old_state: str = "PROPOSED", new_state: str = "CANCELED", state: str = "OPEN",
                              location_id: str = "LOC", version: int = 5) -> dict[str, Any]:  # fmt: skip
    """``OrderFulfillmentUpdatedEvent.example`` about fulfilment ``uid`` of ``order_id``."""
    event = spec.example("OrderFulfillmentUpdatedEvent")
    event["data"]["id"] = order_id
    event["data"]["object"]["order_fulfillment_updated"].update(
        order_id=order_id, state=state, location_id=location_id, version=version,
        fulfillment_update=[{"fulfillment_uid": uid, "old_state": old_state, "new_state": new_state}],
    )  # fmt: skip
    event.update(event_id=event_id, merchant_id=MERCHANT)
    assert spec.errors("OrderFulfillmentUpdatedEvent", event) == []
    return event


def delivery(payload: Any, *, key: str = SIGNATURE_KEY, url: str = NOTIFICATION_URL, raw: bytes | None = None,
             signed: bool = True, received_at: str = NOTIFICATION_URL) -> Any:  # fmt: skip
    """A notification as Square posts it, signed over ``url + body``."""
    from o2o_square import sign

    from o2o_sdk import WebhookRequest

    body = raw if raw is not None else json.dumps(payload).encode()
    signature = sign(body, url, key if signed else "not-the-key")
    headers = {"Content-Type": "application/json", "X-Square-HmacSha256-Signature": signature,
               "Square-Initial-Delivery-Timestamp": "2026-06-15T13:05:01.000Z", "Square-Retry-Number": "0",
               "Square-Environment": "Production"}  # fmt: skip
    return WebhookRequest(body, headers, received_at)

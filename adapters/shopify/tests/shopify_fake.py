"""A fake Shopify Admin GraphQL endpoint for respx, validating every request against the real schema.

Each request's document and variables are checked with graphql-core against
``shared/specs/shopify/admin-2025-04.graphql`` (when the schema is there; see ``schema()``),
then answered from the fake shop's data.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
SPECS = ROOT.parent / "shared" / "specs"
SCHEMA_FILE = SPECS / "shopify" / "admin-2025-04.graphql"
SHOP = "o2o-test"
ENDPOINT = f"https://{SHOP}.myshopify.com/admin/api/2025-04/graphql.json"


def require_schema() -> Any:
    """The Admin API schema; skips (or fails in CI) when ``shared/specs`` is absent."""
    if not SCHEMA_FILE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but the Shopify schema is missing at {SCHEMA_FILE}")
        pytest.skip(f"Shopify schema not found at {SCHEMA_FILE} (shared/specs is not beside this clone)")
    return _schema()


@functools.cache
def _schema() -> Any:
    import graphql

    return graphql.build_schema(SCHEMA_FILE.read_text(encoding="utf-8"), assume_valid_sdl=True)


def validate_request(schema: Any, document: str, variables: dict[str, Any]) -> list[str]:
    """Errors of a document and its variables against the schema (empty when valid)."""
    import graphql
    from graphql.execution.values import get_variable_values

    try:
        ast = graphql.parse(document)
    except graphql.GraphQLError as exc:
        return [str(exc)]
    errors = [e.message for e in graphql.validate(schema, ast)]
    if errors:
        return errors
    [operation] = [d for d in ast.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    coerced = get_variable_values(schema, operation.variable_definitions or [], variables)
    return [e.message for e in coerced] if isinstance(coerced, list) else []


def location(n: int, **extra: Any) -> dict[str, Any]:
    node = {
        "id": f"gid://shopify/Location/{n}", "legacyResourceId": str(n), "name": f"Shop {n}", "isActive": True,
        "fulfillsOnlineOrders": True,
        "address": {"address1": f"{n} High St", "address2": None, "city": "London", "province": None, "zip": f"W1D {n}AA",
                    "country": "United Kingdom", "countryCode": "GB", "latitude": 51.5 + n / 1000, "longitude": -0.13,
                    "formatted": [f"{n} High St", "London W1D", "United Kingdom"]},
        "localPickupSettingsV2": {"instructions": "Ask at the till"},
    }  # fmt: skip
    node.update(extra)
    return node


class FakeShopify:
    """One fake shop. ``answers`` queues raw responses served before normal handling."""

    def __init__(self, schema: Any | None) -> None:
        self.schema = schema
        self.locations: list[dict[str, Any]] = [location(1), location(2)]
        #: sku -> {location gid: available}
        self.stock: dict[str, dict[str, int]] = {"SKU-A": {"gid://shopify/Location/1": 3, "gid://shopify/Location/2": 0},
                                                 "SKU-B": {"gid://shopify/Location/2": 7}}  # fmt: skip
        self.customers = [{"id": "gid://shopify/Customer/77", "firstName": "Ada", "lastName": "Byron",
                           "defaultEmailAddress": {"emailAddress": "Ada@Example.com"}}]  # fmt: skip
        self.discounts: dict[str, dict[str, Any]] = {}  # code -> {"id", "usage", "input"}
        self.usage = 4
        self.user_errors: list[dict[str, Any]] = []
        self.answers: list[Callable[[httpx.Request], httpx.Response] | httpx.Response] = []
        self.requests: list[tuple[str, dict[str, Any], httpx.Request]] = []
        #: (operation, data) the fake shop answered itself (not queued answers nor outages)
        self.answered: list[tuple[str, dict[str, Any]]] = []
        self.timezone = "Europe/London"
        #: order gid -> its fulfillment orders, in the GraphQL answer's shape
        self.fulfillment_orders: dict[str, list[dict[str, Any]]] = {}
        #: fulfillment order ids marked prepared for pickup, fulfillments created, tags per order
        self.prepared: list[str] = []
        self.fulfillments: list[dict[str, Any]] = []
        self.tags: dict[str, list[str]] = {}
        #: userErrors answered by the next pickup mutation instead of doing it
        self.pickup_user_errors: list[dict[str, Any]] = []
        #: while set, every request gets this answer (an outage): a response, or a callable
        #: that returns one or raises (e.g. ``httpx.ConnectError``)
        self.down: Callable[[httpx.Request], httpx.Response] | httpx.Response | None = None

    # --- respx side effect
    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        document, variables = body["query"], body.get("variables") or {}
        if self.schema is not None:
            errors = validate_request(self.schema, document, variables)
            assert errors == [], f"invalid GraphQL sent to Shopify: {errors}\n{document}\n{variables}"
        name = re.search(r"(?:query|mutation)\s+(\w+)", document)
        operation = name.group(1) if name else "?"
        self.requests.append((operation, variables, request))
        if self.down is not None:
            return self.down(request) if callable(self.down) else self.down
        if self.answers:
            answer = self.answers.pop(0)
            return answer(request) if callable(answer) else answer
        data = getattr(self, f"op_{operation}")(variables)
        self.answered.append((operation, data))
        return self.ok(data)

    def ok(self, data: dict[str, Any], available: float = 1000.0) -> httpx.Response:
        cost = {"requestedQueryCost": 10, "actualQueryCost": 5,
                "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": available, "restoreRate": 100.0}}  # fmt: skip
        return httpx.Response(200, json={"data": data, "extensions": {"cost": cost}}, headers={"X-Request-Id": "req-ok"})

    def operations(self) -> list[str]:
        return [op for op, _, _ in self.requests]

    @staticmethod
    def _page(nodes: list[dict[str, Any]], first: int, after: str | None) -> dict[str, Any]:
        assert 0 < first <= 250, f"page size {first} is outside Shopify's 1..250"
        start = int(after) if after else 0
        chunk = nodes[start:start + first]
        more = start + first < len(nodes)
        return {"pageInfo": {"hasNextPage": more, "endCursor": str(start + first) if more else None}, "nodes": chunk}

    # --- operations
    def op_O2OLocations(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"locations": self._page(self.locations, v["first"], v.get("after"))}

    def op_O2OLocationsCount(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"locationsCount": {"count": len(self.locations)}}

    def op_O2OShopTimezone(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"shop": {"ianaTimezone": self.timezone}}

    def _levels(self, sku: str) -> list[dict[str, Any]]:
        return [{"location": {"id": loc}, "quantities": [{"name": "available", "quantity": q}]}
                for loc, q in self.stock.get(sku, {}).items()]  # fmt: skip

    def op_O2OInventoryBySku(self, v: dict[str, Any]) -> dict[str, Any]:
        asked = re.findall(r'sku:"((?:[^"\\]|\\.)*)"', v["query"])
        items = []
        for sku in self.stock:
            # Shopify's search matches prefixes too: return those, the adapter must filter
            if any(sku.startswith(a) for a in asked):
                items.append({"id": f"gid://shopify/InventoryItem/{sku}", "sku": sku,
                              "inventoryLevels": self._page(self._levels(sku), v["levels"], None)})  # fmt: skip
        return {"inventoryItems": {"nodes": items[: v["first"]]}}

    def op_O2OInventoryLevels(self, v: dict[str, Any]) -> dict[str, Any]:
        sku = v["id"].rsplit("/", 1)[-1]
        return {"inventoryItem": {"inventoryLevels": self._page(self._levels(sku), v["first"], v.get("after"))}}

    def op_O2OCustomerByEmail(self, v: dict[str, Any]) -> dict[str, Any]:
        term = re.fullmatch(r'email:"(.*)"', v["query"])
        assert term, v["query"]
        # fuzzy like Shopify: anything containing the local part
        local = term.group(1).split("@")[0].lower()
        nodes = [c for c in self.customers if local in c["defaultEmailAddress"]["emailAddress"].lower()]
        return {"customers": {"nodes": nodes[:1]}}

    def op_O2ODiscountByCode(self, v: dict[str, Any]) -> dict[str, Any]:
        found = self.discounts.get(v["code"].lower())
        if found is None:
            return {"codeDiscountNodeByCode": None}
        return {"codeDiscountNodeByCode": {"id": found["id"], "codeDiscount": {"__typename": "DiscountCodeBasic",
                                                                               "title": found["input"]["title"],
                                                                               "asyncUsageCount": self.usage}}}  # fmt: skip

    def op_O2ODiscountUsage(self, v: dict[str, Any]) -> dict[str, Any]:
        if not any(d["id"] == v["id"] for d in self.discounts.values()):
            return {"codeDiscountNode": None}
        return {"codeDiscountNode": {"id": v["id"], "codeDiscount": {"__typename": "DiscountCodeBasic", "asyncUsageCount": self.usage}}}

    def op_O2OMirrorOffer(self, v: dict[str, Any]) -> dict[str, Any]:
        data = v["basicCodeDiscount"]
        if self.user_errors:
            errors, self.user_errors = self.user_errors, []
            return {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": errors}}
        node_id = f"gid://shopify/DiscountCodeNode/{len(self.discounts) + 1}"
        self.discounts[data["code"].lower()] = {"id": node_id, "input": data}
        return {"discountCodeBasicCreate": {
            "codeDiscountNode": {"id": node_id, "codeDiscount": {"asyncUsageCount": 0, "codes": {"nodes": [{"code": data["code"]}]}}},
            "userErrors": []}}  # fmt: skip


    # --- fulfillment orders (local pickup)
    def _fulfillment_order(self, fo_id: str) -> dict[str, Any] | None:
        return next((fo for fos in self.fulfillment_orders.values() for fo in fos if fo["id"] == fo_id), None)

    def op_O2OOrderFulfillmentOrders(self, v: dict[str, Any]) -> dict[str, Any]:
        fos = self.fulfillment_orders.get(v["id"])
        if fos is None:
            return {"order": None}
        nodes = []
        for fo in fos[: v["first"]]:
            lines = fo["lineItems"]["nodes"]
            nodes.append({**fo, "lineItems": {"pageInfo": {"hasNextPage": len(lines) > v["lines"]}, "nodes": lines[: v["lines"]]}})
        return {"order": {"id": v["id"], "fulfillmentOrders": {"nodes": nodes}}}

    def _forced(self) -> list[dict[str, Any]]:
        errors, self.pickup_user_errors = self.pickup_user_errors, []
        return errors

    def op_O2OPreparedForPickup(self, v: dict[str, Any]) -> dict[str, Any]:
        errors = self._forced()
        found = []
        for n, entry in enumerate(v["input"]["lineItemsByFulfillmentOrder"]):
            fo = self._fulfillment_order(entry["fulfillmentOrderId"])
            field = ["input", "lineItemsByFulfillmentOrder", str(n), "fulfillmentOrderId"]
            if fo is None:
                errors.append({"field": field, "code": "FULFILLMENT_ORDER_INVALID", "message": "Invalid fulfillment order ID provided."})
            elif fo["id"] in self.prepared or fo["status"] in ("CLOSED", "CANCELLED"):
                errors.append({"field": field, "code": "NO_LINE_ITEMS_TO_PREPARE_FOR_FULFILLMENT_ORDER",
                               "message": "The fulfillment order does not have any line items that can be prepared."})  # fmt: skip
            else:
                found.append(fo)
        if not errors:  # all or nothing, like Shopify
            for fo in found:
                self.prepared.append(fo["id"])
                fo["status"] = "IN_PROGRESS"
        return {"fulfillmentOrderLineItemsPreparedForPickup": {"userErrors": errors}}

    def op_O2OFulfillPickup(self, v: dict[str, Any]) -> dict[str, Any]:
        errors = self._forced()
        fulfillment = v["fulfillment"]
        fos = [self._fulfillment_order(e["fulfillmentOrderId"]) for e in fulfillment["lineItemsByFulfillmentOrder"]]
        for fo, entry in zip(fos, fulfillment["lineItemsByFulfillmentOrder"], strict=True):
            if fo is None:
                errors.append({"field": ["fulfillment"], "message": f"Fulfillment order {entry['fulfillmentOrderId']} does not exist."})
            elif fo["status"] in ("CLOSED", "CANCELLED", "INCOMPLETE"):
                errors.append({"field": ["fulfillment"], "message": f"Fulfillment order {fo['id']} has an unfulfillable status= {fo['status'].lower()}."})
        if errors:
            return {"fulfillmentCreate": {"fulfillment": None, "userErrors": errors}}
        for fo in fos:
            assert fo is not None
            fo["status"] = "CLOSED"
        made = {"id": f"gid://shopify/Fulfillment/{len(self.fulfillments) + 1}", "status": "SUCCESS", "input": fulfillment,
                "message": v.get("message")}  # fmt: skip
        self.fulfillments.append(made)
        return {"fulfillmentCreate": {"fulfillment": {"id": made["id"], "status": "SUCCESS"}, "userErrors": []}}

    def op_O2OTagOrder(self, v: dict[str, Any]) -> dict[str, Any]:
        errors = self._forced()
        if v["id"] not in self.fulfillment_orders:
            errors.append({"field": ["id"], "message": "Order does not exist"})
        if errors:
            return {"tagsAdd": {"node": None, "userErrors": errors}}
        tags = self.tags.setdefault(v["id"], [])
        tags.extend(t for t in v["tags"] if t not in tags)
        return {"tagsAdd": {"node": {"id": v["id"]}, "userErrors": []}}


def fulfillment_order(n: int, *, location_id: int = 1, method: str = "PICK_UP", status: str = "OPEN",
                      lines: tuple[tuple[str, int], ...] = (("SKU-A", 2), ("SKU-B", 1))) -> dict[str, Any]:  # fmt: skip
    """A fulfillment order as the O2OOrderFulfillmentOrders query answers it."""
    return {
        "id": f"gid://shopify/FulfillmentOrder/{n}", "status": status,
        "assignedLocation": {"name": f"Shop {location_id}", "location": {"id": f"gid://shopify/Location/{location_id}"}},
        "deliveryMethod": {"methodType": method, "presentedName": "Pick up in store" if method == "PICK_UP" else "Standard"},
        "lineItems": {"nodes": [
            {"id": f"gid://shopify/FulfillmentOrderLineItem/{n}{i}", "sku": sku, "totalQuantity": qty, "remainingQuantity": qty,
             "productTitle": f"Product {sku}", "lineItem": {"sku": sku, "name": f"Product {sku} - M"}}
            for i, (sku, qty) in enumerate(lines)
        ]},
    }  # fmt: skip


def throttled(requested: float = 50, available: float = 10, rate: float = 100) -> httpx.Response:
    """HTTP 200 with a THROTTLED error, as Shopify sends when the bucket is empty."""
    return httpx.Response(200, json={
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": rate}}},
    }, headers={"X-Request-Id": "req-throttled"})  # fmt: skip


WEBHOOK_SECRET = "whsec-newest-0123456789"
OLD_WEBHOOK_SECRET = "whsec-older-0123456789"
ACCESS_TOKEN = "shpat_super_secret_token_0123"


def settings(**overrides: Any) -> Any:
    from o2o_shopify import ShopifySettings

    values: dict[str, Any] = {"shop": SHOP, "access_token": ACCESS_TOKEN, "webhook_secrets": [WEBHOOK_SECRET, OLD_WEBHOOK_SECRET]}
    values.update(overrides)
    return ShopifySettings(**values)


class Sleeps(list[float]):
    """Records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake() -> FakeShopify:
    return FakeShopify(require_schema())


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def shopify(fake: FakeShopify, sleeps: Sleeps) -> Any:
    """A mocked shop (respx) and an adapter talking to it, with recorded sleeps."""
    import respx
    from o2o_shopify import ShopifyAdapter

    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(ENDPOINT).mock(side_effect=fake)
        adapter = ShopifyAdapter(settings(), sleep=sleeps)
        yield adapter
        adapter.close()


def order_payload(order_id: str = "820982911946154508", *, source_name: str = "pos", location_id: int | None = 1,
                  codes: tuple[str, ...] = (), total: str = "42.50", currency: str = "EUR",
                  customer: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """An ``orders/create`` body in the REST Order shape (only the fields the adapter reads, plus some)."""
    payload: dict[str, Any] = {
        "id": int(order_id), "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": "#1001",
        "source_name": source_name, "location_id": location_id, "created_at": "2026-06-15T13:05:00+01:00",
        "currency": currency, "total_price": total, "email": "buyer@example.com",
        "customer": customer if customer is not None else {"id": 115310627314723954, "email": "buyer@example.com"},
        "discount_codes": [{"code": c, "amount": "5.00", "type": "percentage"} for c in codes],
        "line_items": [{"id": 1, "sku": "SKU-A", "quantity": 1, "price": total}],
    }  # fmt: skip
    payload.update(extra)
    return payload


def _address(**extra: Any) -> dict[str, Any]:
    address = {"first_name": "Ada", "last_name": "Byron", "name": "Ada Byron", "company": None, "address1": "12 Fleet St",
               "address2": None, "city": "London", "province": None, "province_code": None, "zip": "EC4Y 1AA",
               "country": "United Kingdom", "country_code": "GB", "phone": None, "latitude": None, "longitude": None}  # fmt: skip
    address.update(extra)
    return address


def web_order_payload(order_id: str = "5820982911946", *, pickup: bool = True, location_name: str = "Shop 1",
                      lines: tuple[tuple[str, int], ...] = (("SKU-A", 2), ("SKU-B", 1)), note: str | None = None,
                      **extra: Any) -> dict[str, Any]:  # fmt: skip
    """An online-store order as ``orders/create`` sends it (REST Order shape, trimmed of nothing the
    adapter reads): to be collected in store (``pickup``: no shipping address; the shipping line
    names the location, as Shopify's local pickup does) or shipped (an address and a rate)."""
    line_items = [
        {"id": 1466157049 + i, "admin_graphql_api_id": f"gid://shopify/LineItem/{1466157049 + i}", "sku": sku, "quantity": qty,
         "current_quantity": qty, "fulfillable_quantity": qty, "fulfillment_service": "manual", "fulfillment_status": None,
         "gift_card": False, "grams": 200, "name": f"Product {sku} - M", "price": "10.00", "product_exists": True,
         "product_id": 632910392, "properties": [], "requires_shipping": True, "taxable": True, "title": f"Product {sku}",
         "total_discount": "0.00", "variant_id": 808950810 + i, "variant_title": "M", "vendor": "o2o", "tax_lines": [],
         "discount_allocations": [], "duties": []}
        for i, (sku, qty) in enumerate(lines)
    ]  # fmt: skip
    total = f"{sum(qty for _, qty in lines) * 10:.2f}"
    shipping = ({"id": 369256396, "carrier_identifier": None, "code": location_name, "discounted_price": "0.00", "phone": None,
                 "price": "0.00", "requested_fulfillment_service_id": None, "source": "shopify", "title": location_name,
                 "tax_lines": [], "discount_allocations": []} if pickup else
                {"id": 369256397, "carrier_identifier": None, "code": "Standard", "discounted_price": "4.95", "phone": None,
                 "price": "4.95", "requested_fulfillment_service_id": None, "source": "shopify", "title": "Standard",
                 "tax_lines": [], "discount_allocations": []})  # fmt: skip
    payload: dict[str, Any] = {
        "id": int(order_id), "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "app_id": 580111, "name": "#1002",
        "order_number": 1002, "number": 2, "confirmation_number": "XPAV284CT", "confirmed": True, "test": False,
        "created_at": "2026-06-15T12:30:00+01:00", "updated_at": "2026-06-15T12:30:01+01:00", "processed_at": "2026-06-15T12:30:00+01:00",
        "currency": "GBP", "presentment_currency": "GBP", "subtotal_price": total, "total_price": total, "total_tax": "0.00",
        "total_discounts": "0.00", "financial_status": "paid", "fulfillment_status": None, "cancelled_at": None,
        "source_name": "web", "location_id": None, "email": "ada@example.com", "contact_email": "ada@example.com",
        "phone": None, "note": note, "note_attributes": [], "tags": "", "buyer_accepts_marketing": False,
        "customer": {"id": 207119551, "email": "ada@example.com", "first_name": "Ada", "last_name": "Byron",
                     "admin_graphql_api_id": "gid://shopify/Customer/207119551"},
        "billing_address": _address(), "discount_codes": [], "line_items": line_items, "fulfillments": [], "refunds": [],
        "shipping_lines": [shipping],
    }  # fmt: skip
    if not pickup:
        payload["shipping_address"] = _address()
    payload.update(extra)
    return payload


def delivery(payload: Any, *, event_id: str | None = "evt-1", topic: str = "orders/create", secret: str = WEBHOOK_SECRET,
             shop: str = f"{SHOP}.myshopify.com", raw: bytes | None = None, signed: bool = True) -> Any:  # fmt: skip
    """A webhook delivery as Shopify sends it."""
    from o2o_shopify import sign

    from o2o_sdk import WebhookRequest

    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop,
               "X-Shopify-Webhook-Id": f"wh-{event_id}", "X-Shopify-API-Version": "2025-04",
               "X-Shopify-Triggered-At": "2026-06-15T12:05:00Z",
               "X-Shopify-Hmac-Sha256": sign(body, secret) if signed else sign(body, "not-the-secret")}  # fmt: skip
    if event_id is not None:
        headers["X-Shopify-Event-Id"] = event_id
    return WebhookRequest(body, headers, "https://shop.example/webhooks/shopify")

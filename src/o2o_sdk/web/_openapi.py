"""The OpenAPI 3.1 document of the JSON API, served at ``/api/openapi.json``.

Hand-written, so that it says exactly what the endpoints accept and answer; the schemathesis
test in ``tests/web`` checks the app against it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_STR = {"type": "string"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "One key per POS transaction (1-200 printable characters); a retry with the same key and"
    " request returns the first result, with a different request it is refused (409 idempotency_conflict)."
    " Keys are scoped to the API key.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}

_COMMON = {
    "400": _error("Malformed request: body is not JSON, or a missing or malformed Idempotency-Key."),
    "401": _error("Missing, unknown or revoked API key."),
    "403": _error("The API key is not valid for that store (store_forbidden)."),
    "404": _error("Unknown store, reservation or redemption."),
    "413": _error("Request body larger than 64 KiB."),
    "422": _error("A field is missing or malformed (invalid_input)."),
    "429": _error("Too many attempts (rate_limited); see Retry-After."),
}


def _schemas() -> dict[str, Any]:
    money = {
        "type": "object",
        "required": ["minor", "currency"],
        "additionalProperties": False,
        "properties": {
            "minor": {"type": "integer", "minimum": 0, "maximum": 10**15, "description": "Amount in minor units."},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
    }
    refusal = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": _STR, "message": _STR, "source": {"type": ["string", "null"]}},
    }
    discount = {
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": ["percent", "amount", "free_item"]},
            "amount": {"oneOf": [_ref("Money"), {"type": "null"}]},
            "percent": {"type": ["string", "null"]},
            "sku": {"type": ["string", "null"]},
            "description": _STR,
        },
    }
    checked = {
        "token": {"type": "string", "minLength": 1, "maxLength": 4096, "description": "Voucher token or its link."},
        "store_id": {"type": "string", "minLength": 1, "maxLength": 200,
                     "description": "Defaults to the API key's store; required with an admin key."},
        "customer_id": {"type": "string", "minLength": 1, "maxLength": 200},
        "basket": _ref("Basket"),
    }  # fmt: skip
    return {
        "Money": money,
        "BasketItem": {
            "type": "object",
            "required": ["sku", "quantity", "unit_price"],
            "additionalProperties": False,
            "properties": {
                "sku": {"type": "string", "minLength": 1, "maxLength": 100},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 100000},
                "unit_price": _ref("Money"),
            },
        },
        "Basket": {
            "type": "object",
            "required": ["total"],
            "additionalProperties": False,
            "properties": {"total": _ref("Money"), "items": {"type": "array", "maxItems": 500, "items": _ref("BasketItem")}},
        },
        "Refusal": refusal,
        "Discount": discount,
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": _STR, "message": _STR, "refusals": {"type": "array", "items": _ref("Refusal")}},
                }
            },
        },
        "CheckRequest": {"type": "object", "required": ["token"], "additionalProperties": False, "properties": checked},
        "ReserveRequest": {
            "type": "object",
            "required": ["token"],
            "additionalProperties": False,
            "properties": {**checked, "ttl_seconds": {"type": "integer", "minimum": 1, "maximum": 86400}},
        },
        "RedeemRequest": {
            "type": "object",
            "required": ["token"],
            "additionalProperties": False,
            "properties": {**checked, "reservation_id": {"type": "string", "minLength": 1, "maxLength": 100}},
        },
        "ReleaseRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
        },
        "VoidRequest": {
            "type": "object",
            "required": ["reason"],
            "additionalProperties": False,
            "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": r"\S"}},
        },
        "Validation": {
            "type": "object",
            "required": ["ok", "store_id", "refusals"],
            "properties": {
                "ok": {"type": "boolean"},
                "voucher_id": {"type": ["string", "null"]},
                "offer_id": {"type": ["string", "null"]},
                "store_id": _STR,
                "customer_id": {"type": ["string", "null"]},
                "discount": {"oneOf": [_ref("Discount"), {"type": "null"}]},
                "refusals": {"type": "array", "items": _ref("Refusal")},
            },
        },
        "Pickup": {
            "type": "object",
            "required": ["id", "kind", "store_id", "state", "version"],
            "properties": {
                "id": _STR, "kind": {"type": "string", "enum": ["order", "reservation"]}, "store_id": _STR,
                "state": {"type": "string", "enum": ["placed", "accepted", "ready", "arrived", "handed_over", "released", "cancelled"]},
                "customer_id": {"type": ["string", "null"]}, "customer_email": {"type": ["string", "null"]},
                "items": {"type": "array", "items": {"type": "object"}}, "deadline": {"type": ["string", "null"]},
                "slot_start": {"type": ["string", "null"]}, "platform": {"type": ["string", "null"]},
                "order_id": {"type": ["string", "null"]}, "arrival_note": {"type": ["string", "null"]},
                "curbside": {"type": "boolean"}, "bought": {"type": ["boolean", "null"]}, "version": {"type": "integer"},
            },
        },
        "PickupList": {"type": "object", "required": ["pickups"], "properties": {"pickups": {"type": "array", "items": _ref("Pickup")}}},
        "HandoverRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["pass"],
            "properties": {
                "pass": {"type": "string", "minLength": 1, "maxLength": 1024, "description": "The scanned pickup pass (token or link)."},
                "store_id": {"type": "string", "maxLength": 200},
                "bought": {"type": "boolean", "description": "Reservations: whether the customer bought."},
            },
        },
        "PickupStepRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"note": {"type": "string", "maxLength": 200}, "reason": {"type": "string", "maxLength": 500}},
        },
        "Reservation": {
            "type": "object",
            "required": ["id", "voucher_id", "offer_id", "store_id", "expires_at", "status"],
            "properties": {
                "id": _STR, "voucher_id": _STR, "offer_id": _STR, "store_id": _STR,
                "customer_id": {"type": ["string", "null"]}, "created_at": _STR, "expires_at": _STR,
                "status": {"type": "string", "enum": ["active", "released", "expired", "converted"]},
                "amount": {"oneOf": [_ref("Money"), {"type": "null"}]},
            },
        },
        "Redemption": {
            "type": "object",
            "required": ["id", "voucher_id", "offer_id", "store_id", "discount", "redeemed_at"],
            "properties": {
                "id": _STR, "voucher_id": _STR, "offer_id": _STR, "store_id": _STR,
                "customer_id": {"type": ["string", "null"]}, "discount": _ref("Discount"), "redeemed_at": _STR,
                "basket_total": {"oneOf": [_ref("Money"), {"type": "null"}]},
                "idempotency_key": {"type": ["string", "null"]}, "reservation_id": {"type": ["string", "null"]},
                "voided_at": {"type": ["string", "null"]}, "void_reason": {"type": ["string", "null"]},
            },
        },
        "Key": {
            "type": "object",
            "required": ["key_id", "store_id", "name"],
            "properties": {"key_id": _STR, "store_id": _STR, "name": _STR},
        },
        "StoreMatch": {
            "type": "object",
            "required": ["id", "name", "distance_m", "open"],
            "properties": {
                "id": _STR, "name": _STR, "address": _STR, "latitude": {"type": "number"},
                "longitude": {"type": "number"}, "timezone": _STR, "distance_m": {"type": "number"},
                "open": {"type": ["boolean", "null"]}, "next_change": {"type": ["string", "null"]},
                "status_text": _STR, "services": {"type": "array", "items": _STR},
                "stock": {"type": "object", "additionalProperties": {"type": "integer"}},
                "hours": {"type": ["object", "null"]},
            },
        },
        "NearResult": {
            "type": "object",
            "required": ["origin", "stores"],
            "properties": {
                "origin": {
                    "oneOf": [
                        {"type": "null"},
                        {
                            "type": "object",
                            "properties": {
                                "latitude": {"type": "number"},
                                "longitude": {"type": "number"},
                                "label": {"type": ["string", "null"]},
                            },
                        },
                    ]
                },
                "stores": {"type": "array", "items": _ref("StoreMatch")},
                "message": _STR,
            },
        },
    }


def _post(summary: str, description: str, request: str, ok_status: str, ok: dict[str, Any], *,
          idempotent: bool = False, params: list[dict[str, Any]] | None = None,
          body_required: bool = True) -> dict[str, Any]:  # fmt: skip
    responses = {ok_status: ok, **_COMMON}
    if request in ("ReserveRequest", "RedeemRequest"):
        responses["409"] = _error(
            "Refused (redemption_refused, every reason in refusals) or an Idempotency-Key reused for a"
            " different request (idempotency_conflict)."
        )
    op: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "security": [{"apiKey": []}],
        "requestBody": {"required": body_required, "content": {"application/json": {"schema": _ref(request)}}},
        "responses": responses,
    }
    parameters = list(params or [])
    if idempotent:
        parameters.append(_IDEMPOTENCY)
    if parameters:
        op["parameters"] = parameters
    return op


def openapi_document(server: str) -> dict[str, Any]:
    """The document, with ``server`` (the app's mount path) as its server URL."""
    id_param = {"in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 100}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "o2o-sdk POS and store-locator API",
            "version": "1",
            "description": "Validate, hold, redeem and void vouchers at a store with a store-scoped API key;"
            " find the nearest open stores. Errors are {\"error\": {\"code\", \"message\", \"refusals\"?}}:"
            " refusals are 409 (redemption_refused) on reserve and redeem, and 200 with ok=false on validate.",
        },
        "servers": [{"url": server}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "A store API key (o2o keys create)."}},
            "schemas": _schemas(),
        },
        "paths": {
            "/api/pos/v1/me": {
                "get": {
                    "summary": "The API key's store",
                    "security": [{"apiKey": []}],
                    "responses": {"200": _json(_ref("Key"), "The key."), "401": _COMMON["401"]},
                }
            },
            "/api/pos/v1/validate": {
                "post": _post("Validate a voucher (dry run)",
                              "What would apply now at the store, or every reason it would not (ok=false)."
                              " Rate limited per key and client IP.",
                              "CheckRequest", "200", _json(_ref("Validation"), "The dry run's result."))
            },
            "/api/pos/v1/reserve": {
                "post": _post("Hold a voucher for a checkout", "Counts against the caps until released or expired.",
                              "ReserveRequest", "201", _json(_ref("Reservation"), "The hold."), idempotent=True)
            },
            "/api/pos/v1/reservations/{reservation_id}/release": {
                "post": _post("Release a hold", "Releasing twice is harmless.", "ReleaseRequest", "200",
                              _json(_ref("Reservation"), "The released hold."),
                              params=[{"name": "reservation_id", **id_param}], body_required=False)
            },
            "/api/pos/v1/redeem": {
                "post": _post("Redeem a voucher", "Exactly once, within caps; a retry with the same Idempotency-Key"
                              " returns the first redemption.", "RedeemRequest", "201",
                              _json(_ref("Redemption"), "The redemption."), idempotent=True)
            },
            "/api/pos/v1/redemptions/{redemption_id}/void": {
                "post": _post("Void a redemption", "Gives caps and budget back; voiding twice returns the first void.",
                              "VoidRequest", "200", _json(_ref("Redemption"), "The voided redemption."),
                              params=[{"name": "redemption_id", **id_param}])
            },
            "/api/pos/v1/pickups": {
                "get": {
                    "summary": "Pickups waiting at the key's store",
                    "security": [{"apiKey": []}],
                    "parameters": [
                        {"name": "state", "in": "query", "schema": {"type": "string", "enum": [
                            "placed", "accepted", "ready", "arrived", "handed_over", "released", "cancelled"]}},
                        {"name": "store_id", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                    ],
                    "responses": {"200": _json(_ref("PickupList"), "Oldest first."), **_COMMON},
                }
            },
            "/api/pos/v1/pickups/handover": {
                "post": {**_post("Hand a pickup over", "After scanning the pickup pass; once only (409 already_handed_over),"
                                 " at the pickup's store only (409 wrong_store).", "HandoverRequest", "200",
                                 _json(_ref("Pickup"), "The pickup, handed over.")),
                         "responses": {"200": _json(_ref("Pickup"), "The pickup, handed over."), **_COMMON,
                                       "409": _error("Not allowed now: already_handed_over, wrong_store, illegal_transition.")}}
            },
            "/api/pos/v1/pickups/{pickup_id}/{step}": {
                "post": {**_post("Take a pickup step", "accept, ready, arrived (note) or cancel (reason).", "PickupStepRequest",
                                 "200", _json(_ref("Pickup"), "The pickup after the step."),
                                 params=[{"name": "pickup_id", **id_param},
                                         {"name": "step", "in": "path", "required": True,
                                          "schema": {"type": "string", "enum": ["accept", "ready", "arrived", "cancel"]}}],
                                 body_required=False),
                         "responses": {"200": _json(_ref("Pickup"), "The pickup after the step."), **_COMMON,
                                       "409": _error("Not allowed from the pickup's state (illegal_transition, already_…).")}}
            },
            "/api/stores/near": {
                "get": {
                    "summary": "Nearest stores (public, CORS)",
                    "description": "Give lat and lon, or q (a postcode or town, geocoded by the o2o_geocode hook).",
                    "parameters": [
                        {"name": "lat", "in": "query", "schema": {"type": "number", "minimum": -90, "maximum": 90}},
                        {"name": "lon", "in": "query", "schema": {"type": "number", "minimum": -180, "maximum": 180}},
                        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                        {"name": "k", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 20}},
                        {"name": "open", "in": "query", "schema": {"type": "string", "enum": ["now", "any"]}},
                        {"name": "service", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                        {"name": "sku", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                        {"name": "offer", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                    ],
                    "responses": {
                        "200": _json(_ref("NearResult"), "Stores, nearest first."),
                        "404": _COMMON["404"],
                        "422": _COMMON["422"],
                        "429": _COMMON["429"],
                    },
                }
            },
        },
    }

"""The sale event contract: what an in-house POS sends to ``POST /webhooks/pos``.

The JSON Schema ships in the package (``sale_event.schema.json``, :func:`schema`); this module
checks events against the same rules by hand, so the SDK needs no JSON Schema library at run
time and every problem is reported with its JSON path and a sentence (``items[1].quantity: must
be a whole number of at least 1, got 0``). The tests prove the two agree. Two rules the schema
cannot say are checked here too: an amount has no more decimals than its currency allows, and
a date exists in the calendar.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import attrs

from o2o_sdk import InvalidInput, Money

from .sales import Channel, Sale, SaleItem, SalePickup

__all__ = ["EVENT_TYPE", "SaleEventInvalid", "Violation", "parse_sale_event", "schema", "validate_sale_event"]

#: The only event type of contract version 1.
EVENT_TYPE = "sale.completed"

_ID_MAX = 200
_DATETIME = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                       r"(\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])")  # fmt: skip
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_DECIMAL_MAX = 24
_CURRENCY = re.compile(r"[A-Z]{3}")
_VOUCHER_ID = re.compile(r"[0-9a-f]{16}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

_TOP = ("type", "event_id", "sale_id", "channel", "store", "occurred_at", "items", "total", "voucher", "customer",
        "pickup", "metadata")  # fmt: skip


@attrs.frozen
class Violation:
    """One broken rule: where (a JSON path like ``items[1].quantity``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SaleEventInvalid(InvalidInput):
    """A sale event that breaks the contract; ``violations`` lists every problem."""

    code = "malformed_payload"

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = tuple(violations)
        shown = "; ".join(str(v) for v in self.violations[:5])
        more = f" (and {len(self.violations) - 5} more)" if len(self.violations) > 5 else ""
        super().__init__(f"{shown}{more}.")


def schema() -> dict[str, Any]:
    """The contract as a JSON Schema (draft 2020-12), as shipped in the package."""
    text = resources.files(__package__).joinpath("sale_event.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, dict | list) else _kind(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Checker:
    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def fail(self, path: str, message: str) -> None:
        self.violations.append(Violation(path, message))

    def obj(self, value: object, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"must be an object, got {_kind(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.fail(_join(path, key), f"unknown field (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.fail(_join(path, key), "is required")
        return value

    def string(self, value: object, path: str, *, max_length: int = _ID_MAX, pattern: re.Pattern[str] | None = None,
               hint: str = "", min_length: int = 1) -> str | None:  # fmt: skip
        if not isinstance(value, str):
            self.fail(path, f"must be a string, got {_kind(value)}")
            return None
        if len(value) < min_length:
            self.fail(path, "must not be empty")
            return None
        if len(value) > max_length:
            self.fail(path, f"must be at most {max_length} characters, got {len(value)}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(path, f"must be {hint}, got {_shown(value)}")
            return None
        return value

    def when(self, value: object, path: str) -> datetime | None:
        text = self.string(value, path, max_length=64, pattern=_DATETIME,
                           hint="ISO 8601 with seconds and a UTC offset, like 2026-06-15T13:05:00+01:00")  # fmt: skip
        if text is None:
            return None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            self.fail(path, f"is not a date in the calendar: {text}")
            return None

    def decimal(self, value: object, path: str) -> Decimal | None:
        text = self.string(value, path, max_length=_DECIMAL_MAX, pattern=_DECIMAL,
                           hint='a decimal string like "12.50" (a dot, no sign, no exponent)')  # fmt: skip
        return Decimal(text) if text is not None else None

    def money(self, amount: Decimal | None, currency: str | None, path: str) -> Money | None:
        if amount is None or currency is None:
            return None
        try:
            return Money.of(amount, currency)
        except InvalidInput as exc:
            self.fail(path, exc.message.rstrip("."))
            return None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def validate_sale_event(payload: object) -> list[Violation]:
    """Every way ``payload`` (parsed JSON) breaks the contract; ``[]`` when it keeps it."""
    checker = _Checker()
    _parse(payload, checker)
    return checker.violations


def parse_sale_event(payload: object) -> Sale:
    """The :class:`~o2o_pos.sales.Sale` in a sale event; :class:`SaleEventInvalid` listing
    every problem otherwise."""
    checker = _Checker()
    sale = _parse(payload, checker)
    if checker.violations or sale is None:
        raise SaleEventInvalid(checker.violations or [Violation("", "not a sale event")])
    return sale


def _parse(payload: object, c: _Checker) -> Sale | None:
    root = c.obj(payload, "", _TOP, ("type", "event_id", "sale_id", "occurred_at", "items", "total"))
    if root is None:
        return None
    if "type" in root and root["type"] != EVENT_TYPE:
        c.fail("type", f'must be "{EVENT_TYPE}", got {_shown(root["type"])}')
    event_id = c.string(root["event_id"], "event_id") if "event_id" in root else None
    sale_id = c.string(root["sale_id"], "sale_id") if "sale_id" in root else None
    channel = Channel.IN_STORE
    if "channel" in root:
        try:
            channel = Channel(root["channel"])
        except ValueError:
            c.fail("channel", f'must be "in_store" or "online", got {_shown(root["channel"])}')
    store: str | None = None
    if "store" in root:
        store = c.string(root["store"], "store")
    elif channel is not Channel.ONLINE:
        c.fail("store", "is required for an in-store sale (an SDK store id or the POS's store code)")
    occurred_at = c.when(root["occurred_at"], "occurred_at") if "occurred_at" in root else None

    total: Money | None = None
    money = c.obj(root["total"], "total", ("amount", "currency"), ("amount", "currency")) if "total" in root else None
    currency: str | None = None
    if money is not None:
        amount = c.decimal(money["amount"], "total.amount") if "amount" in money else None
        if "currency" in money:
            currency = c.string(money["currency"], "total.currency", pattern=_CURRENCY, hint="an ISO 4217 code like EUR")
        total = c.money(amount, currency, "total.amount")

    items: list[SaleItem] = []
    if "items" in root:
        raw_items = root["items"]
        if not isinstance(raw_items, list):
            c.fail("items", f"must be an array, got {_kind(raw_items)}")
        elif not raw_items:
            c.fail("items", "must list at least one item")
        else:
            for n, raw in enumerate(raw_items):
                item = _item(raw, _join("items", n), currency, c)
                if item is not None:
                    items.append(item)

    voucher_token = voucher_id = customer_id = customer_email = None
    if "voucher" in root and (voucher := c.obj(root["voucher"], "voucher", ("token", "id"))) is not None:
        if not voucher:
            c.fail("voucher", "must give the token or the id")
        if "token" in voucher:
            voucher_token = c.string(voucher["token"], "voucher.token", max_length=2000)
        if "id" in voucher:
            voucher_id = c.string(voucher["id"], "voucher.id", pattern=_VOUCHER_ID, hint="16 lower-case hex digits")
    if "customer" in root and (customer := c.obj(root["customer"], "customer", ("id", "email"))) is not None:
        if not customer:
            c.fail("customer", "must give the id or the email")
        if "id" in customer:
            customer_id = c.string(customer["id"], "customer.id")
        if "email" in customer:
            customer_email = c.string(customer["email"], "customer.email", max_length=320, pattern=_EMAIL,
                                      hint="an email address")  # fmt: skip

    pickup: SalePickup | None = None
    if "pickup" in root:
        pickup = _pickup(root["pickup"], c)
        if channel is Channel.ONLINE and "store" not in root and isinstance(root["pickup"], dict) and "store" not in root["pickup"]:
            c.fail("pickup.store", "is required when the sale has no store")
    metadata: dict[str, Any] = {}
    if "metadata" in root:
        if isinstance(root["metadata"], dict):
            metadata = root["metadata"]
        else:
            c.fail("metadata", f"must be an object, got {_kind(root['metadata'])}")

    if c.violations or event_id is None or sale_id is None or occurred_at is None or total is None:
        return None
    return Sale(sale_id, occurred_at, total, store, channel, tuple(items), voucher_token, voucher_id, customer_id,
                customer_email, pickup, event_id, metadata)  # fmt: skip


def _item(raw: object, path: str, currency: str | None, c: _Checker) -> SaleItem | None:
    item = c.obj(raw, path, ("sku", "quantity", "unit_price", "name"), ("sku", "quantity", "unit_price"))
    if item is None:
        return None
    sku = c.string(item["sku"], _join(path, "sku")) if "sku" in item else None
    quantity: int | None = None
    if "quantity" in item:
        q = item["quantity"]
        # JSON Schema's "integer" accepts 2.0; booleans are not numbers there.
        if isinstance(q, bool) or not isinstance(q, int | float) or (isinstance(q, float) and not q.is_integer()) or q < 1:
            c.fail(_join(path, "quantity"), f"must be a whole number of at least 1, got {_shown(q)}")
        else:
            quantity = int(q)
    price = c.decimal(item["unit_price"], _join(path, "unit_price")) if "unit_price" in item else None
    unit_price = c.money(price, currency, _join(path, "unit_price"))
    name = c.string(item["name"], _join(path, "name"), max_length=500, min_length=0) if "name" in item else None
    if sku is None or quantity is None:
        return None
    return SaleItem(sku, quantity, unit_price, name or None)


def _pickup(raw: object, c: _Checker) -> SalePickup | None:
    pickup = c.obj(raw, "pickup", ("store", "pickup_at", "deadline", "note", "curbside"))
    if pickup is None:
        return None
    store = c.string(pickup["store"], "pickup.store") if "store" in pickup else None
    pickup_at = c.when(pickup["pickup_at"], "pickup.pickup_at") if "pickup_at" in pickup else None
    deadline = c.when(pickup["deadline"], "pickup.deadline") if "deadline" in pickup else None
    note = c.string(pickup["note"], "pickup.note", max_length=500, min_length=0) if "note" in pickup else None
    curbside = False
    if "curbside" in pickup:
        if isinstance(pickup["curbside"], bool):
            curbside = pickup["curbside"]
        else:
            c.fail("pickup.curbside", f"must be true or false, got {_shown(pickup['curbside'])}")
    return SalePickup(store, pickup_at, deadline, note or None, curbside)

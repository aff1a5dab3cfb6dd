"""The sale event contract: the hand checks in o2o_pos.contract agree with the JSON Schema
shipped in the package (judged by jsonschema, a test-only dependency) on every mutation of
valid events, report each problem with its path, and the examples in the docs are valid."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from o2o_pos import SaleEventInvalid, parse_sale_event, schema, validate_sale_event
from pos_events import event

from o2o_sdk import Money

DOCS = [Path(__file__).parents[1] / "README.md", Path(__file__).parents[3] / "docs" / "adapters" / "pos.md"]

RICH = event(channel="in_store", voucher={"token": "kAbC.def", "id": "0f1e2d3c4b5a6978"}, metadata={"till": 1, "tags": ["a"]},
             pickup={"store": "T02", "pickup_at": "2026-06-16T10:00:00Z", "deadline": "2026-06-17T10:00:00.123456789-05:30",
                     "note": "", "curbside": False})  # fmt: skip
ONLINE = event(channel="online", store=None, customer={"email": "ben@example.com"}, pickup={"store": "T02"})
BASES = {"rich": RICH, "online": ONLINE, "minimal": event(customer=None)}

#: Values put in every place of a valid event (each wrong somewhere, right somewhere else).
POOL: list[Any] = [None, True, False, 0, 1, -1, 1.0, 2.5, "", "x", " ", "12.50", "-1.00", "1e3", "12,50", "EUR", "eur",
                   "2026-06-15T13:05:00+01:00", "2026-06-15 13:05:00+01:00", "2026-06-15T13:05:00", "0f1e2d3c4b5a6978",
                   "0F1E2D3C4B5A6978", "ada@example.com", "in_store", "online", "sale.completed", "T01", "a" * 201,
                   [], [1], {}, {"sku": "x", "quantity": 1, "unit_price": "1.00"}, {"amount": "1.00", "currency": "EUR"}]  # fmt: skip


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    shipped = schema()
    jsonschema.Draft202012Validator.check_schema(shipped)
    return jsonschema.Draft202012Validator(shipped)


def places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside ``value``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*path, key)
            yield from places(inner, (*path, key))
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            yield (*path, n)
            yield from places(inner, (*path, n))


def mutated(base: dict[str, Any], path: tuple[Any, ...], value: Any = ..., add: str | None = None) -> Any:
    out = copy.deepcopy(base)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if add is not None:
        target = parent[path[-1]] if path else out
        if isinstance(target, dict):
            target[add] = "surprise"
        return out
    if value is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


def mutations() -> Iterator[tuple[str, Any]]:
    for name, base in BASES.items():
        yield f"{name}", base
        for path in places(base):
            shown = ".".join(map(str, path))
            yield f"{name} del {shown}", mutated(base, path)
            for n, value in enumerate(POOL):
                yield f"{name} {shown}={n}", mutated(base, path, value)
            yield f"{name} {shown}+extra", mutated(base, path, add="surprise_field")
        yield f"{name} +extra", mutated(base, (), add="surprise_field")
    for n, value in enumerate(POOL):
        yield f"root={n}", value


CASES = list(mutations())


def test_the_mutations_cover_both_verdicts(validator) -> None:
    verdicts = [validator.is_valid(payload) for _, payload in CASES]
    assert len(CASES) > 1500 and 100 < sum(verdicts) < len(CASES) - 1000


def test_the_hand_checks_agree_with_the_shipped_schema(validator) -> None:
    disagree = []
    for name, payload in CASES:
        by_schema = validator.is_valid(payload)
        by_hand = validate_sale_event(payload) == []
        if by_schema != by_hand:
            disagree.append(f"{name}: schema {by_schema}, hand {by_hand} {validate_sale_event(payload)}")
    assert disagree == [], "\n".join(disagree[:20])


def test_parse_keeps_what_validate_accepts(validator) -> None:
    for _, payload in CASES:
        if validator.is_valid(payload):
            parse_sale_event(payload)  # no exception
        else:
            with pytest.raises(SaleEventInvalid):
                parse_sale_event(payload)


def test_what_only_the_hand_checks_catch(validator) -> None:
    for payload, message in (
        (event(occurred_at="2026-02-30T10:00:00Z"), "occurred_at: is not a date in the calendar: 2026-02-30T10:00:00Z"),
        (event(total={"amount": "9.005", "currency": "GBP"}), "total.amount: 9.005 GBP has more than 2 decimal places"),
        (event(total={"amount": "900.5", "currency": "JPY"}, items=[{"sku": "x", "quantity": 1, "unit_price": "900"}]),
         "total.amount: 900.5 JPY has more than 0 decimal places"),
    ):  # fmt: skip
        assert validator.is_valid(payload)
        assert [str(v) for v in validate_sale_event(payload)] == [message]


def test_every_problem_is_named_by_its_path() -> None:
    payload = event(type="sale.voided", items=[{"sku": "", "quantity": 0}, "flat-white"], store=None,
                    total={"amount": "9", "currency": "gbp"}, voucher={}, customer={"email": "ada"}, till=3)  # fmt: skip
    assert [str(v) for v in validate_sale_event(payload)] == [
        "till: unknown field (allowed: type, event_id, sale_id, channel, store, occurred_at, items, total, voucher, customer, pickup, metadata)",
        'type: must be "sale.completed", got "sale.voided"',
        "store: is required for an in-store sale (an SDK store id or the POS's store code)",
        'total.currency: must be an ISO 4217 code like EUR, got "gbp"',
        "items[0].unit_price: is required",
        "items[0].sku: must not be empty",
        "items[0].quantity: must be a whole number of at least 1, got 0",
        "items[1]: must be an object, got a string",
        "voucher: must give the token or the id",
        'customer.email: must be an email address, got "ada"',
    ]
    with pytest.raises(SaleEventInvalid) as caught:
        parse_sale_event(payload)
    assert caught.value.code == "malformed_payload" and "(and 5 more)" in caught.value.message


def test_a_valid_event_parses_into_a_sale() -> None:
    sale = parse_sale_event(RICH)
    assert (sale.sale_id, sale.event_id, sale.store, sale.total) == ("T01-000950", "evt-0001", "T01", Money(900, "GBP"))
    assert [(i.sku, i.quantity, i.unit_price) for i in sale.items] == [("flat-white", 2, Money(320, "GBP")),
                                                                       ("cardamom-bun", 1, Money(260, "GBP"))]  # fmt: skip
    assert (sale.voucher_token, sale.voucher_id, sale.customer_id) == ("kAbC.def", "0f1e2d3c4b5a6978", "cust-7")
    assert sale.pickup is not None and sale.pickup.deadline is not None and sale.pickup.deadline.utcoffset().total_seconds() == -19800
    assert sale.metadata == {"till": 1, "tags": ["a"]}


def _json_examples(doc: Path) -> list[dict[str, Any]]:
    text = doc.read_text(encoding="utf-8")
    found = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]
    found += [json.loads(line) for line in re.findall(r"^(\{\"type\":\"sale\.completed\".*\})$", text, re.M)]
    return [f for f in found if isinstance(f, dict) and f.get("type") == "sale.completed"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_the_examples_in_the_docs_are_valid(doc: Path, validator) -> None:
    examples = _json_examples(doc)
    assert len(examples) >= 2
    for example in examples:
        assert validator.is_valid(example), list(validator.iter_errors(example))
        assert validate_sale_event(example) == []


def test_the_docs_list_every_field_of_the_schema() -> None:
    text = DOCS[1].read_text(encoding="utf-8")
    for field in schema()["properties"]:
        assert f"| `{field}` |" in text, f"docs/adapters/pos.md does not describe {field}"

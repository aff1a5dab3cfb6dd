"""Request bodies of the Catalog API: an offer as a ``DISCOUNT`` (and, for automatic discounts,
a ``PRODUCT_SET`` of all items plus a ``PRICING_RULE`` carrying the offer's window), and the
searches for discounts by name and item variations by SKU.

The tests validate every body built here against the request schemas of Square's OpenAPI
document (``shared/specs/square/api.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from o2o_sdk import DiscountKind, InvalidInput, Offer

__all__ = [
    "DISCOUNT_REF",
    "PRODUCTS_REF",
    "RULE_REF",
    "discount_objects",
    "discount_search",
    "is_automatic",
    "percentage",
    "sku_search",
    "variations_by_id",
    "window",
]

#: Temporary ids of the objects one mirror creates (Square replaces them; ``id_mappings`` says with what).
DISCOUNT_REF = "#o2o-discount"
PRODUCTS_REF = "#o2o-all-items"
RULE_REF = "#o2o-pricing-rule"
#: Square's page size for catalog searches.
PAGE = 1000


def percentage(value: Decimal) -> str:
    """Square's percentage string: ``Decimal("15")`` -> ``"15"``, ``Decimal("7.50")`` -> ``"7.5"``."""
    text = f"{value.normalize():f}"
    return text


def is_automatic(offer: Offer, default: bool) -> bool:
    """Whether the offer is mirrored as an automatic discount (``metadata["square_automatic"]`` wins)."""
    given = offer.metadata.get("square_automatic")
    if isinstance(given, bool):
        return given
    if isinstance(given, str) and given.strip():
        return given.strip().lower() in ("1", "true", "yes", "on")
    return default


def _discount_data(offer: Offer, code: str) -> dict[str, Any]:
    discount = offer.discount
    if discount.kind is DiscountKind.PERCENT and discount.percent is not None:
        return {"name": code, "discount_type": "FIXED_PERCENTAGE", "percentage": percentage(discount.percent), "pin_required": False}
    if discount.kind is DiscountKind.AMOUNT and discount.amount is not None:
        return {"name": code, "discount_type": "FIXED_AMOUNT", "pin_required": False,
                "amount_money": {"amount": discount.amount.minor, "currency": discount.amount.currency}}  # fmt: skip
    raise InvalidInput(f"Offer {offer.id} gives {discount.describe()}: only percent and fixed-amount offers can be "
                       "mirrored as Square catalog discounts.", code="unsupported_discount")  # fmt: skip


def _local(value: datetime, zone: tzinfo) -> datetime:
    """Store-local wall time: a naive datetime already is one; an aware one is seen in ``zone``."""
    return value if value.tzinfo is None else value.astimezone(zone).replace(tzinfo=None)


def window(offer: Offer, zone: tzinfo = UTC) -> dict[str, str]:
    """``valid_from_date`` / ``valid_from_local_time`` / ``valid_until_*`` of a pricing rule.

    Square evaluates them in each location's local time, which is exactly what an offer with
    naive (wall-clock) times means; an offer with aware times is converted to ``zone`` first.
    """
    out: dict[str, str] = {}
    if offer.starts_at is not None:
        start = _local(offer.starts_at, zone)
        out["valid_from_date"], out["valid_from_local_time"] = start.date().isoformat(), start.strftime("%H:%M:%S")
    if offer.ends_at is not None:
        end = _local(offer.ends_at, zone)
        out["valid_until_date"], out["valid_until_local_time"] = end.date().isoformat(), end.strftime("%H:%M:%S")
    return out


def _presence(location_ids: Sequence[str] | None) -> dict[str, Any]:
    if location_ids is None:
        return {"present_at_all_locations": True}
    return {"present_at_all_locations": False, "present_at_location_ids": list(location_ids)}


def discount_objects(offer: Offer, code: str, *, automatic: bool, location_ids: Sequence[str] | None = None,
                     zone: tzinfo = UTC) -> list[dict[str, Any]]:  # fmt: skip
    """The catalog objects mirroring ``offer`` under the name ``code``, for one atomic batch.

    Always a ``DISCOUNT`` (``FIXED_PERCENTAGE`` with the percentage as a string, or
    ``FIXED_AMOUNT`` in minor units). With ``automatic``, also a ``PRODUCT_SET`` of all items and
    a ``PRICING_RULE`` applying the discount to every sale in the offer's window (and above its
    minimum basket): Square then applies it by itself, to everyone. ``location_ids`` limits the
    objects to those locations (the offer's eligible stores).
    """
    presence = _presence(location_ids)
    objects: list[dict[str, Any]] = [{"type": "DISCOUNT", "id": DISCOUNT_REF, **presence, "discount_data": _discount_data(offer, code)}]
    if automatic:
        rule: dict[str, Any] = {"name": code, "discount_id": DISCOUNT_REF, "match_products_id": PRODUCTS_REF, **window(offer, zone)}
        if offer.min_basket is not None:
            rule["minimum_order_subtotal_money"] = {"amount": offer.min_basket.minor, "currency": offer.min_basket.currency}
        objects += [
            {"type": "PRODUCT_SET", "id": PRODUCTS_REF, **presence, "product_set_data": {"name": f"{code}: all items", "all_products": True}},
            {"type": "PRICING_RULE", "id": RULE_REF, **presence, "pricing_rule_data": rule},
        ]  # fmt: skip
    return objects


def discount_search(code: str) -> dict[str, Any]:
    """``SearchCatalogObjects`` for discounts named ``code`` (Square matches partially and
    ignoring case: the caller keeps exact names)."""
    return {"object_types": ["DISCOUNT"], "query": {"exact_query": {"attribute_name": "name", "attribute_value": code}},
            "limit": 100}  # fmt: skip


def sku_search(skus: Sequence[str]) -> dict[str, Any]:
    """``SearchCatalogObjects`` for the item variations with any of ``skus`` (at most 250)."""
    if not 0 < len(skus) <= 250:
        raise ValueError("Square searches 1 to 250 SKUs at a time")
    return {"object_types": ["ITEM_VARIATION"], "query": {"set_query": {"attribute_name": "sku", "attribute_values": list(skus)}},
            "limit": PAGE}  # fmt: skip


def variations_by_id(ids: Sequence[str]) -> dict[str, Any]:
    """``BatchRetrieveCatalogObjects`` for item variations (to learn their SKUs)."""
    return {"object_ids": list(ids), "include_related_objects": False}

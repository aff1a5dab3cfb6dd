"""Every GraphQL document the adapter sends, and the builders of their variables.

The tests validate each document, with the variables the adapter builds, against the real
Admin API schema (``shared/specs/shopify/admin-2025-04.graphql``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from o2o_sdk import DiscountKind, InvalidInput, Offer

__all__ = [
    "ALL_DOCUMENTS",
    "CUSTOMER_BY_EMAIL",
    "DISCOUNT_BY_CODE",
    "DISCOUNT_CREATE",
    "DISCOUNT_USAGE",
    "FULFILL_PICKUP",
    "INVENTORY_BY_SKU",
    "INVENTORY_LEVELS_PAGE",
    "LOCATIONS",
    "LOCATIONS_COUNT",
    "MAX_PAGE",
    "ORDER_FULFILLMENT_ORDERS",
    "PREPARED_FOR_PICKUP",
    "SHOP_TIMEZONE",
    "TAG_ORDER",
    "discount_input",
    "fulfillment_input",
    "prepared_for_pickup_input",
    "search_value",
    "uses_context",
]

#: Shopify's largest page.
MAX_PAGE = 250

LOCATIONS = """
query O2OLocations($first: Int!, $after: String) {
  locations(first: $first, after: $after, includeInactive: false) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      legacyResourceId
      name
      isActive
      fulfillsOnlineOrders
      address { address1 address2 city province zip country countryCode latitude longitude formatted }
      localPickupSettingsV2 { instructions }
    }
  }
}
"""

LOCATIONS_COUNT = """
query O2OLocationsCount {
  locationsCount { count }
}
"""

SHOP_TIMEZONE = """
query O2OShopTimezone {
  shop { ianaTimezone }
}
"""

INVENTORY_BY_SKU = """
query O2OInventoryBySku($first: Int!, $query: String!, $levels: Int!) {
  inventoryItems(first: $first, query: $query) {
    nodes {
      id
      sku
      inventoryLevels(first: $levels) {
        pageInfo { hasNextPage endCursor }
        nodes {
          location { id }
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
  }
}
"""

INVENTORY_LEVELS_PAGE = """
query O2OInventoryLevels($id: ID!, $first: Int!, $after: String) {
  inventoryItem(id: $id) {
    inventoryLevels(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        location { id }
        quantities(names: ["available"]) { name quantity }
      }
    }
  }
}
"""

CUSTOMER_BY_EMAIL = """
query O2OCustomerByEmail($query: String!) {
  customers(first: 1, query: $query) {
    nodes {
      id
      firstName
      lastName
      defaultEmailAddress { emailAddress }
    }
  }
}
"""

DISCOUNT_BY_CODE = """
query O2ODiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount {
      __typename
      ... on DiscountCodeBasic { title asyncUsageCount }
    }
  }
}
"""

DISCOUNT_USAGE = """
query O2ODiscountUsage($id: ID!) {
  codeDiscountNode(id: $id) {
    id
    codeDiscount {
      __typename
      ... on DiscountCodeBasic { asyncUsageCount }
      ... on DiscountCodeBxgy { asyncUsageCount }
      ... on DiscountCodeFreeShipping { asyncUsageCount }
    }
  }
}
"""

DISCOUNT_CREATE = """
mutation O2OMirrorOffer($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode {
      id
      codeDiscount {
        ... on DiscountCodeBasic { asyncUsageCount codes(first: 1) { nodes { code } } }
      }
    }
    userErrors { field code message }
  }
}
"""

ORDER_FULFILLMENT_ORDERS = """
query O2OOrderFulfillmentOrders($id: ID!, $first: Int!, $lines: Int!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: $first, displayable: true) {
      nodes {
        id
        status
        assignedLocation { name location { id } }
        deliveryMethod { methodType presentedName }
        lineItems(first: $lines) {
          pageInfo { hasNextPage }
          nodes { id sku totalQuantity remainingQuantity productTitle lineItem { sku name } }
        }
      }
    }
  }
}
"""

PREPARED_FOR_PICKUP = """
mutation O2OPreparedForPickup($input: FulfillmentOrderLineItemsPreparedForPickupInput!) {
  fulfillmentOrderLineItemsPreparedForPickup(input: $input) {
    userErrors { field code message }
  }
}
"""

FULFILL_PICKUP = """
mutation O2OFulfillPickup($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""

TAG_ORDER = """
mutation O2OTagOrder($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""

#: name -> document, for the schema tests.
ALL_DOCUMENTS: dict[str, str] = {
    "LOCATIONS": LOCATIONS,
    "LOCATIONS_COUNT": LOCATIONS_COUNT,
    "SHOP_TIMEZONE": SHOP_TIMEZONE,
    "INVENTORY_BY_SKU": INVENTORY_BY_SKU,
    "INVENTORY_LEVELS_PAGE": INVENTORY_LEVELS_PAGE,
    "CUSTOMER_BY_EMAIL": CUSTOMER_BY_EMAIL,
    "DISCOUNT_BY_CODE": DISCOUNT_BY_CODE,
    "DISCOUNT_USAGE": DISCOUNT_USAGE,
    "DISCOUNT_CREATE": DISCOUNT_CREATE,
    "ORDER_FULFILLMENT_ORDERS": ORDER_FULFILLMENT_ORDERS,
    "PREPARED_FOR_PICKUP": PREPARED_FOR_PICKUP,
    "FULFILL_PICKUP": FULFILL_PICKUP,
    "TAG_ORDER": TAG_ORDER,
}


def search_value(field: str, value: str) -> str:
    """One term of Shopify's search syntax, quoted: ``sku:"AB-1"``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}:"{escaped}"'


def uses_context(api_version: str) -> bool:
    """Whether ``discountCodeBasicCreate`` takes the buyer filter as ``context`` (versions after
    2025-04) rather than ``customerSelection`` (up to 2025-04)."""
    return api_version > "2025-04"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def discount_input(offer: Offer, code: str, api_version: str, *, starts_at: datetime, ends_at: datetime | None) -> dict[str, Any]:
    """``DiscountCodeBasicInput`` for an offer, in the shape of ``api_version``.

    ``starts_at`` / ``ends_at`` are absolute instants (the caller resolves store-local times).
    A percentage travels as a fraction (15 % -> ``0.15``); a fixed amount as a decimal string.
    """
    discount = offer.discount
    if discount.kind is DiscountKind.PERCENT and discount.percent is not None:
        value: dict[str, Any] = {"percentage": float(discount.percent / Decimal(100))}
    elif discount.kind is DiscountKind.AMOUNT and discount.amount is not None:
        value = {"discountAmount": {"amount": str(discount.amount.amount), "appliesOnEachItem": False}}
    else:
        raise InvalidInput(f"Offer {offer.id} gives {discount.describe()}: only percent and fixed-amount offers can be "
                           "mirrored as Shopify basic discount codes.", code="unsupported_discount")  # fmt: skip
    data: dict[str, Any] = {
        "title": offer.title,
        "code": code,
        "startsAt": _iso(starts_at),
        "endsAt": _iso(ends_at) if ends_at is not None else None,
        "customerGets": {"value": value, "items": {"all": True}},
        "appliesOncePerCustomer": offer.caps.per_customer == 1,
        "combinesWith": {"orderDiscounts": False, "productDiscounts": False, "shippingDiscounts": True},
    }
    if offer.caps.total is not None:
        data["usageLimit"] = offer.caps.total
    if offer.min_basket is not None:
        data["minimumRequirement"] = {"subtotal": {"greaterThanOrEqualToSubtotal": str(offer.min_basket.amount)}}
    if uses_context(api_version):
        data["context"] = {"all": "ALL"}
    else:
        data["customerSelection"] = {"all": True}
    return data


def prepared_for_pickup_input(fulfillment_order_ids: list[str]) -> dict[str, Any]:
    """``FulfillmentOrderLineItemsPreparedForPickupInput``: every line of these fulfillment orders is ready."""
    return {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo} for fo in fulfillment_order_ids]}


def fulfillment_input(fulfillment_order_ids: list[str], *, notify_customer: bool = False) -> dict[str, Any]:
    """``FulfillmentInput`` fulfilling every remaining line of these fulfillment orders (one order,
    one location): no ``fulfillmentOrderLineItems`` means all of them."""
    return {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo} for fo in fulfillment_order_ids],
        "notifyCustomer": notify_customer,
    }

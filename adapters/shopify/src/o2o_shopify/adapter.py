"""The Shopify adapter: locations as stores, inventory, discount-code mirrors, customers, webhooks,
local-pickup orders and their fulfillment steps."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs
import httpx

from o2o_sdk import (
    AdapterBase,
    Capability,
    InvalidInput,
    O2OError,
    Offer,
    OfferMirror,
    OrderEvent,
    OrderKind,
    PickupDetails,
    PickupState,
    PlatformCustomer,
    PlatformDiscount,
    Store,
    WebhookRequest,
    hookimpl,
)
from o2o_sdk.http import (
    PlatformConnectionError,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformServerError,
    PlatformUnprocessable,
    RetryPolicy,
)

from . import queries
from .client import ShopifyGraphQL, ShopifySettings, user_errors
from .pickups import FulfillmentOrder, fulfillment_orders, pickup_lines
from .webhooks import parse_delivery

if TYPE_CHECKING:
    from o2o_sdk import O2O, Pickup

__all__ = ["ShopifyAdapter"]

log = logging.getLogger("o2o_shopify")

#: ``fulfillmentOrderLineItemsPreparedForPickup`` user error of a fulfillment order already prepared.
NOTHING_TO_PREPARE = "NO_LINE_ITEMS_TO_PREPARE_FOR_FULFILLMENT_ORDER"

#: The westernmost and easternmost UTC offsets: bounds of a store-local wall time anywhere.
_EARLIEST, _LATEST = timedelta(hours=14), timedelta(hours=12)


class ShopifyAdapter(AdapterBase):
    """One Shopify shop, through the Admin GraphQL API.

    Register it in code (``O2O(plugins=[ShopifyAdapter(settings)])``) or configure
    ``O2O_SHOPIFY_SHOP`` / ``O2O_SHOPIFY_ACCESS_TOKEN`` / ``O2O_SHOPIFY_WEBHOOK_SECRETS`` and let
    the ``shopify`` entry point register it. Stores are keyed by the location's global id in
    ``Store.external_ids["shopify"]``.
    """

    name = "shopify"
    #: ``inventory_holds`` is not declared: a Shopify order already commits its stock, and
    #: reservations without an order keep the SDK's own hold (see the README).
    capabilities = frozenset({Capability.STORES, Capability.INVENTORY, Capability.DISCOUNTS, Capability.CUSTOMERS,
                              Capability.WEBHOOKS, Capability.PICKUPS})  # fmt: skip

    def __init__(self, settings: ShopifySettings, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, retry: RetryPolicy | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.graphql = ShopifyGraphQL(settings, transport=transport, sleep=sleep, retry=retry)
        self._shop_timezone: str | None = None

    def close(self) -> None:
        """Close the HTTP client."""
        self.graphql.close()

    def __repr__(self) -> str:
        return f"<ShopifyAdapter {self.settings.domain} {self.settings.api_version}>"

    # ------------------------------------------------------------------ stores
    @hookimpl
    def o2o_register_stores(self, sdk: O2O, register: Callable[[Store], None]) -> None:
        for store in self.stores(sdk):
            register(store)

    def iter_locations(self) -> Iterator[dict[str, Any]]:
        """Active locations, 250 per page."""
        return self.graphql.paginate(queries.LOCATIONS, ("locations",), page_size=queries.MAX_PAGE)

    def count_locations(self) -> int | None:
        """How many locations the shop has (for progress bars), if Shopify says."""
        data = self.graphql.execute(queries.LOCATIONS_COUNT)
        count = (data.get("locationsCount") or {}).get("count")
        return int(count) if isinstance(count, int) else None

    def stores(self, sdk: O2O, locations: Iterable[dict[str, Any]] | None = None) -> list[Store]:
        """The shop's active locations as stores (merged into existing stores with the same location)."""
        existing = {s.external_ids.get(self.name): s for s in sdk.stores.list() if s.external_ids.get(self.name)}
        out = []
        for node in self.iter_locations() if locations is None else locations:
            store = self.location_to_store(sdk, node, existing.get(str(node.get("id"))))
            if store is not None:
                out.append(store)
        return out

    def location_to_store(self, sdk: O2O, node: dict[str, Any], existing: Store | None = None) -> Store | None:
        """A location as a :class:`~o2o_sdk.Store`; ``None`` (logged) when it has no coordinates."""
        gid = str(node["id"])
        legacy = str(node.get("legacyResourceId") or gid.rsplit("/", 1)[-1])
        extra = self.settings.locations.get(gid) or self.settings.locations.get(legacy) or {}
        address = node.get("address") or {}
        text = ", ".join(str(line) for line in address.get("formatted") or [] if line) or ", ".join(
            str(address[k]) for k in ("address1", "address2", "city", "zip", "country") if address.get(k))
        lat, lon = extra.get("latitude"), extra.get("longitude")
        if lat is None or lon is None:
            lat, lon = address.get("latitude"), address.get("longitude")
        if (lat is None or lon is None) and existing is not None:
            lat, lon = existing.latitude, existing.longitude
        if (lat is None or lon is None) and text:
            found = sdk.plugins.geocode(sdk, text[:200])
            if found:
                lat, lon = found[0].latitude, found[0].longitude
        if lat is None or lon is None:
            log.warning("shopify location %s (%s) has no coordinates: configure them in O2O_SHOPIFY_LOCATIONS", gid, node.get("name"))
            return None
        pickup = node.get("localPickupSettingsV2") is not None
        services = set(existing.services if existing else ()) - {"pickup"} | ({"pickup"} if pickup else set())
        attributes = {
            **(existing.attributes if existing else {}),
            "shopify_legacy_id": legacy, "fulfills_online_orders": bool(node.get("fulfillsOnlineOrders")),
            **{k: address[k] for k in ("city", "zip", "countryCode") if address.get(k)},
        }  # fmt: skip
        if address.get("zip"):
            attributes["postcode"] = address["zip"]
        fields: dict[str, Any] = {
            "name": str(node.get("name") or gid), "latitude": float(lat), "longitude": float(lon),
            "address": text, "services": tuple(sorted(services)),
            "external_ids": {**(existing.external_ids if existing else {}), self.name: gid}, "attributes": attributes,
        }  # fmt: skip
        if existing is not None:
            if extra.get("timezone"):
                fields["timezone"] = str(extra["timezone"])
            return attrs.evolve(existing, **fields)
        return Store(
            id=str(extra.get("store_id") or f"{self.settings.store_id_prefix}{legacy}"),
            timezone=str(extra.get("timezone") or self.settings.timezone or self.shop_timezone()), **fields,
        )

    def shop_timezone(self) -> str:
        """The shop's IANA time zone (asked once)."""
        if self._shop_timezone is None:
            data = self.graphql.execute(queries.SHOP_TIMEZONE)
            self._shop_timezone = str((data.get("shop") or {}).get("ianaTimezone") or "UTC")
        return self._shop_timezone

    # ------------------------------------------------------------------ inventory
    @hookimpl
    def o2o_check_inventory(self, sdk: O2O, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]] | None:
        return self.inventory(stores, skus)

    def inventory(self, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]] | None:
        """Available quantities ``{store_id: {sku: qty}}``; one query per batch of SKUs for every store."""
        by_location = {s.external_ids[self.name]: s.id for s in stores if s.external_ids.get(self.name)}
        wanted = sorted({sku for sku in skus if sku})
        if not by_location or not wanted:
            return None
        out: dict[str, dict[str, int]] = {sid: dict.fromkeys(wanted, 0) for sid in by_location.values()}
        batch = max(1, self.settings.inventory_batch)
        for start in range(0, len(wanted), batch):
            chunk = wanted[start:start + batch]
            query = " OR ".join(queries.search_value("sku", sku) for sku in chunk)
            data = self.graphql.execute(queries.INVENTORY_BY_SKU, {"first": queries.MAX_PAGE, "query": query,
                                                                   "levels": self.settings.inventory_levels})  # fmt: skip
            for item in (data.get("inventoryItems") or {}).get("nodes") or []:
                sku = item.get("sku")
                if sku not in chunk:  # Shopify's search also matches prefixes
                    continue
                for level in self._levels(item):
                    store_id = by_location.get(str((level.get("location") or {}).get("id")))
                    if store_id is None:
                        continue
                    for q in level.get("quantities") or []:
                        if q.get("name") == "available" and isinstance(q.get("quantity"), int):
                            out[store_id][sku] += q["quantity"]
        return out

    def _levels(self, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        conn = item.get("inventoryLevels") or {}
        yield from conn.get("nodes") or []
        info = conn.get("pageInfo") or {}
        if info.get("hasNextPage") and info.get("endCursor"):  # more locations than one page: go on from there
            yield from self.graphql.paginate(queries.INVENTORY_LEVELS_PAGE, ("inventoryItem", "inventoryLevels"),
                                             {"id": item["id"]}, page_size=queries.MAX_PAGE, after=info["endCursor"])  # fmt: skip

    # ------------------------------------------------------------------ discounts
    def find_discount(self, code: str) -> PlatformDiscount | None:
        """The discount with this code on the shop, if any."""
        data = self.graphql.execute(queries.DISCOUNT_BY_CODE, {"code": code})
        node = data.get("codeDiscountNodeByCode")
        if not node:
            return None
        usage = (node.get("codeDiscount") or {}).get("asyncUsageCount")
        return PlatformDiscount(str(node["id"]), code, int(usage) if isinstance(usage, int) else 0)

    def mirror_offer(self, sdk: O2O, offer: Offer, code: str) -> PlatformDiscount:
        found = self.find_discount(code)
        if found is not None:  # created by an earlier attempt whose answer was lost
            return found
        starts, ends = self._window(offer, sdk.clock.now())
        variables = {"basicCodeDiscount": queries.discount_input(offer, code, self.settings.api_version, starts_at=starts, ends_at=ends)}
        data = self.graphql.execute(queries.DISCOUNT_CREATE, variables, mutation=True)
        result = data.get("discountCodeBasicCreate") or {}
        try:
            user_errors(result)
        except PlatformUnprocessable as exc:
            if exc.platform_code == "TAKEN" and (again := self.find_discount(code)) is not None:
                return again
            raise
        node = result.get("codeDiscountNode")
        if not node or not node.get("id"):
            raise PlatformError("Shopify created no discount and gave no reason.", platform="shopify", code="platform_bad_answer")
        return PlatformDiscount(str(node["id"]), code, 0)

    def _window(self, offer: Offer, now: datetime) -> tuple[datetime, datetime | None]:
        """Absolute start and end; store-local (naive) times in the shop's time zone."""
        zone = ZoneInfo(self.settings.timezone or self.shop_timezone()) if (
            (offer.starts_at and offer.starts_at.tzinfo is None) or (offer.ends_at and offer.ends_at.tzinfo is None)) else UTC
        start = offer.starts_at or now
        start = start.replace(tzinfo=zone) if start.tzinfo is None else start
        end = offer.ends_at
        if end is not None and end.tzinfo is None:
            end = end.replace(tzinfo=zone)
        return start, end

    def discount_usage(self, sdk: O2O, mirror: OfferMirror) -> int:
        data = self.graphql.execute(queries.DISCOUNT_USAGE, {"id": mirror.discount_id})
        node = data.get("codeDiscountNode")
        if not node:
            raise PlatformNotFound(f"The Shopify discount {mirror.discount_id} of offer {mirror.offer_id} no longer exists.",
                                   platform="shopify", status=200)  # fmt: skip
        usage = (node.get("codeDiscount") or {}).get("asyncUsageCount")
        if not isinstance(usage, int):
            raise PlatformError("Shopify gave no usage count for the discount.", platform="shopify", code="platform_bad_answer")
        return usage

    # ------------------------------------------------------------------ customers
    def lookup_customer(self, sdk: O2O, email: str) -> PlatformCustomer | None:
        data = self.graphql.execute(queries.CUSTOMER_BY_EMAIL, {"query": queries.search_value("email", email)})
        for node in (data.get("customers") or {}).get("nodes") or []:
            found = ((node.get("defaultEmailAddress") or {}).get("emailAddress") or "")
            if found.casefold() == email.casefold():  # search is fuzzy: keep exact matches only
                return PlatformCustomer(self.name, str(node["id"]), found, node.get("firstName"), node.get("lastName"))
        return None

    # ------------------------------------------------------------------ webhooks
    def parse_webhook(self, sdk: O2O, request: WebhookRequest) -> list[OrderEvent]:
        if not self.settings.webhook_secrets:
            raise InvalidInput("Shopify webhooks need the app's client secret (O2O_SHOPIFY_WEBHOOK_SECRETS).",
                               code="webhook_secret_missing")  # fmt: skip
        events = parse_delivery(request, self.settings.webhook_secrets, self.settings.domain)
        return [self.with_pickup(sdk, event) for event in events]

    # ------------------------------------------------------------------ pickups
    def with_pickup(self, sdk: O2O, event: OrderEvent) -> OrderEvent:
        """The event with ``pickup`` and ``items`` when it is a local-pickup order.

        An order whose pickup the SDK already has keeps it (no query: redeliveries and
        ``orders/updated`` are free). Otherwise, for online orders the payload suggests may be
        pickups (``pickup_lookup``), the order's fulfillment orders are read: open ones with
        ``deliveryMethod.methodType == PICK_UP`` make it a pickup at their assigned location,
        which ``sdk.orders.record`` maps to our store through ``Store.external_ids["shopify"]``.
        A lookup Shopify cannot answer now (connection, 5xx, throttling) raises, so the webhook
        answers 503 and Shopify delivers again; any other failure (a missing access scope) is
        logged and the order recorded without a pickup (a later ``orders/updated`` asks again).
        """
        if event.kind is not OrderKind.ONLINE or event.cancelled:  # a cancelled order needs no pickup found
            return event
        existing = self._known_pickup(sdk, event.order_id)
        if existing is not None:
            return attrs.evolve(event, pickup=PickupDetails(store_id=existing.store_id, note=event.data.get("note")),
                                items=event.items or existing.items)  # fmt: skip
        mode = self.settings.pickup_lookup
        if mode == "off" or (mode == "auto" and not event.data.get("may_be_pickup")):
            return event
        try:
            orders = self.fulfillment_orders(event.order_id)
        except (PlatformConnectionError, PlatformServerError, PlatformRateLimited):
            raise
        except PlatformError as exc:
            log.error("shopify order %s: its fulfillment orders could not be read (%s: %s); recorded without a pickup",
                      event.order_id, exc.code, exc.message)  # fmt: skip
            return event
        if not orders:  # Shopify hides fulfillment orders the token may not read: say which scope
            log.log(logging.WARNING if event.data.get("may_be_pickup") else logging.DEBUG,
                    "shopify order %s may be a local pickup but Shopify shows no fulfillment order for it: does the "
                    "access token have read_merchant_managed_fulfillment_orders? Recorded without a pickup",
                    event.order_id)  # fmt: skip
            return event
        pickups = [fo for fo in orders if fo.is_pickup and not fo.done]
        if not pickups:
            return event
        location = pickups[0].location_id
        if any(fo.location_id != location for fo in pickups):
            log.warning("shopify order %s is to be collected at several locations; the pickup is at %s", event.order_id, location)
            pickups = [fo for fo in pickups if fo.location_id == location]
        if location is None or sdk.orders.store_for_location(self.name, location) is None:
            log.warning("shopify order %s: pickup at location %s (%s), which is not one of our stores (run `o2o shopify "
                        "sync-stores`); the order is recorded without a pickup", event.order_id, location,
                        pickups[0].location_name)  # fmt: skip
        return attrs.evolve(
            event, pickup=PickupDetails(location_id=location, note=event.data.get("note")), items=pickup_lines(pickups) or event.items,
            data={**event.data, "fulfillment_order_ids": [fo.id for fo in pickups]},
        )  # fmt: skip

    def _known_pickup(self, sdk: O2O, order_id: str) -> Pickup | None:
        try:
            return sdk.pickups.for_order(self.name, order_id)
        except O2OError as exc:  # e.g. a storage without pickup tables: decide from Shopify's answer
            log.debug("shopify order %s: no pickup lookup in the SDK: %s", order_id, exc)
            return None

    def fulfillment_orders(self, order_id: str) -> list[FulfillmentOrder]:
        """The order's (displayable) fulfillment orders: status, delivery method, location, lines."""
        data = self.graphql.execute(queries.ORDER_FULFILLMENT_ORDERS, {"id": order_id, "first": 50, "lines": queries.MAX_PAGE})
        return fulfillment_orders(data, order_id)

    def pickup_changed(self, sdk: O2O, pickup: Pickup, previous: PickupState) -> None:
        """Tell Shopify about a step of a pickup of one of its orders.

        - ``ready`` -> ``fulfillmentOrderLineItemsPreparedForPickup`` for the order's open
          ``PICK_UP`` fulfillment orders at the pickup store's location (all of them when none
          is there, e.g. moved on Shopify) — Shopify sends its "ready for pickup" notification;
        - ``handed_over`` -> ``fulfillmentCreate`` of them (marked picked up; Shopify does not
          notify the customer, the SDK thanks them);
        - ``released`` / ``cancelled`` -> the order is tagged ``o2o-pickup-released`` /
          ``o2o-pickup-cancelled`` and otherwise left alone: cancelling a Shopify order refunds
          and restocks, which stays the merchant's decision;
        - ``accepted`` and ``arrived`` have no Shopify counterpart.

        Mutations are sent once (never retried blindly). Repeating a step is harmless: the
        fulfillment orders are read first and those already fulfilled or cancelled skipped;
        Shopify's "nothing left to prepare" answer counts as done, and a failed
        ``fulfillmentCreate`` is checked against the fulfillment orders again. ``userErrors``
        raise :class:`~o2o_sdk.http.PlatformUnprocessable`.
        """
        order_id = pickup.order_id
        if not order_id:
            return
        state = pickup.state
        if state in (PickupState.RELEASED, PickupState.CANCELLED):
            self._tag(order_id, f"o2o-pickup-{state.value}")
            return
        if state not in (PickupState.READY, PickupState.HANDED_OVER):
            return
        pickups = [fo for fo in self.fulfillment_orders(order_id) if fo.is_pickup]
        if not pickups:
            raise PlatformUnprocessable(f"Shopify order {order_id} has no local-pickup fulfillment order to update.",
                                        platform="shopify", status=200, code="no_pickup_fulfillment_order")  # fmt: skip
        here = self._store_location(sdk, pickup.store_id)
        if here is not None and any(fo.location_id == here for fo in pickups):  # items collected elsewhere are not this pickup's
            pickups = [fo for fo in pickups if fo.location_id == here]
        open_ = [fo for fo in pickups if not fo.done]
        if not open_:  # already picked up (or cancelled) on Shopify: nothing left to tell
            log.info("shopify order %s: its pickup fulfillment orders are already %s", order_id, ", ".join(fo.status for fo in pickups))
            return
        if state is PickupState.READY:
            self._prepared_for_pickup(order_id, [fo.id for fo in open_])
        else:
            by_location: dict[str | None, list[str]] = {}
            for fo in open_:
                by_location.setdefault(fo.location_id, []).append(fo.id)
            for ids in by_location.values():  # fulfillmentCreate takes one order's fulfillment orders at one location
                self._fulfil(order_id, ids)

    def _store_location(self, sdk: O2O, store_id: str) -> str | None:
        try:
            return sdk.stores.get(store_id).external_ids.get(self.name)
        except O2OError:  # the store was deleted since: every pickup fulfillment order of the order
            return None

    def _prepared_for_pickup(self, order_id: str, ids: list[str]) -> None:
        data = self.graphql.execute(queries.PREPARED_FOR_PICKUP, {"input": queries.prepared_for_pickup_input(ids)}, mutation=True)
        result = data.get("fulfillmentOrderLineItemsPreparedForPickup")
        if not isinstance(result, dict):
            raise PlatformError("Shopify did not say whether the pickup is ready.", platform="shopify", code="platform_bad_answer")
        errors = result.get("userErrors") or []
        if errors and all(isinstance(e, dict) and e.get("code") == NOTHING_TO_PREPARE for e in errors):
            if len(errors) < len(ids):
                # Some of them were prepared before, not all; Shopify may have refused the whole
                # request for those, so each one is asked on its own: "nothing left to prepare"
                # then means that one is done, and the others get prepared.
                for fo_id in ids:
                    self._prepared_for_pickup(order_id, [fo_id])
                return
            log.info("shopify order %s: %s already prepared for pickup", order_id, ", ".join(ids))  # a repeated "ready"
            return
        user_errors(result)

    def _fulfil(self, order_id: str, ids: list[str]) -> None:
        variables = {"fulfillment": queries.fulfillment_input(ids, notify_customer=False), "message": "Picked up in store"}
        data = self.graphql.execute(queries.FULFILL_PICKUP, variables, mutation=True)
        result = data.get("fulfillmentCreate")
        if not isinstance(result, dict):
            raise PlatformError("Shopify did not say whether the pickup was fulfilled.", platform="shopify", code="platform_bad_answer")
        try:
            user_errors(result)
        except PlatformUnprocessable:
            # e.g. another attempt fulfilled it meanwhile: done if nothing is left open
            again = {fo.id: fo for fo in self.fulfillment_orders(order_id)}
            if all(fo_id in again and again[fo_id].done for fo_id in ids):
                return
            raise

    def _tag(self, order_id: str, tag: str) -> None:
        data = self.graphql.execute(queries.TAG_ORDER, {"id": order_id, "tags": [tag]}, mutation=True)
        result = data.get("tagsAdd")
        if not isinstance(result, dict):
            raise PlatformError("Shopify did not say whether the order was tagged.", platform="shopify", code="platform_bad_answer")
        user_errors(result)

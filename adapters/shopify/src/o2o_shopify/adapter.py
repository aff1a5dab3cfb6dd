"""The Shopify adapter: locations as stores, inventory, discount-code mirrors, customers, webhooks."""

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
    Offer,
    OfferMirror,
    OrderEvent,
    PlatformCustomer,
    PlatformDiscount,
    Store,
    WebhookRequest,
    hookimpl,
)
from o2o_sdk.http import PlatformError, PlatformNotFound, PlatformUnprocessable, RetryPolicy

from . import queries
from .client import ShopifyGraphQL, ShopifySettings, user_errors
from .webhooks import parse_delivery

if TYPE_CHECKING:
    from o2o_sdk import O2O

__all__ = ["ShopifyAdapter"]

log = logging.getLogger("o2o_shopify")

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
    #: Pickups (local-pickup orders, fulfilment steps) are not implemented yet: not declared.
    capabilities = frozenset({Capability.STORES, Capability.INVENTORY, Capability.DISCOUNTS, Capability.CUSTOMERS,
                              Capability.WEBHOOKS})  # fmt: skip

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
        return parse_delivery(request, self.settings.webhook_secrets, self.settings.domain)

"""The Square adapter: locations as stores, inventory, catalog discounts, customers, order and
pickup webhooks, pickup fulfilment updates."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import attrs
import httpx

from o2o_sdk import (
    AdapterBase,
    Capability,
    ConfigurationError,
    InvalidInput,
    NotSupported,
    Offer,
    OfferMirror,
    OrderEvent,
    PlatformCustomer,
    PlatformDiscount,
    Store,
    WebhookRejected,
    WebhookRequest,
    hookimpl,
)
from o2o_sdk.http import PlatformConflict, PlatformError, PlatformNotFound, PlatformUnprocessable, RetryPolicy

from . import catalog
from .client import SquareClient, SquareSettings, idempotency_key
from .hours import opening_hours
from .orders import (
    FINAL_FULFILLMENT_STATES,
    FULFILLMENT_STATE,
    fulfillment_update,
    order_event,
    pickup_fulfillment,
    variation_ids,
)
from .webhooks import SIGNATURE_HEADER, parse_notification, verify_signature

if TYPE_CHECKING:
    from o2o_sdk import O2O, Pickup, PickupState

__all__ = ["SquareAdapter"]

log = logging.getLogger("o2o_square")

T = TypeVar("T")

#: Catalog ids per inventory request, orders per batch retrieve, locations per order search (Square's limits).
_COUNT_IDS, _ORDER_IDS, _SEARCH_LOCATIONS = 500, 100, 10
#: Orders per page of an order search.
_ORDER_PAGE = 500


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class SquareAdapter(AdapterBase):
    """One Square seller account, through the Square API (``Square-Version`` pinned).

    Register it in code (``O2O(plugins=[SquareAdapter(settings)])``) or configure
    ``O2O_SQUARE_ACCESS_TOKEN`` (and ``O2O_SQUARE_WEBHOOK_SIGNATURE_KEYS``,
    ``O2O_SQUARE_NOTIFICATION_URL``) and let the ``square`` entry point register it. Stores are
    keyed by the location id in ``Store.external_ids["square"]``.

    Inventory holds are not offered: Square's Inventory API cannot move stock into or out of
    ``RESERVED_FOR_SALE`` (read-only), so the SDK keeps its own holds for Square stores.
    """

    name = "square"
    capabilities = frozenset({Capability.STORES, Capability.INVENTORY, Capability.DISCOUNTS, Capability.CUSTOMERS,
                              Capability.WEBHOOKS, Capability.PICKUPS})  # fmt: skip

    def __init__(self, settings: SquareSettings, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, retry: RetryPolicy | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.settings = settings
        self.client = SquareClient(settings, transport=transport, sleep=sleep, retry=retry)
        self._monotonic = monotonic
        #: sku -> (looked up at, item variation ids)
        self._variations: dict[str, tuple[float, tuple[str, ...]]] = {}
        #: item variation id -> sku ("" when the variation has none)
        self._sku_of: dict[str, str] = {}

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def __repr__(self) -> str:
        return f"<SquareAdapter {self.settings.base_url} Square-Version {self.settings.api_version}>"

    # ------------------------------------------------------------------ stores
    @hookimpl
    def o2o_register_stores(self, sdk: O2O, register: Callable[[Store], None]) -> None:
        for store in self.stores(sdk):
            register(store)

    def list_locations(self) -> list[dict[str, Any]]:
        """Every location of the seller (``ListLocations`` answers them all at once)."""
        data = self.client.get("/v2/locations")
        return [loc for loc in data.get("locations") or [] if isinstance(loc, dict) and loc.get("id")]

    def stores(self, sdk: O2O, locations: Iterable[dict[str, Any]] | None = None) -> list[Store]:
        """The active locations as stores (merged into existing stores with the same location id)."""
        existing = {s.external_ids.get(self.name): s for s in sdk.stores.list() if s.external_ids.get(self.name)}
        out = []
        for loc in self.list_locations() if locations is None else locations:
            if (loc.get("status") or "ACTIVE") != "ACTIVE":
                continue
            store = self.location_to_store(sdk, loc, existing.get(str(loc["id"])))
            if store is not None:
                out.append(store)
        return out

    def location_to_store(self, sdk: O2O, loc: dict[str, Any], existing: Store | None = None) -> Store | None:
        """A location as a :class:`~o2o_sdk.Store`; ``None`` (logged) when it has no coordinates.

        Coordinates: ``O2O_SQUARE_LOCATIONS``, else the location's ``coordinates``, else the
        existing store's, else the ``o2o_geocode`` hook on the address. Time zone: the
        location's ``timezone`` (or the configured one). Hours: ``business_hours`` (kept from the
        existing store when Square has none or they cannot be read).
        """
        location_id = str(loc["id"])
        extra = self.settings.locations.get(location_id) or {}
        address = _dict(loc.get("address"))
        parts = ("address_line_1", "address_line_2", "locality", "administrative_district_level_1", "postal_code", "country")
        text = ", ".join(str(address[k]) for k in parts if address.get(k))
        coords = _dict(loc.get("coordinates"))
        lat, lon = extra.get("latitude"), extra.get("longitude")
        if lat is None or lon is None:
            lat, lon = coords.get("latitude"), coords.get("longitude")
        if (lat is None or lon is None) and existing is not None:
            lat, lon = existing.latitude, existing.longitude
        if (lat is None or lon is None) and text:
            found = sdk.plugins.geocode(sdk, text[:200])
            if found:
                lat, lon = found[0].latitude, found[0].longitude
        if lat is None or lon is None:
            log.warning("square location %s (%s) has no coordinates: set them in Square or O2O_SQUARE_LOCATIONS", location_id, loc.get("name"))
            return None
        timezone = str(extra.get("timezone") or loc.get("timezone") or self.settings.timezone or (existing.timezone if existing else "") or "")
        if not timezone:
            log.warning("square location %s has no time zone: using UTC (set O2O_SQUARE_TIMEZONE)", location_id)
            timezone = "UTC"
        business = _dict(loc.get("business_hours"))
        try:
            hours = opening_hours(business.get("periods"))
        except InvalidInput as exc:
            log.warning("square location %s: business hours not imported: %s", location_id, exc.message)
            hours = None
        attributes: dict[str, Any] = {
            **(existing.attributes if existing else {}),
            **{f"square_{k}": loc[k] for k in ("type", "business_name", "phone_number") if loc.get(k)},
        }
        if address.get("postal_code"):
            attributes["postcode"] = address["postal_code"]
        if address.get("locality"):
            attributes["city"] = address["locality"]
        if address.get("country") or loc.get("country"):
            attributes["country"] = address.get("country") or loc.get("country")
        fields: dict[str, Any] = {
            "name": str(loc.get("name") or loc.get("business_name") or location_id), "latitude": float(lat),
            "longitude": float(lon), "address": text, "timezone": timezone,
            "external_ids": {**(existing.external_ids if existing else {}), self.name: location_id}, "attributes": attributes,
        }  # fmt: skip
        if hours is not None or existing is None:  # no readable hours at Square: keep the store's
            fields["hours"] = hours
        if existing is not None:
            return attrs.evolve(existing, **fields)
        return Store(id=str(extra.get("store_id") or f"{self.settings.store_id_prefix}{location_id}"), **fields)

    # ------------------------------------------------------------------ catalog and inventory
    @hookimpl
    def o2o_check_inventory(self, sdk: O2O, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]] | None:
        return self.inventory(stores, skus)

    def variations(self, skus: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Item-variation ids per SKU (exact SKU match), from a cache kept for
        ``catalog_cache_seconds``; unknown SKUs are searched in batches of ``sku_batch``."""
        wanted = sorted({s for s in skus if s})
        now, ttl = self._monotonic(), self.settings.catalog_cache_seconds
        stale = [s for s in wanted if s not in self._variations or now - self._variations[s][0] > ttl]
        for chunk in _batches(stale, self.settings.sku_batch):
            found: dict[str, list[str]] = {s: [] for s in chunk}
            for obj in self.client.paginate("/v2/catalog/search", catalog.sku_search(chunk), "objects"):
                data = obj.get("item_variation_data") or {}
                sku = data.get("sku") if isinstance(data, dict) else None
                if obj.get("type") != "ITEM_VARIATION" or obj.get("is_deleted") or not obj.get("id"):
                    continue
                self._sku_of[str(obj["id"])] = str(sku or "")
                if sku in found:  # Square matches SKUs ignoring case: keep exact ones
                    found[sku].append(str(obj["id"]))
            for sku, ids in found.items():
                self._variations[sku] = (now, tuple(ids))
        return {s: self._variations[s][1] for s in wanted}

    def skus_of(self, variation_ids: Iterable[str]) -> dict[str, str]:
        """SKUs of item variations (``BatchRetrieveCatalogObjects`` for the ones not seen yet)."""
        ids = list(dict.fromkeys(v for v in variation_ids if v))
        unknown = [v for v in ids if v not in self._sku_of]
        for chunk in _batches(unknown, 1000):
            data = self.client.post("/v2/catalog/batch-retrieve", catalog.variations_by_id(chunk))
            for obj in data.get("objects") or []:
                if isinstance(obj, dict) and obj.get("id"):
                    sku = (obj.get("item_variation_data") or {}).get("sku")
                    self._sku_of[str(obj["id"])] = str(sku or "")
            for v in chunk:
                self._sku_of.setdefault(v, "")  # deleted or not a variation: do not ask again
        return {v: self._sku_of[v] for v in ids if self._sku_of.get(v)}

    def inventory(self, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]] | None:
        """``IN_STOCK`` quantities ``{store_id: {sku: qty}}`` for the stores with a Square location:
        one catalog search per ``sku_batch`` SKUs (cached), then one ``BatchRetrieveInventoryCounts``
        for every location and variation, page after page. Decimal quantities are rounded down."""
        by_location: dict[str, list[str]] = {}
        for s in stores:
            if s.external_ids.get(self.name):
                by_location.setdefault(s.external_ids[self.name], []).append(s.id)
        wanted = sorted({sku for sku in skus if sku})
        if not by_location or not wanted:
            return None
        out: dict[str, dict[str, int]] = {sid: dict.fromkeys(wanted, 0) for ids in by_location.values() for sid in ids}
        sku_of = {vid: sku for sku, vids in self.variations(wanted).items() for vid in vids}
        totals: dict[tuple[str, str], Decimal] = {}
        for chunk in _batches(sorted(sku_of), _COUNT_IDS):
            body = {"catalog_object_ids": list(chunk), "location_ids": sorted(by_location), "states": ["IN_STOCK"], "limit": 1000}
            for count in self.client.paginate("/v2/inventory/counts/batch-retrieve", body, "counts"):
                sku, location = sku_of.get(str(count.get("catalog_object_id"))), str(count.get("location_id"))
                if count.get("state") != "IN_STOCK" or sku is None or location not in by_location:
                    continue
                try:
                    quantity = Decimal(str(count.get("quantity")))
                except InvalidOperation:
                    log.warning("square: unreadable quantity %r for %s at %s", count.get("quantity"), sku, location)
                    continue
                if quantity.is_finite():
                    totals[location, sku] = totals.get((location, sku), Decimal(0)) + quantity
        for (location, sku), quantity in totals.items():
            for store_id in by_location[location]:
                out[store_id][sku] = max(0, int(quantity))
        return out

    # ------------------------------------------------------------------ discounts
    def find_discount(self, code: str) -> dict[str, Any] | None:
        """The catalog discount named ``code`` (ignoring case), if any."""
        for obj in self.client.paginate("/v2/catalog/search", catalog.discount_search(code), "objects"):
            name = (obj.get("discount_data") or {}).get("name")
            if obj.get("type") == "DISCOUNT" and not obj.get("is_deleted") and isinstance(name, str) and name.casefold() == code.casefold():
                return obj
        return None

    def mirror_offer(self, sdk: O2O, offer: Offer, code: str) -> PlatformDiscount:
        """The offer as a catalog discount named ``code`` (see :func:`o2o_square.catalog.discount_objects`).

        Square discounts have no redemption code: staff pick the discount by its name at the
        till (or Square applies it by itself when it is automatic). A discount with that name is
        looked up first, and the batch carries an idempotency key derived from the offer and the
        code, so a retried mirror never creates two.
        """
        found = self.find_discount(code)
        if found is not None:  # created by an earlier attempt whose answer was lost
            return PlatformDiscount(str(found["id"]), code, 0)
        automatic = catalog.is_automatic(offer, self.settings.automatic_discounts)
        zone = ZoneInfo(self.settings.timezone) if self.settings.timezone else UTC
        objects = catalog.discount_objects(offer, code, automatic=automatic, location_ids=self._offer_locations(sdk, offer), zone=zone)
        body = {"idempotency_key": idempotency_key("mirror", offer.id, code, "automatic" if automatic else "manual"),
                "batches": [{"objects": objects}]}  # fmt: skip
        data = self.client.post("/v2/catalog/batch-upsert", body)
        ids = {str(m.get("client_object_id")): str(m.get("object_id")) for m in data.get("id_mappings") or []
               if isinstance(m, dict) and m.get("object_id")}  # fmt: skip
        discount_id = ids.get(catalog.DISCOUNT_REF) or next(
            (str(o["id"]) for o in data.get("objects") or [] if isinstance(o, dict) and o.get("type") == "DISCOUNT" and o.get("id")), None)
        if not discount_id:
            raise PlatformError("Square created no discount and gave no reason.", platform="square", code="platform_bad_answer")
        return PlatformDiscount(discount_id, code, 0)

    def _offer_locations(self, sdk: O2O, offer: Offer) -> list[str] | None:
        """The Square locations of an offer limited to some stores (``None``: every location)."""
        if offer.stores is None:
            return None
        found = sorted({s.external_ids[self.name] for s in sdk.stores.list() if s.id in offer.stores and s.external_ids.get(self.name)})
        if not found:
            raise InvalidInput(f"Offer {offer.id} is limited to stores that are not Square locations; it cannot be mirrored on Square.",
                               code="no_square_locations")  # fmt: skip
        return found

    def discount_usage(self, sdk: O2O, mirror: OfferMirror) -> int:
        """How many completed orders used the mirrored discount.

        Square keeps no usage count for a catalog discount and cannot search orders by discount,
        so this reads every ``COMPLETED`` order created since the mirror (a day of margin), at
        every location (10 per search, 500 orders per page), and counts those whose
        ``discounts`` reference the discount's catalog id. Its cost grows with the number of orders.
        """
        since = (mirror.created_at - timedelta(days=1)).astimezone(UTC).isoformat().replace("+00:00", "Z")
        locations = sorted(str(loc["id"]) for loc in self.list_locations())
        used = 0
        for chunk in _batches(locations, _SEARCH_LOCATIONS):
            body = {
                "location_ids": list(chunk), "limit": _ORDER_PAGE, "return_entries": False,
                "query": {"filter": {"state_filter": {"states": ["COMPLETED"]},
                                     "date_time_filter": {"created_at": {"start_at": since}}},
                          "sort": {"sort_field": "CREATED_AT", "sort_order": "ASC"}},
            }  # fmt: skip
            for order in self.client.paginate("/v2/orders/search", body, "orders"):
                discounts = order.get("discounts")
                discounts = discounts if isinstance(discounts, list) else []
                if any(isinstance(d, dict) and d.get("catalog_object_id") == mirror.discount_id for d in discounts):
                    used += 1
        return used

    # ------------------------------------------------------------------ customers
    def lookup_customer(self, sdk: O2O, email: str) -> PlatformCustomer | None:
        """The customer whose email is ``email`` (``SearchCustomers`` with an exact email filter)."""
        data = self.client.post("/v2/customers/search", {"limit": 10, "query": {"filter": {"email_address": {"exact": email}}}})
        for c in data.get("customers") or []:
            found = c.get("email_address") if isinstance(c, dict) else None
            if isinstance(found, str) and found.casefold() == email.casefold() and c.get("id"):
                return PlatformCustomer(self.name, str(c["id"]), found, c.get("given_name"), c.get("family_name"),
                                        {k: c[k] for k in ("reference_id", "phone_number", "created_at") if c.get(k)})  # fmt: skip
        return None

    # ------------------------------------------------------------------ orders
    def retrieve_order(self, order_id: str) -> dict[str, Any]:
        """One order (``RetrieveOrder``)."""
        data = self.client.get(f"/v2/orders/{quote(order_id, safe='')}")
        order = data.get("order")
        if not isinstance(order, dict):
            raise PlatformError(f"Square answered without the order {order_id}.", platform="square", code="platform_bad_answer")
        return order

    def retrieve_orders(self, order_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Several orders (``BatchRetrieveOrders``, 100 per request); unknown ids are left out."""
        out: list[dict[str, Any]] = []
        for chunk in _batches(list(dict.fromkeys(order_ids)), _ORDER_IDS):
            data = self.client.post("/v2/orders/batch-retrieve", {"order_ids": list(chunk)})
            out += [o for o in data.get("orders") or [] if isinstance(o, dict)]
        return out

    def order_event(self, order: dict[str, Any], *, delivery_id: str | None = None, **data: Any) -> OrderEvent:
        """An order as an :class:`~o2o_sdk.OrderEvent` (line items with their SKUs)."""
        return order_event(order, delivery_id=delivery_id, skus=self.skus_of(variation_ids(order)),
                           online_sources=self.settings.online_sources, data=data)  # fmt: skip

    # ------------------------------------------------------------------ webhooks
    def parse_webhook(self, sdk: O2O, request: WebhookRequest) -> list[OrderEvent]:
        """Verify a notification, then turn ``payment.created`` / ``payment.updated`` (once the
        payment is ``COMPLETED``) and ``order.created`` into the order, fetched with ``RetrieveOrder``.

        ``order.updated`` / ``order.fulfillment.updated`` saying ``CANCELED`` (or a fulfilment
        ``FAILED``) are read only for an order whose SDK pickup is still open (so our own
        ``CANCELED``, written by :meth:`pickup_changed`, coming back costs no request): the order
        is fetched and, if it is ``CANCELED`` or its ``PICKUP`` fulfilment ``CANCELED`` or
        ``FAILED``, returned with ``cancelled=True``, which
        cancels the pickup without telling Square back. An order that is ``CANCELED`` when
        fetched for another event comes cancelled too: it is not recorded and gets no pickup.
        Other events are verified and ignored (``[]``)."""
        keys = self.settings.webhook_signature_keys
        if not keys:
            raise InvalidInput("Square webhooks need the subscription's signature key (O2O_SQUARE_WEBHOOK_SIGNATURE_KEYS).",
                               code="webhook_secret_missing")  # fmt: skip
        url = self.settings.notification_url or request.url
        if not verify_signature(request.body, request.header(SIGNATURE_HEADER), url, keys):
            raise WebhookRejected("Square webhook: the signature does not match the notification URL and body.", code="bad_signature")
        note = parse_notification(request.body)
        if self.settings.merchant_id and note.merchant_id and note.merchant_id != self.settings.merchant_id:
            raise WebhookRejected(f"Square webhook for merchant {note.merchant_id}, not {self.settings.merchant_id}.", code="wrong_merchant")
        if note.order_id is None:
            return []
        if note.cancellation and not self._pickup_open(sdk, note.order_id):
            return []  # nothing of ours to cancel (no pickup, or it ended: e.g. our own CANCELED echoing)
        try:
            order = self.retrieve_order(note.order_id)
        except PlatformNotFound:
            raise WebhookRejected(f"Square webhook: the order {note.order_id} does not exist for this access token.",
                                  code="unknown_order") from None  # fmt: skip
        if order.get("state") == "DRAFT":
            return []
        extra = {"event_type": note.type, "merchant_id": note.merchant_id, "payment_id": note.payment_id}
        event = self.order_event(order, delivery_id=note.event_id, **{k: v for k, v in extra.items() if v})
        if note.cancellation and not event.cancelled:
            return []  # another fulfilment was cancelled, or the order changed again since
        return [event]

    def _pickup_open(self, sdk: O2O, order_id: str) -> bool:
        """Whether the SDK has a pickup of this order that has not ended."""
        try:
            pickup = sdk.pickups.for_order(self.name, order_id)
        except ConfigurationError:  # a storage without pickups
            return False
        return pickup is not None and not pickup.state.final

    # ------------------------------------------------------------------ pickups
    def pickup_changed(self, sdk: O2O, pickup: Pickup, previous: PickupState) -> None:
        """Move the order's ``PICKUP`` fulfilment: accepted -> ``RESERVED``, ready -> ``PREPARED``,
        handed over -> ``COMPLETED``, released or cancelled -> ``CANCELED`` (arrival has no Square
        state). Reads the order first for its ``version`` and the fulfilment's ``uid``; the update
        carries an idempotency key per order and state, and is skipped when Square already shows it.
        Not called for a pickup cancelled because Square cancelled the order (see :meth:`parse_webhook`)."""
        target = FULFILLMENT_STATE.get(pickup.state)
        if target is None or pickup.order_id is None:
            return
        order = self.retrieve_order(pickup.order_id)
        fulfillment = pickup_fulfillment(order)
        if fulfillment is None or not fulfillment.get("uid"):
            raise PlatformUnprocessable(f"Square order {pickup.order_id} has no pickup fulfilment to update.", platform="square",
                                        code="no_pickup_fulfillment")  # fmt: skip
        current = fulfillment.get("state")
        if current == target:
            return
        if current in FINAL_FULFILLMENT_STATES:
            raise PlatformConflict(f"The pickup of Square order {pickup.order_id} is already {current}; it cannot become {target}.",
                                   platform="square", code="fulfillment_final")  # fmt: skip
        if not isinstance(order.get("version"), int):
            raise PlatformConflict(f"Square order {pickup.order_id} has no version: orders not created through the API cannot be updated.",
                                   platform="square", code="order_not_updatable")  # fmt: skip
        body = fulfillment_update(order, fulfillment, target, idempotency_key=idempotency_key("pickup", pickup.order_id, target),
                                  cancel_reason=pickup.reason if target == "CANCELED" else None)  # fmt: skip
        self.client.put(f"/v2/orders/{quote(pickup.order_id, safe='')}", body)

    def hold_inventory(self, sdk: O2O, pickup: Pickup) -> str:
        raise NotSupported("Square's Inventory API cannot move stock into RESERVED_FOR_SALE (the state is read-only), "
                           "so the SDK holds stock for Square stores itself.")  # fmt: skip

    def release_inventory(self, sdk: O2O, pickup: Pickup, hold_ref: str, sold: bool) -> None:
        raise NotSupported("Square's Inventory API cannot move stock out of RESERVED_FOR_SALE (the state is read-only).")

"""The adapter contract: how a commerce platform (Shopify, WooCommerce, Square, a POS) plugs in.

An adapter is one object that satisfies the :class:`Adapter` protocol and is handed to the SDK
by the ``o2o_register_adapters`` hook. It is also a plugin: the SDK registers the object on
its plugin manager, so the object's own hook implementations take part like any plugin's.
Stores and inventory are **not** duplicated here: an adapter supplies them through the store
locator's hooks, ``o2o_register_stores`` (store sync) and ``o2o_check_inventory`` (batched
stock), implemented as methods of the adapter object. The rest of the contract are methods:

=====================  ============================================================
capability             what the adapter provides
=====================  ============================================================
``stores``             hook ``o2o_register_stores``: stores with ``external_ids[name]``
``inventory``          hook ``o2o_check_inventory``: stock per store and SKU, batched
``discounts``          :meth:`Adapter.mirror_offer`, :meth:`Adapter.discount_usage`
``customers``          :meth:`Adapter.lookup_customer`
``webhooks``           :meth:`Adapter.parse_webhook`: verify, then parse into :class:`OrderEvent`
``pickups``            :class:`PickupAdapter`: follow a pickup's lifecycle on the platform
``inventory_holds``    :class:`InventoryHoldAdapter`: hold and release stock for a pickup
=====================  ============================================================

Pickup orders: an adapter that sees a platform order to be collected in store (a local-pickup
shipping method, a ``PICKUP`` fulfilment) sets ``OrderEvent.pickup`` (and ``OrderEvent.items``)
in :meth:`Adapter.parse_webhook`; ``sdk.orders.record`` then creates exactly one pickup.

A method of a capability the adapter does not declare may raise :class:`NotSupported`.
Adapters add CLI commands with ``o2o_register_commands`` and their webhook receivers with
``o2o_register_routes`` (use :func:`webhook_endpoint`). The conformance suite in
:mod:`o2o_sdk.testing.conformance` checks every declared capability.

Why one registration hook plus a protocol instead of one hook per capability: the capabilities
share the adapter's account and HTTP client, several of them need the same adapter again
later (usage sync needs the one that mirrored), and ``sdk.adapters.get(name)`` gives callers
and the conformance suite one typed object to exercise.
"""

from __future__ import annotations

import builtins
import enum
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from .errors import InvalidInput, NotFound, O2OError, PluginError
from .hookspecs import hookimpl
from .models import OfferMirror, OrderEvent

if TYPE_CHECKING:
    from .models import Offer, Pickup, PickupState
    from .orders import RecordedOrder
    from .sdk import O2O

__all__ = [
    "Adapter",
    "AdapterBase",
    "Adapters",
    "Capability",
    "InventoryHoldAdapter",
    "NotSupported",
    "PlatformCustomer",
    "PickupAdapter",
    "PlatformDiscount",
    "WebhookRejected",
    "WebhookRequest",
    "default_discount_code",
    "webhook_endpoint",
]

log = logging.getLogger("o2o_sdk.adapters")


class Capability(enum.StrEnum):
    """What an adapter can do (see the table in :mod:`o2o_sdk.adapters`)."""

    STORES = "stores"
    INVENTORY = "inventory"
    DISCOUNTS = "discounts"
    CUSTOMERS = "customers"
    WEBHOOKS = "webhooks"
    PICKUPS = "pickups"
    INVENTORY_HOLDS = "inventory_holds"


class NotSupported(O2OError):
    """The adapter does not offer this capability."""

    code = "not_supported"


class WebhookRejected(O2OError):
    """A webhook delivery that must not be trusted or cannot be read.

    ``code`` is ``bad_signature`` (answer 401), ``malformed_payload`` (400) or
    ``unknown_platform`` (404).
    """

    code = "webhook_rejected"


@attrs.frozen
class PlatformDiscount:
    """A discount code as it exists on a platform."""

    discount_id: str
    code: str
    usage_count: int = 0


@attrs.frozen
class PlatformCustomer:
    """A customer as a platform knows them."""

    platform: str
    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    data: dict[str, Any] = attrs.field(factory=dict, hash=False)


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


@attrs.frozen
class WebhookRequest:
    """One webhook delivery as received: the **raw** body bytes (signatures are over them),
    the headers (looked up case-insensitively) and the full URL it was posted to."""

    body: bytes
    headers: dict[str, str] = attrs.field(converter=_lower_keys, factory=dict, hash=False)
    url: str = ""

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name."""
        return self.headers.get(name.lower())


@runtime_checkable
class Adapter(Protocol):
    """A platform adapter. ``name`` is the platform's key in ``Store.external_ids``."""

    name: str
    capabilities: frozenset[Capability]

    def mirror_offer(self, sdk: O2O, offer: Offer, code: str) -> PlatformDiscount:
        """Create (or find, by ``code``) the platform discount code mirroring ``offer``.

        Must be safe to call again after a failure: look the code up before creating it.
        Raise :class:`~o2o_sdk.http.PlatformError` when the platform refuses.
        """
        ...

    def discount_usage(self, sdk: O2O, mirror: OfferMirror) -> int:
        """How many times the platform says the mirrored code was used."""
        ...

    def lookup_customer(self, sdk: O2O, email: str) -> PlatformCustomer | None:
        """The platform's customer with this email, or ``None``."""
        ...

    def parse_webhook(self, sdk: O2O, request: WebhookRequest) -> builtins.list[OrderEvent]:
        """Verify a delivery's signature, then parse it into order events.

        Raise :class:`WebhookRejected` (``bad_signature``) before reading anything from an
        unverified body, and (``malformed_payload``) for a body that misses required fields.
        Return ``[]`` for topics that carry no order. Set ``delivery_id`` on every event so
        that redeliveries are recognised.
        """
        ...


@runtime_checkable
class PickupAdapter(Protocol):
    """What an adapter declaring ``Capability.PICKUPS`` also provides."""

    def pickup_changed(self, sdk: O2O, pickup: Pickup, previous: PickupState) -> None:
        """Tell the platform that a pickup of one of its orders moved from ``previous`` to
        ``pickup.state`` (e.g. ``ready`` -> mark the fulfilment ready, ``handed_over`` ->
        complete it, ``released`` / ``cancelled`` -> cancel it). Called after the transition
        committed, only for pickups with ``pickup.platform == self.name``; states the platform
        has no notion of are ignored. Must be safe to call twice for the same transition
        (use idempotency keys). Raise :class:`~o2o_sdk.http.PlatformError` when the platform
        refuses; the SDK journals the failure and the transition stands. Not called for a
        pickup cancelled because the platform itself reported the order cancelled
        (``OrderEvent.cancelled``): that would echo back to it.
        """
        ...


@runtime_checkable
class InventoryHoldAdapter(Protocol):
    """What an adapter declaring ``Capability.INVENTORY_HOLDS`` also provides."""

    def hold_inventory(self, sdk: O2O, pickup: Pickup) -> str:
        """Set ``pickup.items`` aside at ``pickup.store_id`` on the platform (e.g. move them to
        a reserved state) and return the platform's reference of the hold. Idempotent per
        ``pickup.id``. Raise :class:`~o2o_sdk.http.PlatformError` when stock is short."""
        ...

    def release_inventory(self, sdk: O2O, pickup: Pickup, hold_ref: str, sold: bool) -> None:
        """Undo a hold: back to sellable stock (``sold=False``) or out as sold (``sold=True``)."""
        ...


class AdapterBase:
    """A convenient base: registers itself through ``o2o_register_adapters`` and raises
    :class:`NotSupported` for capabilities a subclass does not implement."""

    name: str = ""
    capabilities: frozenset[Capability] = frozenset()

    @hookimpl
    def o2o_register_adapters(self, sdk: O2O, register: Callable[[Adapter], None]) -> None:
        register(self)

    def mirror_offer(self, sdk: O2O, offer: Offer, code: str) -> PlatformDiscount:
        raise NotSupported(f"The {self.name} adapter cannot mirror offers as discount codes.")

    def discount_usage(self, sdk: O2O, mirror: OfferMirror) -> int:
        raise NotSupported(f"The {self.name} adapter cannot read discount usage.")

    def lookup_customer(self, sdk: O2O, email: str) -> PlatformCustomer | None:
        raise NotSupported(f"The {self.name} adapter cannot look up customers.")

    def parse_webhook(self, sdk: O2O, request: WebhookRequest) -> builtins.list[OrderEvent]:
        raise NotSupported(f"The {self.name} adapter does not receive webhooks.")

    def pickup_changed(self, sdk: O2O, pickup: Pickup, previous: PickupState) -> None:
        raise NotSupported(f"The {self.name} adapter does not follow pickups.")

    def hold_inventory(self, sdk: O2O, pickup: Pickup) -> str:
        raise NotSupported(f"The {self.name} adapter cannot hold inventory.")

    def release_inventory(self, sdk: O2O, pickup: Pickup, hold_ref: str, sold: bool) -> None:
        raise NotSupported(f"The {self.name} adapter cannot release inventory holds.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def default_discount_code(offer: Offer) -> str:
    """The code an offer is mirrored under unless one is given: ``offer.metadata["code"]``,
    else the offer id in capitals without punctuation (stable, so a retried mirror finds it)."""
    given = offer.metadata.get("code")
    if isinstance(given, str) and given.strip():
        return given.strip()
    return "".join(ch for ch in offer.id.upper() if ch.isalnum())[:64]


def _check_adapter(adapter: object) -> Adapter:
    if not isinstance(adapter, Adapter):
        raise PluginError(f"o2o_register_adapters got {adapter!r}, which lacks the Adapter methods or attributes.")
    if not isinstance(adapter.name, str) or not adapter.name.strip() or adapter.name != adapter.name.strip().lower():
        raise PluginError(f"An adapter needs a lower-case name, got {adapter.name!r}.")
    try:
        caps = frozenset(Capability(c) for c in adapter.capabilities)
    except (TypeError, ValueError) as exc:
        raise PluginError(f"Adapter {adapter.name!r} declares unknown capabilities: {exc}.") from None
    if caps != adapter.capabilities:
        raise PluginError(f"Adapter {adapter.name!r} must declare capabilities as a frozenset of Capability.")
    return adapter


class Adapters:
    """``sdk.adapters``: the platform adapters of this SDK instance, and what they do for it.

    Adapters are collected through ``o2o_register_adapters`` when the SDK is created, and again
    whenever plugins were registered since. One adapter per name: the first the hook returns
    (plugins given to ``O2O(plugins=...)`` are called before entry points).
    """

    def __init__(self, sdk: O2O) -> None:
        self._sdk = sdk
        self._adapters: dict[str, Adapter] = {}
        self._seen: frozenset[int] = frozenset()
        self._collect()

    def _collect(self) -> None:
        pm = self._sdk.plugins.pm
        current = frozenset(id(p) for p in pm.get_plugins())
        if current == self._seen:
            return
        found: list[Adapter] = []
        self._sdk.plugins.register_adapters(self._sdk, lambda a: found.append(_check_adapter(a)))
        for adapter in found:
            known = self._adapters.get(adapter.name)
            if known is not None:
                if known is not adapter:
                    log.debug("adapter %s already registered; %r ignored", adapter.name, adapter)
                continue
            self._adapters[adapter.name] = adapter
            if not pm.is_registered(adapter):
                self._sdk.plugins.register(adapter, name=f"adapter:{adapter.name}")
        # Registering adapters changed the plugin set: remember the set as it is now.
        self._seen = frozenset(id(p) for p in pm.get_plugins())

    def names(self) -> builtins.list[str]:
        """Names of the registered adapters, sorted."""
        self._collect()
        return sorted(self._adapters)

    def get(self, name: str) -> Adapter:
        """The adapter for platform ``name``; :class:`~o2o_sdk.errors.NotFound` otherwise."""
        self._collect()
        try:
            return self._adapters[name]
        except KeyError:
            known = ", ".join(sorted(self._adapters)) or "none"
            hint = ""
            if self._sdk.plugins.pm.has_plugin(name):  # installed, but its settings registered no adapter
                hint = (f" The {name} plugin is installed but not configured: set its O2O_{name.upper()}_* settings"
                        f" (environment or Config.plugin_config[{name!r}]).")  # fmt: skip
            raise NotFound(f"No adapter for the platform {name!r} (registered: {known}).{hint}") from None

    def __contains__(self, name: object) -> bool:
        self._collect()
        return name in self._adapters

    def _capable(self, name: str, capability: Capability) -> Adapter:
        adapter = self.get(name)
        if capability not in adapter.capabilities:
            raise NotSupported(f"The {name} adapter does not declare the {capability.value!r} capability.")
        return adapter

    # --- discount-code mirrors
    def mirror_offer(self, platform: str, offer_id: str, code: str | None = None) -> OfferMirror:
        """Mirror an offer as a discount code on ``platform`` and keep the link.

        Idempotent: an offer already mirrored on the platform returns the stored mirror
        without asking the platform again.
        """
        storage = self._sdk.storage
        existing = storage.get_mirror(offer_id, platform)
        if existing is not None:
            return existing
        offer = self._sdk.offers.get(offer_id)
        code = (code or default_discount_code(offer)).strip()
        if not code:
            raise InvalidInput("A discount code cannot be empty.")
        taken = storage.find_mirror(platform, code)
        if taken is not None:
            raise InvalidInput(f"The code {code!r} already mirrors offer {taken.offer_id} on {platform}.", code="code_taken")
        adapter = self._capable(platform, Capability.DISCOUNTS)
        made = adapter.mirror_offer(self._sdk, offer, code)
        if not isinstance(made, PlatformDiscount):
            raise PluginError(f"{platform}: mirror_offer must return a PlatformDiscount, got {type(made).__name__}.")
        mirror = OfferMirror(offer.id, platform, made.discount_id, made.code, self._sdk.clock.now(), made.usage_count)
        return storage.insert_mirror(mirror)

    def mirror(self, platform: str, offer_id: str) -> OfferMirror:
        """The stored mirror of an offer on ``platform``; :class:`~o2o_sdk.errors.NotFound` otherwise."""
        found = self._sdk.storage.get_mirror(offer_id, platform)
        if found is None:
            raise NotFound(f"Offer {offer_id!r} is not mirrored on {platform}.")
        return found

    def mirrors(self, platform: str | None = None) -> builtins.list[OfferMirror]:
        """Every stored mirror (of one platform)."""
        return self._sdk.storage.list_mirrors(platform)

    def sync_usage(self, platform: str, offer_id: str | None = None) -> builtins.list[OfferMirror]:
        """Read the platform's usage count back into the stored mirrors (one offer, or all)."""
        adapter = self._capable(platform, Capability.DISCOUNTS)
        targets = [self.mirror(platform, offer_id)] if offer_id is not None else self.mirrors(platform)
        out: builtins.list[OfferMirror] = []
        for mirror in targets:
            count = adapter.discount_usage(self._sdk, mirror)
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise PluginError(f"{platform}: discount_usage must return a count, got {count!r}.")
            now = self._sdk.clock.now()
            self._sdk.storage.set_mirror_usage(mirror.offer_id, platform, count, now)
            out.append(attrs.evolve(mirror, usage_count=count, synced_at=now))
        return out

    # --- customers
    def lookup_customer(self, platform: str, email: str) -> PlatformCustomer | None:
        """The platform's customer with this email, or ``None``."""
        email = email.strip()
        if "@" not in email:
            raise InvalidInput(f"{email!r} is not an email address.")
        found = self._capable(platform, Capability.CUSTOMERS).lookup_customer(self._sdk, email)
        if found is not None and not isinstance(found, PlatformCustomer):
            raise PluginError(f"{platform}: lookup_customer must return a PlatformCustomer or None.")
        return found

    # --- webhooks
    def handle_webhook(self, platform: str, headers: Mapping[str, str], body: bytes, url: str = "") -> builtins.list[RecordedOrder]:
        """Verify and parse one delivery with the platform's adapter, and record its orders.

        Raises :class:`WebhookRejected` for an unknown platform, a bad signature or an unreadable
        payload; a redelivery is recorded once (see ``RecordedOrder.recorded``).
        """
        if platform not in self:
            raise WebhookRejected(f"No adapter receives webhooks for {platform!r}.", code="unknown_platform")
        adapter = self._capable(platform, Capability.WEBHOOKS)
        events = adapter.parse_webhook(self._sdk, WebhookRequest(bytes(body), dict(headers), url))
        if not isinstance(events, list) or not all(isinstance(e, OrderEvent) for e in events):
            raise PluginError(f"{platform}: parse_webhook must return a list of OrderEvent.")
        return [self._sdk.orders.record(event) for event in events]

    def close(self) -> None:
        """Close the adapters' HTTP clients."""
        for adapter in self._adapters.values():
            closer = getattr(adapter, "close", None)
            if callable(closer):
                closer()


_STATUS_BY_CODE = {"bad_signature": 401, "unknown_platform": 404, "malformed_payload": 400}


def webhook_endpoint(sdk: O2O, platform: str) -> Any:
    """A Starlette endpoint (``async def endpoint(request)``) receiving ``platform``'s webhooks,
    for ``o2o_register_routes``: ``register("/webhooks/shopify", webhook_endpoint(sdk, "shopify"),
    methods=["POST"])``. Answers 200 with counts (``recorded``, ``duplicates``: orders or
    deliveries recorded before, ``cancelled``: orders the platform cancelled), 401 for a bad signature, 400 for an unreadable
    payload, 422 for a verified one the SDK refuses as invalid (retrying cannot help), 503 (with
    ``Retry-After``) when a platform call or our own storage failed, so the platform delivers
    again. Needs the ``web`` extra (Starlette)."""

    async def endpoint(request: Any) -> Any:
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        from .http import PlatformError

        body = await request.body()
        try:
            results = await run_in_threadpool(sdk.adapters.handle_webhook, platform, dict(request.headers), body, str(request.url))
        except WebhookRejected as exc:
            log.warning("%s webhook rejected: %s", platform, exc.code)
            return JSONResponse({"error": exc.code, "message": exc.message}, status_code=_STATUS_BY_CODE.get(exc.code, 400))
        except InvalidInput as exc:  # a verified delivery we can never take (e.g. 10^6 units to collect): no retry helps
            log.error("%s webhook cannot be recorded: %s: %s", platform, exc.code, exc.message)
            return JSONResponse({"error": "unprocessable", "message": exc.message}, status_code=422)
        except PlatformError as exc:  # e.g. fetching the order failed: the platform retries a 503
            log.warning("%s webhook: the platform call failed: %s", platform, exc.code)
            return JSONResponse({"error": exc.code, "message": exc.message}, status_code=503, headers={"Retry-After": "30"})
        except O2OError as exc:  # our configuration or storage: no traceback to the platform, a retry later
            log.error("%s webhook could not be processed: %s: %s", platform, exc.code, exc.message)
            return JSONResponse({"error": exc.code, "message": "The delivery could not be processed; retry later."},
                                status_code=503, headers={"Retry-After": "60"})  # fmt: skip
        recorded = sum(1 for r in results if r.recorded)
        cancelled = sum(1 for r in results if r.order.cancelled)  # never recorded, and not a repeat either
        return JSONResponse({"recorded": recorded, "duplicates": len(results) - recorded - cancelled, "cancelled": cancelled})

    return endpoint

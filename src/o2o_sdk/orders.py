"""``sdk.orders``: platform orders (from adapters' webhooks), recorded once and journaled.

An in-store order becomes the journal event ``order_in_store``, an online order
``order_online``; attribution (online → offline → online) and pickup read them. Each order is
recorded at most once: storage refuses a second row with the same ``(platform, order_id)`` or
the same ``(platform, delivery_id)`` (a webhook redelivery), in the same transaction that
appends the journal event.

Journal data of both events: ``platform``, ``order_id``, ``kind``, ``location_id``,
``customer_email``, ``platform_customer_id``, ``discount_codes``, ``total_minor``,
``currency``, ``occurred_at`` (ISO 8601), ``delivery_id``; and ``reservation_id`` for an
in-store order of a customer who came to try on reserved items at that store
(``PickupSettings.tryon_window``). An order with ``pickup`` details gets exactly one pickup
(``sdk.pickups``), returned on every redelivery as ``RecordedOrder.pickup``. The event's ``store_id``,
``offer_id``, ``voucher_id`` and ``customer_id`` columns are set as the order has them
(``customer_id`` is the voucher's customer when a voucher matched, else the platform's
customer id).

An order the platform reports cancelled (``OrderEvent.cancelled``, set by the adapter) is not
recorded: its pickup, if one was created and is still open, is cancelled with reason
``cancelled_on_<platform>`` (journaled ``pickup_cancelled``; slot freed, holds released, the
store alerted with ``o2o_pickup_alert`` ``cancelled``), without telling the platform back, since
it said so itself. A pickup already handed over stands (logged); one already cancelled or
released is returned as it is, so a redelivered cancellation changes nothing. An order first
seen cancelled gets no pickup and no journal event. An order recorded before is marked cancelled
(``cancelled_at``; ``sdk.orders.get`` then says ``cancelled=True``) and journaled once as
``order_cancelled`` (data: ``platform``, ``order_id``, ``kind``, ``total_minor``, ``currency``,
``delivery_id``; the columns as the order's own event has them): attributed revenue in
``sdk.analytics`` leaves it out from then on.
"""

from __future__ import annotations

import builtins
import logging
import re
from typing import TYPE_CHECKING

import attrs

from ._checks import check_limit
from .errors import ConfigurationError, InvalidInput, NotFound, PickupRefused, TokenError
from .models import EventType, JournalEvent, OrderEvent, OrderKind, Pickup, PickupKind, PickupState
from .offers import VOUCHER_PURPOSE
from .tokens import decode_voucher_payload

if TYPE_CHECKING:
    from .sdk import O2O

__all__ = ["Orders", "RecordedOrder"]

log = logging.getLogger("o2o_sdk.orders")

_VOUCHER_ID = re.compile(r"[0-9a-f]{16}")


@attrs.frozen
class RecordedOrder:
    """What :meth:`Orders.record` did with an order."""

    #: The order as stored (store, offer and voucher filled in where they could be mapped).
    order: OrderEvent
    #: ``False`` when the order or the delivery had been recorded before, or the order came
    #: cancelled (``OrderEvent.cancelled``): no order written.
    recorded: bool
    #: The journal event appended: the order's, or ``order_cancelled`` when the platform
    #: cancelled an order recorded before; ``None`` for a duplicate, a cancellation seen before,
    #: or the cancellation of an order never recorded.
    event: JournalEvent | None = None
    #: The pickup of an order to be collected in store (the same one on every redelivery); for a
    #: cancelled order, its pickup as it is now (cancelled, or ended before), if one was created.
    pickup: Pickup | None = None


class Orders:
    """Record platform orders and read them back."""

    def __init__(self, sdk: O2O) -> None:
        self._sdk = sdk

    def record(self, order: OrderEvent) -> RecordedOrder:
        """Map the order to our store, offer and voucher, store it once and journal it; or, for
        an order the platform cancelled, cancel its pickup (see the module's description)."""
        _check(order)
        order = self._enrich(order)
        if order.cancelled:
            return RecordedOrder(order, False, self._cancel_recorded(order), self._cancel_pickup(order))
        now = self._sdk.clock.now()
        customer_id = self._customer_of(order)
        event = JournalEvent(
            EventType.ORDER_IN_STORE if order.kind is OrderKind.IN_STORE else EventType.ORDER_ONLINE,
            now, order.offer_id, order.voucher_id, order.store_id, customer_id,
            {
                "platform": order.platform, "order_id": order.order_id, "kind": order.kind.value,
                "location_id": order.location_id, "customer_email": order.customer_email,
                "platform_customer_id": order.customer_id,
                "discount_codes": list(order.discount_codes),
                "total_minor": order.total.minor if order.total else None,
                "currency": order.total.currency if order.total else None,
                "occurred_at": order.occurred_at.isoformat(), "delivery_id": order.delivery_id,
            },
        )  # fmt: skip
        reservation = self._tryon(order, customer_id)
        if reservation is not None:
            event = attrs.evolve(event, data={**event.data, "reservation_id": reservation.id})
        with self._sdk.storage.atomic() as tx:
            inserted = tx.insert_order_once(order, now)
            stored = tx.append_events([event])[0] if inserted else None
        if stored is not None:
            self._sdk._emit([stored])
        return RecordedOrder(order, inserted, stored, self._pickup(order))

    def _pickup(self, order: OrderEvent) -> Pickup | None:
        """The order's pickup, created once (also on a redelivery, should the first attempt
        have stopped between recording the order and creating its pickup).

        A pickup that can never be created (its location is not one of our stores, its items
        are invalid) is logged and the order stays recorded without it; any other failure (the
        database) is raised, so that the webhook asks the platform to deliver again and the
        redelivery creates the pickup."""
        if order.pickup is None:
            return None
        try:
            return self._sdk.pickups.from_order(order)
        except (InvalidInput, PickupRefused) as exc:
            log.error("%s order %s: no pickup created: %s", order.platform, order.order_id, exc)
            return None

    def _customer_of(self, order: OrderEvent) -> str | None:
        """The voucher's customer when a voucher matched (the shop's own id: what attribution
        joins on), else the platform's customer id."""
        if order.voucher_id is not None:
            voucher = self._sdk.storage.get_voucher(order.voucher_id)
            if voucher is not None and voucher.customer_id is not None:
                return voucher.customer_id
        return order.customer_id

    def _cancel_recorded(self, order: OrderEvent) -> JournalEvent | None:
        """Mark an order recorded before as cancelled and journal ``order_cancelled``, once."""
        stored = self._sdk.storage.get_order(order.platform, order.order_id)
        if stored is None or stored.cancelled:  # never recorded, or a cancellation seen before
            return None
        # Read before the transaction: a read inside it would wait for a second pooled connection.
        customer_id = self._customer_of(stored)
        now = self._sdk.clock.now()
        with self._sdk.storage.atomic() as tx:
            if tx.cancel_order(order.platform, order.order_id, now) is None:
                return None  # a concurrent delivery of the same cancellation marked it first
            event = JournalEvent(
                EventType.ORDER_CANCELLED, now, stored.offer_id, stored.voucher_id, stored.store_id, customer_id,
                {
                    "platform": stored.platform, "order_id": stored.order_id, "kind": stored.kind.value,
                    "total_minor": stored.total.minor if stored.total else None,
                    "currency": stored.total.currency if stored.total else None,
                    "delivery_id": order.delivery_id,
                },
            )  # fmt: skip
            appended = tx.append_events([event])[0]
        self._sdk._emit([appended])
        return appended

    def _cancel_pickup(self, order: OrderEvent) -> Pickup | None:
        """The platform cancelled the order: cancel its pickup unless there is none or it ended."""
        pickups = self._sdk.pickups
        try:
            pickup = pickups.for_order(order.platform, order.order_id)
        except ConfigurationError:  # a storage without pickups: nothing to cancel
            return None
        if pickup is None:  # never recorded with a pickup: nothing is created for a cancelled order
            return None
        if pickup.state is PickupState.HANDED_OVER:
            log.warning("%s order %s was cancelled on the platform after its pickup %s was handed over; the pickup stands.",
                        order.platform, order.order_id, pickup.id)  # fmt: skip
            return pickup
        if pickup.state.final:  # cancelled or released: a redelivery, or our own end told back
            return pickup
        try:
            return pickups.cancel(pickup.id, reason=f"cancelled_on_{order.platform}", from_platform=True)
        except PickupRefused:  # a concurrent step ended it first (e.g. handed over just now)
            return pickups.get(pickup.id)

    def _tryon(self, order: OrderEvent, customer_id: str | None) -> Pickup | None:
        """The reservation an in-store purchase follows (the customer tried the items on)."""
        if order.kind is not OrderKind.IN_STORE or customer_id is None or order.store_id is None:
            return None
        window = self._sdk.config.pickups.tryon_window
        candidates = self._sdk.pickups.list(store_id=order.store_id, customer_id=customer_id,
                                            state=(PickupState.ARRIVED, PickupState.HANDED_OVER))  # fmt: skip
        best: Pickup | None = None
        for p in candidates:
            if p.kind is not PickupKind.RESERVATION or p.arrived_at is None:
                continue
            if p.arrived_at <= order.occurred_at <= p.arrived_at + window and (best is None or p.arrived_at > (best.arrived_at or p.arrived_at)):
                best = p
        return best

    def get(self, platform: str, order_id: str) -> OrderEvent:
        """A recorded order; :class:`~o2o_sdk.errors.NotFound` otherwise."""
        found = self._sdk.storage.get_order(platform, order_id)
        if found is None:
            raise NotFound(f"No {platform} order {order_id!r} was recorded.")
        return found

    def list(self, platform: str | None = None, limit: int = 1000) -> builtins.list[OrderEvent]:
        """Recorded orders (of one platform), oldest first."""
        return self._sdk.storage.list_orders(platform, check_limit(limit))

    # --- mapping platform ids to ours
    def _enrich(self, order: OrderEvent) -> OrderEvent:
        changes: dict[str, object] = {}
        if order.store_id is None and order.location_id is not None:
            store_id = self.store_for_location(order.platform, order.location_id)
            if store_id is not None:
                changes["store_id"] = store_id
        if order.offer_id is None and order.voucher_id is None:
            for code in order.discount_codes:
                offer_id, voucher_id = self._match_code(order.platform, code)
                if offer_id is not None:
                    changes["offer_id"], changes["voucher_id"] = offer_id, voucher_id
                    break
        return attrs.evolve(order, **changes) if changes else order  # type: ignore[arg-type]

    def store_for_location(self, platform: str, location_id: str) -> str | None:
        """Our store id for a platform location id (``Store.external_ids[platform]``)."""
        wanted = str(location_id)
        for store in self._sdk.storage.list_stores():
            if store.external_ids.get(platform) == wanted:
                return store.id
        return None

    def _match_code(self, platform: str, code: str) -> tuple[str | None, str | None]:
        """``(offer_id, voucher_id)`` for a discount code, if it is ours."""
        mirror = self._sdk.storage.find_mirror(platform, code)
        if mirror is not None:
            return mirror.offer_id, None
        text = code.strip()
        voucher_id: str | None = None
        if _VOUCHER_ID.fullmatch(text.lower()):
            voucher_id = text.lower()
        else:
            try:
                # Authentic is enough here: a sale reported late may use a voucher that has expired since.
                voucher_id = decode_voucher_payload(self._sdk.signer.verify(text, VOUCHER_PURPOSE)).voucher_id
            except (TokenError, InvalidInput):
                return None, None
        voucher = self._sdk.storage.get_voucher(voucher_id)
        if voucher is None:
            return None, None
        return voucher.offer_id, voucher.id


def _check(order: OrderEvent) -> None:
    if not isinstance(order, OrderEvent):
        raise InvalidInput(f"Record an OrderEvent, not {type(order).__name__}.")
    if not order.platform or not order.order_id:
        raise InvalidInput("An order needs its platform and the platform's order id.")
    if not isinstance(order.kind, OrderKind):
        raise InvalidInput(f"Order kind {order.kind!r} is not in_store or online.")
    if order.occurred_at.tzinfo is None:
        raise InvalidInput("An order's time needs a time zone.")

"""``sdk.pickups``: order or reserve online, collect in store.

::

    placed ──► accepted ──► ready ──► arrived ──► handed_over
      │           │           │  ▲        │
      │           │           │  └ ready  │      (ready after an early arrival keeps ``arrived``)
      │           │           └──► released  (not collected by the deadline: ``sdk.pickups.release_due``)
      └───────────┴───────────┴────────┴──► cancelled

Every step is one transaction that locks the pickup, checks the step is allowed, writes the
new state with ``version + 1`` and appends a journal event (``pickup_placed`` …
``pickup_cancelled``). A step not allowed from the current state raises
:class:`~o2o_sdk.errors.PickupRefused` (``illegal_transition``, or ``already_<state>`` when it
was already taken), so two staff members scanning the same pickup pass hand it over once.

After a step commits, the SDK tells the platform (adapters declaring ``Capability.PICKUPS``),
releases inventory holds, and alerts the store (hook ``o2o_pickup_alert``: a new pickup to
prepare, a customer who arrived). An order cancelled on its platform (``OrderEvent.cancelled``)
cancels its pickup with ``from_platform=True``: the platform is not told back, the store is
alerted (``cancelled``). The journal events feed follow-ups (plugin
``pickup_flows``: the pickup pass, the deadline reminder, thanks with feedback, win-back) and
attribution.

The pickup pass is a signed token (purpose ``pickup``) naming the pickup; its QR is what staff
scan at the counter, and its page (``<base_url>/pickup/<token>``, web surface) has the store's
address, today's opening hours, the deadline and the "I'm here" button.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from .._checks import check_limit
from ..errors import ConfigurationError, InvalidInput, NotFound, O2OError, PickupRefused, Reason, TokenError
from ..hours import zone
from ..ids import new_id
from ..models import (
    CheckinRequest,
    EventType,
    JournalEvent,
    OrderEvent,
    OrderLine,
    Pickup,
    PickupKind,
    PickupState,
    Store,
)
from ..money import Money
from ._tables import PickupTables

if TYPE_CHECKING:
    import segno

    from ..sdk import O2O

__all__ = ["FINAL_STATES", "MAX_QUANTITY", "OPEN_STATES", "PASS_PATH", "PASS_PURPOSE", "Pickups", "Slot"]

log = logging.getLogger("o2o_sdk.pickups")

PASS_PURPOSE = "pickup"
PASS_PATH = "pickup"
#: The most units of one line a pickup takes (what the holds' INTEGER column and any counter keep).
MAX_QUANTITY = 100_000

S = PickupState
#: States in which the pickup still waits for the customer.
OPEN_STATES = frozenset({S.PLACED, S.ACCEPTED, S.READY, S.ARRIVED})
FINAL_STATES = frozenset(state for state in S if state.final)

#: Which states each step may start from.
_FROM: dict[PickupState, frozenset[PickupState]] = {
    S.ACCEPTED: frozenset({S.PLACED}),
    S.READY: frozenset({S.PLACED, S.ACCEPTED, S.ARRIVED}),
    S.ARRIVED: frozenset({S.PLACED, S.ACCEPTED, S.READY}),
    S.HANDED_OVER: frozenset({S.READY, S.ARRIVED}),
    S.RELEASED: frozenset({S.PLACED, S.ACCEPTED, S.READY}),
    S.CANCELLED: frozenset(OPEN_STATES),
}
_EVENT = {
    S.PLACED: EventType.PICKUP_PLACED, S.ACCEPTED: EventType.PICKUP_ACCEPTED, S.READY: EventType.PICKUP_READY,
    S.ARRIVED: EventType.PICKUP_ARRIVED, S.HANDED_OVER: EventType.PICKUP_HANDED_OVER,
    S.RELEASED: EventType.PICKUP_RELEASED, S.CANCELLED: EventType.PICKUP_CANCELLED,
}  # fmt: skip


@attrs.frozen
class Slot:
    """A pickup slot of a store: ``[start, end)`` in the store's time zone."""

    start: datetime
    end: datetime
    capacity: int
    booked: int

    @property
    def available(self) -> int:
        """Bookings left."""
        return max(0, self.capacity - self.booked)


def _lines(items: Iterable[OrderLine | Mapping[str, Any]]) -> tuple[OrderLine, ...]:
    out: list[OrderLine] = []
    for item in items:
        if isinstance(item, Mapping):
            try:
                item = OrderLine(str(item["sku"]), int(item.get("quantity", 1)), item.get("name"))
            except (KeyError, TypeError, ValueError):
                raise InvalidInput(f"An item needs a sku and a whole quantity, got {item!r}.", code="invalid_item") from None
        if not isinstance(item, OrderLine):
            raise InvalidInput(f"Items are OrderLine or {{'sku', 'quantity'}}, not {type(item).__name__}.", code="invalid_item")
        if not item.sku or not str(item.sku).strip():
            raise InvalidInput("An item needs its SKU.", code="invalid_item")
        if not isinstance(item.quantity, int) or isinstance(item.quantity, bool) or not 1 <= item.quantity <= MAX_QUANTITY:
            raise InvalidInput(f"The quantity of {item.sku} must be a whole number from 1 to {MAX_QUANTITY:,}.", code="invalid_item")
        out.append(item)
    return tuple(out)


def _aware(value: datetime | None, what: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"The {what} needs a time zone.", code="naive_datetime")
    return value


class Pickups:
    """Pickups and reservations of this SDK instance (``sdk.pickups``)."""

    def __init__(self, sdk: O2O) -> None:
        self._sdk = sdk
        self._tables: PickupTables | None = None

    @property
    def tables(self) -> PickupTables:
        """The SQL behind pickups (built-in storages only)."""
        if self._tables is None:
            self._tables = PickupTables(self._sdk.storage, self._sdk.converter)
        return self._tables

    # ================================================================== creating
    def create(
        self,
        store_id: str,
        items: Iterable[OrderLine | Mapping[str, Any]],
        *,
        kind: PickupKind | str = PickupKind.ORDER,
        customer_id: str | None = None,
        customer_email: str | None = None,
        slot_start: datetime | None = None,
        deadline: datetime | None = None,
        total: Money | None = None,
        platform: str | None = None,
        order_id: str | None = None,
        curbside: bool = False,
        note: str | None = None,
        hold: bool | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Pickup:
        """Place a pickup (``kind="order"``) or a reservation to try on (``kind="reservation"``).

        ``slot_start`` books one of :meth:`slots` atomically (``PickupRefused`` ``slot_full`` /
        ``slot_unavailable``). A reservation's deadline defaults to now plus
        ``PickupSettings.reservation_hold``; an order's is set when it is ready. ``hold``
        (default: reservations yes, orders no) sets the items aside: through the store's
        adapter when it declares ``inventory_holds``, else as the SDK's own hold, which the
        locator's in-stock filter subtracts. A pickup of a platform order (``platform`` and
        ``order_id``) is created once: asking again returns the existing one.
        """
        sdk = self._sdk
        try:
            kind = PickupKind(kind)
        except ValueError:
            raise InvalidInput(f"{kind!r} is not a pickup kind; use order or reservation.", code="invalid_kind") from None
        store = sdk.stores.get(store_id)
        lines = _lines(items)
        if not lines:
            raise InvalidInput("A pickup needs at least one item.", code="invalid_item")
        _aware(slot_start, "slot start")
        _aware(deadline, "deadline")
        if (platform is None) != (order_id is None):
            raise InvalidInput("Give both the platform and its order id, or neither.")
        if platform is not None and order_id is not None:
            existing = self.tables.by_order(platform, order_id)
            if existing is not None:
                return existing
        email = customer_email.strip() if customer_email else None
        if email is not None and "@" not in email:
            raise InvalidInput(f"{email!r} is not an email address.", code="invalid_email")
        if customer_id is None and email is not None:
            customer_id = f"email:{email.lower()}"
        settings = sdk.config.pickups
        now = sdk.clock.now()
        if kind is PickupKind.RESERVATION and deadline is None:
            deadline = now + settings.reservation_hold
        if deadline is not None and deadline <= now:
            raise InvalidInput("The deadline has already passed.", code="deadline_passed")
        capacity = 0
        if slot_start is not None:
            slot_start, capacity = self._check_slot(store, slot_start, now)
        if hold is None:
            hold = kind is PickupKind.RESERVATION
        holder = self._hold_adapter(store, platform) if hold else None
        pickup = Pickup(
            id=new_id("pku"), kind=kind, store_id=store.id, state=S.PLACED, created_at=now, updated_at=now,
            customer_id=customer_id, customer_email=email, items=lines, deadline=deadline, slot_start=slot_start,
            platform=platform, order_id=order_id, total=total, curbside=curbside,
            hold_ref="sdk" if hold and holder is None else None,
            data={**(data or {}), **({"note": note} if note else {})},
        )  # fmt: skip
        event = self._event(pickup, None)
        with self.tables.transaction() as tx:
            if not self.tables.insert(tx, pickup):
                existing = None
            else:
                existing = pickup
                if slot_start is not None and not self.tables.book_slot(tx, store.id, slot_start, capacity):
                    raise PickupRefused(f"The {slot_start.astimezone(zone(store.timezone)):%H:%M} slot at {store.name} is full.",
                                        code="slot_full")  # fmt: skip
                if pickup.hold_ref == "sdk":
                    self.tables.hold(tx, pickup.id, store.id, lines, now)
                [event] = tx.append_events([event])
        if existing is None:  # lost a race with the same platform order
            assert platform is not None and order_id is not None
            found = self.tables.by_order(platform, order_id)
            assert found is not None
            return found
        if email and customer_id:
            try:
                sdk.followups.contacts.upsert(customer_id, email=email, source="pickup")
            except O2OError as exc:  # a contact is a convenience, never a reason to lose the pickup
                log.warning("pickup %s: contact not saved: %s", pickup.id, exc)
        sdk._emit([event])
        if holder is not None:
            pickup = self._platform_hold(holder, pickup)
        self._alert(pickup, "placed")
        return pickup

    def from_order(self, order: OrderEvent) -> Pickup | None:
        """The pickup of a platform order to be collected in store (``order.pickup``), created
        once however often the order is delivered; ``None`` for other orders.
        :class:`~o2o_sdk.errors.NotFound` (``unknown_store``) if its location is not one of ours."""
        details = order.pickup
        if details is None:
            return None
        store_id = details.store_id or order.store_id
        location = details.location_id or order.location_id
        if store_id is None and location is not None:
            store_id = self._sdk.orders.store_for_location(order.platform, location)
        if store_id is None:
            raise NotFound(f"{order.platform} order {order.order_id}: its pickup location {location!r} is not one of our stores.",
                           code="unknown_store")  # fmt: skip
        data: dict[str, Any] = {"curbside_note": details.note} if details.curbside and details.note else {}
        if details.pickup_at is not None:
            data["pickup_at"] = details.pickup_at.isoformat()
        return self.create(
            store_id, order.items or (OrderLine("order", 1, f"{order.platform} order {order.order_id}"),),
            customer_id=order.customer_id, customer_email=order.customer_email,
            deadline=details.deadline if details.deadline and details.deadline > self._sdk.clock.now() else None,
            total=order.total, platform=order.platform, order_id=order.order_id, curbside=details.curbside,
            note=details.note, hold=False, data=data,
        )  # fmt: skip

    # ================================================================== steps
    def accept(self, pickup_id: str, *, staff_id: str | None = None, store_id: str | None = None) -> Pickup:
        """The store accepts the order (it will prepare it)."""
        return self._step(pickup_id, S.ACCEPTED, store_id=store_id, staff_id=staff_id)

    def ready(self, pickup_id: str, *, deadline: datetime | None = None, staff_id: str | None = None,
              store_id: str | None = None) -> Pickup:  # fmt: skip
        """Ready for pickup: the customer gets the pickup pass. The deadline is ``deadline``, else
        the one the pickup has, else now plus ``PickupSettings.collect_within``. After an early
        arrival the pickup stays ``arrived`` (the store is alerted that it is ready)."""
        _aware(deadline, "deadline")
        now = self._sdk.clock.now()
        if deadline is not None and deadline <= now:
            raise InvalidInput("The deadline has already passed.", code="deadline_passed")

        def change(p: Pickup) -> dict[str, Any]:
            return {"ready_at": now, "deadline": deadline or p.deadline or now + self._sdk.config.pickups.collect_within,
                    "state": S.ARRIVED if p.state is S.ARRIVED else S.READY}  # fmt: skip

        return self._step(pickup_id, S.READY, change=change, store_id=store_id, staff_id=staff_id,
                          refuse_same=lambda p: p.ready_at is not None)  # fmt: skip

    def arrived(self, pickup_id: str, *, method: str = "link", note: str | None = None, store_id: str | None = None) -> Pickup:
        """The customer is at the store (``method``: ``link`` from the pass, ``checkin:code``,
        ``checkin:geofence``, ``staff`` …; ``note``: e.g. the parking spot for curbside).
        Announcing again returns the pickup unchanged (the customer tapped twice), or with the
        new note (the store is alerted again)."""
        now = self._sdk.clock.now()
        note = (note or "").strip()[:500] or None
        current = self.get(pickup_id)
        if current.state is S.ARRIVED:
            if note is None or note == current.arrival_note:
                return current
            return self._note(current.id, note)  # e.g. the parking spot, sent after the check-in
        return self._step(pickup_id, S.ARRIVED, store_id=store_id,
                          change=lambda p: {"arrived_at": now, "arrival_method": method, "arrival_note": note})  # fmt: skip

    def _note(self, pickup_id: str, note: str) -> Pickup:
        with self.tables.transaction() as tx:
            current = self.tables.lock(tx, pickup_id)
            if current is None:  # pragma: no cover - pickups are never deleted
                raise NotFound(f"No pickup {pickup_id!r}.")
            new = attrs.evolve(current, arrival_note=note, version=current.version + 1, updated_at=self._sdk.clock.now())
            self.tables.update(tx, new, current.version)
        if new.state is S.ARRIVED:
            self._alert(new, "arrived")
        return new

    def arrive_with_checkin(self, pass_token: str, request: CheckinRequest) -> Pickup:
        """Arrival proven by a check-in (the store's rotating code, or geofence): the check-in
        is verified by the check-in plugins for the pass's customer, at the pass's store."""
        pickup = self.verify_pass(pass_token)
        if pickup.customer_id is None:
            raise PickupRefused("This pickup has no customer to check in.", code="customer_required")
        request = attrs.evolve(request, customer_id=pickup.customer_id, session=None,
                               store_id=request.store_id or pickup.store_id)  # fmt: skip
        result = self._sdk.checkins.check_in(request)
        if result.checkin.store_id != pickup.store_id:
            raise PickupRefused("That check-in code belongs to another store than this pickup's.", code="wrong_store")
        return self.arrived(pickup.id, method=f"checkin:{result.checkin.method}", note=request.data.get("note"))

    def handover(self, pass_or_id: str, *, store_id: str, staff_id: str | None = None, bought: bool | None = None) -> Pickup:
        """Staff hand the pickup over at the counter of ``store_id`` after scanning the pass
        (its token or link; a pickup id is accepted for staff screens). A pass of another
        store is refused (``wrong_store``); a forged one raises
        :class:`~o2o_sdk.errors.TokenError`. Reservations record ``bought`` (required)."""
        pickup = self.verify_pass(pass_or_id) if not pass_or_id.startswith("pku_") else self.get(pass_or_id)
        if pickup.kind is PickupKind.RESERVATION and bought is None:
            raise InvalidInput("A reservation's handover records whether the customer bought (bought=True/False).",
                               code="outcome_required")  # fmt: skip
        now = self._sdk.clock.now()
        return self._step(pickup.id, S.HANDED_OVER, store_id=store_id, staff_id=staff_id,
                          change=lambda p: {"finished_at": now, "bought": bought if p.kind is PickupKind.RESERVATION else True})  # fmt: skip

    def cancel(self, pickup_id: str, *, reason: str = "cancelled", staff_id: str | None = None,
               from_platform: bool = False) -> Pickup:  # fmt: skip
        """Cancel (the customer or the shop): frees the slot and releases held items.

        ``from_platform=True`` when the order was cancelled on its platform (what
        ``sdk.orders.record`` does for an ``OrderEvent`` with ``cancelled=True``): the platform
        is not told back (it said so itself, and telling it would echo), and the store is
        alerted (``o2o_pickup_alert`` ``cancelled``), since it may be preparing the order."""
        now = self._sdk.clock.now()
        pickup = self._step(pickup_id, S.CANCELLED, staff_id=staff_id, tell_platform=not from_platform,
                            change=lambda p: {"finished_at": now, "reason": reason})  # fmt: skip
        if from_platform:
            self._alert(pickup, "cancelled")
        return pickup

    def release_due(self, *, limit: int = 500) -> builtins.list[Pickup]:
        """Release pickups not collected by their deadline (held items back to stock, the
        platform told, the customer offered a win-back). Returns those released; run it
        periodically (``o2o pickups sweep``). Safe to run from several processes."""
        check_limit(limit)
        now = self._sdk.clock.now()
        released: builtins.list[Pickup] = []
        for pickup_id in self.tables.past_deadline(now, _FROM[S.RELEASED], limit):
            try:
                released.append(self._step(pickup_id, S.RELEASED,
                                           change=lambda p: {"finished_at": now, "reason": "not_collected"}))  # fmt: skip
            except PickupRefused:  # another process took a step first
                continue
        return released

    # ================================================================== reading
    def get(self, pickup_id: str) -> Pickup:
        """A pickup; :class:`~o2o_sdk.errors.NotFound` otherwise."""
        found = self.tables.get(pickup_id)
        if found is None:
            raise NotFound(f"No pickup {pickup_id!r}.")
        return found

    def for_order(self, platform: str, order_id: str) -> Pickup | None:
        """The pickup of a platform order, if one was created."""
        return self.tables.by_order(platform, order_id)

    def list(self, *, store_id: str | None = None, state: PickupState | str | Iterable[PickupState | str] | None = None,
             customer_id: str | None = None, limit: int = 1000) -> builtins.list[Pickup]:  # fmt: skip
        """Pickups, oldest first, filtered by store, state(s) and customer."""
        check_limit(limit)
        states: builtins.list[PickupState] = []
        if state is not None:
            for s in [state] if isinstance(state, str) else state:
                try:
                    states.append(PickupState(s))
                except ValueError:
                    raise InvalidInput(f"{s!r} is not a pickup state ({', '.join(PickupState)}).", code="invalid_state") from None
        return self.tables.select(store_id=store_id, states=states, customer_id=customer_id, limit=limit)

    def waiting(self, customer_id: str, store_id: str) -> builtins.list[Pickup]:
        """The customer's pickups at a store that still wait for them."""
        return [p for p in self.list(store_id=store_id, customer_id=customer_id, state=OPEN_STATES)]

    def has_holds(self) -> bool:
        """Whether any of the SDK's own holds is open (``False`` on a storage without pickups)."""
        try:
            return self.tables.any_open_holds()
        except ConfigurationError:
            return False

    def held(self, store_ids: Sequence[str], skus: Sequence[str]) -> dict[str, dict[str, int]]:
        """Quantities set aside by the SDK's own holds, ``{store_id: {sku: quantity}}``."""
        return self.tables.held(store_ids, skus)

    # ================================================================== the pickup pass
    def pass_token(self, pickup: Pickup | str) -> str:
        """The signed pass of a pickup (what its QR holds)."""
        pickup_id = pickup.id if isinstance(pickup, Pickup) else pickup
        return self._sdk.signer.sign(pickup_id.encode("ascii"), PASS_PURPOSE)

    def pass_url(self, pickup: Pickup | str) -> str:
        """``<base_url>/pickup/<token>``: the pass page (QR, store, hours today, deadline, "I'm here")."""
        return f"{self._sdk.config.base_url}/{PASS_PATH}/{self.pass_token(pickup)}"

    def pass_qr(self, pickup: Pickup | str) -> segno.QRCode:
        """The pass as a QR code (of its link)."""
        import segno

        return segno.make(self.pass_url(pickup), error="m")

    def verify_pass(self, token: str) -> Pickup:
        """The pickup a pass (token or link) names; :class:`~o2o_sdk.errors.TokenError` if it
        is not ours (forged, or signed with a retired key)."""
        text = token.strip().rsplit(f"/{PASS_PATH}/", 1)[-1].split("?", 1)[0].split("#", 1)[0]
        if not text:
            raise TokenError(Reason.MALFORMED_TOKEN, "This is not a pickup pass.")
        raw = self._sdk.signer.verify(text, PASS_PURPOSE)
        try:
            pickup_id = raw.decode("ascii")
        except UnicodeDecodeError:  # pragma: no cover - only our own payloads carry this purpose
            raise TokenError(Reason.MALFORMED_TOKEN, "This is not a pickup pass.") from None
        return self.get(pickup_id)

    def describe(self, pickup: Pickup) -> dict[str, str]:
        """What the pass shows, as text: store name and address, opening hours today (store's
        zone), the deadline and slot in the store's local time."""
        store = self._sdk.stores.get(pickup.store_id)
        z = zone(store.timezone)
        today = self._sdk.clock.now().astimezone(z).date()
        hours = store.hours.on(today) if store.hours is not None else None
        return {
            "store_name": store.name,
            "store_address": store.address,
            "hours_today": ("closed today" if not hours else ", ".join(map(str, hours))) if hours is not None else "",
            "deadline": f"{pickup.deadline.astimezone(z):%a %d %b %H:%M}" if pickup.deadline else "",
            "slot": f"{pickup.slot_start.astimezone(z):%a %d %b %H:%M}" if pickup.slot_start else "",
            "timezone": store.timezone,
        }

    # ================================================================== slots
    def slots(self, store_id: str, day: date) -> builtins.list[Slot]:
        """The store's pickup slots on local date ``day`` (within its opening hours, from now
        plus the lead time), with what is booked. Slot length and capacity come from
        ``PickupSettings`` or the store's ``attributes`` (``pickup_slot_minutes``,
        ``pickup_slot_capacity``)."""
        store = self._sdk.stores.get(store_id)
        minutes, capacity = self._slot_shape(store)
        now = self._sdk.clock.now()
        earliest = now + self._sdk.config.pickups.slot_lead_time
        z = zone(store.timezone)
        starts = [s for s in self._slot_starts(store, day, minutes, z) if s >= earliest]
        if not starts:
            return []
        booked = self.tables.booked(store.id, starts[0], starts[-1] + timedelta(minutes=1))
        return [Slot(s, s + timedelta(minutes=minutes), capacity, booked.get(s, 0)) for s in starts]

    def _slot_shape(self, store: Store) -> tuple[int, int]:
        settings = self._sdk.config.pickups
        try:
            minutes = int(store.attributes.get("pickup_slot_minutes", settings.slot_minutes))
            capacity = int(store.attributes.get("pickup_slot_capacity", settings.slot_capacity))
        except (TypeError, ValueError):
            raise InvalidInput(f"Store {store.id}: pickup_slot_minutes and pickup_slot_capacity must be whole numbers.") from None
        if not 5 <= minutes <= 24 * 60 or capacity < 1:
            raise InvalidInput(f"Store {store.id}: a slot lasts 5 minutes to a day and takes at least one pickup.")
        return minutes, capacity

    @staticmethod
    def _slot_starts(store: Store, day: date, minutes: int, z: Any) -> builtins.list[datetime]:
        if store.hours is None:
            return []
        out: builtins.list[datetime] = []
        midnight = datetime.combine(day, time(0))
        for iv in store.hours.on(day):
            m = iv.start
            while m + minutes <= iv.end:
                wall = midnight + timedelta(minutes=m)
                local = wall.replace(tzinfo=z)
                utc = local.astimezone(zone("UTC"))
                if utc.astimezone(z).replace(tzinfo=None) == wall:  # skip wall times a DST gap removes
                    out.append(utc)
                m += minutes
        return sorted(set(out))

    def _check_slot(self, store: Store, slot_start: datetime, now: datetime) -> tuple[datetime, int]:
        minutes, capacity = self._slot_shape(store)
        z = zone(store.timezone)
        start = slot_start.astimezone(zone("UTC"))
        if start < now + self._sdk.config.pickups.slot_lead_time:
            raise PickupRefused("That slot is too soon to prepare the order; pick a later one.", code="slot_unavailable")
        local_day = slot_start.astimezone(z).date()
        for day in (local_day - timedelta(days=1), local_day):  # a slot after midnight may belong to yesterday's hours
            if start in self._slot_starts(store, day, minutes, z):
                return start, capacity
        raise PickupRefused(f"{slot_start.astimezone(z):%a %H:%M} is not a pickup slot of {store.name} (outside opening hours "
                            f"or not on the {minutes}-minute grid).", code="slot_unavailable")  # fmt: skip

    # ================================================================== internals
    def _event(self, pickup: Pickup, previous: PickupState | None, **extra: Any) -> JournalEvent:
        data: dict[str, Any] = {
            "pickup_id": pickup.id, "kind": pickup.kind.value, "from": previous.value if previous else None,
            "platform": pickup.platform, "order_id": pickup.order_id,
            "deadline": pickup.deadline.isoformat() if pickup.deadline else None,
            "total_minor": pickup.total.minor if pickup.total else None,
            "currency": pickup.total.currency if pickup.total else None,
        }  # fmt: skip
        data.update({k: v for k, v in extra.items() if v is not None})
        state = S.READY if (pickup.state is S.ARRIVED and previous is S.ARRIVED) else pickup.state
        return JournalEvent(_EVENT[state].value, self._sdk.clock.now(), None, None, pickup.store_id, pickup.customer_id, data)

    def _step(self, pickup_id: str, to: PickupState, *, change: Any = None, store_id: str | None = None,
              staff_id: str | None = None, refuse_same: Any = None, tell_platform: bool = True) -> Pickup:  # fmt: skip
        sdk = self._sdk
        now = sdk.clock.now()
        with self.tables.transaction() as tx:
            current = self.tables.lock(tx, pickup_id)
            if current is None:
                raise NotFound(f"No pickup {pickup_id!r}.")
            if store_id is not None and current.store_id != store_id:
                raise PickupRefused(f"Pickup {pickup_id} is to be collected at another store ({current.store_id}).",
                                    code="wrong_store", current=current.state.value)  # fmt: skip
            same = current.state is to if refuse_same is None else refuse_same(current)
            if same or current.state not in _FROM[to]:
                code = f"already_{to.value}" if same else "illegal_transition"
                raise PickupRefused(f"Pickup {pickup_id} is {current.state.value}; it cannot be {to.value.replace('_', ' ')} now.",
                                    code=code, current=current.state.value)  # fmt: skip
            changes: dict[str, Any] = {"state": to}
            if change is not None:
                changes.update(change(current))
            new = attrs.evolve(current, updated_at=now, version=current.version + 1, **changes)
            if not self.tables.update(tx, new, current.version):  # pragma: no cover - the row lock prevents it
                raise PickupRefused(f"Pickup {pickup_id} changed meanwhile; try again.", code="stale")
            if new.state in FINAL_STATES:
                if new.slot_start is not None and new.state is not S.HANDED_OVER:
                    self.tables.free_slot(tx, new.store_id, new.slot_start)
                if new.hold_ref == "sdk":
                    self.tables.release(tx, new.id, now)
            extra: dict[str, Any] = {"staff_id": staff_id}
            if new.state is S.ARRIVED and current.state is not S.ARRIVED:
                extra.update(method=new.arrival_method, note=new.arrival_note, curbside=new.curbside or None)
            if new.state is S.HANDED_OVER:
                extra["bought"] = new.bought
            if new.reason:
                extra["reason"] = new.reason
            [event] = tx.append_events([self._event(new, current.state, **extra)])
        sdk._emit([event])
        self._after(new, current.state, tell_platform=tell_platform)
        return new

    def _after(self, pickup: Pickup, previous: PickupState, *, tell_platform: bool = True) -> None:
        """Side effects of a committed step: platform, platform hold, store alert.
        ``tell_platform=False``: the step came from the platform (an order cancelled there), so
        its ``pickup_changed`` is not called; holds are released all the same."""
        if pickup.state in FINAL_STATES and pickup.hold_ref not in (None, "sdk"):
            adapter = self._adapter(pickup.platform or self._hold_platform(pickup), "inventory_holds")
            if adapter is not None:
                sold = pickup.state is S.HANDED_OVER and bool(pickup.bought)
                self._platform_call(pickup, "release_inventory", adapter.release_inventory, self._sdk, pickup, pickup.hold_ref, sold)
        if pickup.platform is not None and tell_platform:
            adapter = self._adapter(pickup.platform, "pickups")
            if adapter is not None:
                # Ready while the customer already waits: the platform learns of the "ready" step.
                told = attrs.evolve(pickup, state=S.READY) if pickup.state is previous is S.ARRIVED else pickup
                self._platform_call(pickup, "pickup_changed", adapter.pickup_changed, self._sdk, told, previous)
        if pickup.state is S.ARRIVED and previous is not S.ARRIVED:
            self._alert(pickup, "arrived")
        elif pickup.state is S.ARRIVED and previous is S.ARRIVED:
            self._alert(pickup, "ready")

    def _adapter(self, platform: str | None, capability: str) -> Any:
        from ..adapters import Capability

        if platform is None or platform not in self._sdk.adapters:
            return None
        adapter = self._sdk.adapters.get(platform)
        return adapter if Capability(capability) in adapter.capabilities else None

    def _hold_adapter(self, store: Store, platform: str | None) -> Any:
        for name in [platform] if platform else sorted(store.external_ids):
            adapter = self._adapter(name, "inventory_holds")
            if adapter is not None:
                return adapter
        return None

    def _hold_platform(self, pickup: Pickup) -> str | None:
        value = pickup.data.get("hold_platform")
        return str(value) if value else None

    def _platform_hold(self, adapter: Any, pickup: Pickup) -> Pickup:
        """Hold stock on the platform; if it refuses, fall back to the SDK's own hold."""
        sdk = self._sdk
        try:
            ref = adapter.hold_inventory(sdk, pickup)
            changes: dict[str, Any] = {"hold_ref": str(ref), "data": {**pickup.data, "hold_platform": adapter.name}}
        except O2OError as exc:
            self._journal_failure(pickup, "hold_inventory", exc)
            changes = {"hold_ref": "sdk"}
        with self.tables.transaction() as tx:
            current = self.tables.lock(tx, pickup.id)
            assert current is not None
            new = attrs.evolve(current, **changes)
            self.tables.update(tx, new, current.version)
            if new.hold_ref == "sdk":
                self.tables.hold(tx, new.id, new.store_id, new.items, sdk.clock.now())
        return new

    def _platform_call(self, pickup: Pickup, what: str, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except O2OError as exc:
            self._journal_failure(pickup, what, exc)

    def _journal_failure(self, pickup: Pickup, what: str, exc: O2OError) -> None:
        log.warning("pickup %s: %s failed on %s: %s", pickup.id, what, pickup.platform, exc)
        event = JournalEvent(
            EventType.PICKUP_PLATFORM_FAILED.value, self._sdk.clock.now(), None, None, pickup.store_id, pickup.customer_id,
            {"pickup_id": pickup.id, "call": what, "platform": pickup.platform, "state": pickup.state.value,
             "error": exc.code, "message": exc.message},
        )  # fmt: skip
        self._sdk._emit(self._sdk.storage.append_events([event]))

    def _alert(self, pickup: Pickup, what: str) -> None:
        self._sdk.plugins.pickup_alert(self._sdk, pickup, what)

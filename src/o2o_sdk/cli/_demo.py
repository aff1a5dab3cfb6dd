"""``o2o demo``: the online → offline story on the embedded default, with no setup.

A fictional coffee chain with stores in four time zones issues a voucher online; the
customer finds the nearest store; the POS validates and redeems it once; a second attempt
is refused; the journal tells what happened. Everything lives in ``./o2o-demo/`` (or
``--dir``), recreated on every run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ..checkin import CheckinRefused
from ..clock import FrozenClock
from ..config import Config
from ..errors import PickupRefused, RedemptionRefused
from ..hours import OpeningHours
from ..models import (
    Basket,
    BasketItem,
    Caps,
    Discount,
    FollowupFlows,
    FollowupSettings,
    OrderEvent,
    OrderKind,
    OrderLine,
    PickupSettings,
    Store,
)
from ..money import Money
from ..sdk import O2O

CHAIN = "Kettle & Crumb"
BASE_URL = "https://kettle-and-crumb.example"

_CAFE = {"mon-fri": ["07:00-19:00"], "sat": ["08:00-18:00"], "sun": ["09:00-17:00"]}
_LATE = {"mon-thu": ["10:00-22:00"], "fri-sat": ["10:00-02:00"], "sun": ["11:00-20:00"]}

STORES = [
    Store("ldn-covent-garden", f"{CHAIN} Covent Garden", "Europe/London", 51.51205, -0.12428,
          "17 Floral Street, London WC2E 9DP", ("pickup", "seating"), OpeningHours.parse({"weekly": _CAFE})),
    Store("ldn-soho", f"{CHAIN} Soho", "Europe/London", 51.51178, -0.13064,
          "9 Gerrard Street, London W1D 5PL", ("pickup", "seating"), OpeningHours.parse({"weekly": _LATE})),
    Store("ldn-shoreditch", f"{CHAIN} Shoreditch", "Europe/London", 51.52463, -0.07868,
          "64 Curtain Road, London EC2A 3AA", ("pickup",), OpeningHours.parse({"weekly": _LATE})),
    Store("ber-mitte", f"{CHAIN} Berlin Mitte", "Europe/Berlin", 52.52661, 13.40127,
          "Rosenthaler Straße 40, 10178 Berlin", ("pickup", "seating"), OpeningHours.parse({"weekly": _CAFE})),
    Store("nyc-soho", f"{CHAIN} SoHo", "America/New_York", 40.72434, -74.00180,
          "131 Spring Street, New York, NY 10012", ("pickup",), OpeningHours.parse({"weekly": {"mon-sun": ["06:30-20:00"]}})),
    Store("tyo-shibuya", f"{CHAIN} Shibuya", "Asia/Tokyo", 35.65952, 139.70060,
          "1-23-10 Jinnan, Shibuya, Tokyo 150-0041", ("seating",), OpeningHours.parse({"weekly": {"mon-sun": ["08:00-22:00"]}})),
]  # fmt: skip

CUSTOMER = "ada@example.com"
NEXT_VISIT = "next-visit-cardamom-bun"
CUSTOMER_AT = (51.51103, -0.12812)  # Leicester Square


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="tell the online → offline story on a fresh embedded database")
    p.add_argument("--dir", default="o2o-demo", help="where the demo database and QR files go (default: ./o2o-demo)")
    p.add_argument("--no-qr", action="store_true", help="do not print the QR code in the terminal")
    p.set_defaults(func_nosdk=run)


def _h(text: str) -> None:
    print(f"\n\033[1m{text}\033[0m" if sys.stdout.isatty() else f"\n== {text}")


def run(args: argparse.Namespace) -> int:
    out = Path(args.dir)
    if out.exists():
        if not (out / "demo.db").exists() and any(out.iterdir()):
            print(f"o2o: error: {out} exists and is not a demo folder; pass --dir", file=sys.stderr)
            return 1
        shutil.rmtree(out)
    out.mkdir(parents=True)
    flows = FollowupFlows(channel="console", survey_url=f"{BASE_URL}/survey", next_visit_offer_id=NEXT_VISIT)
    config = Config.from_env(database_url=f"sqlite:///{out / 'demo.db'}", base_url=BASE_URL, auto_migrate=True,
                             followups=FollowupSettings(flows=flows), pickups=PickupSettings(channel="console"))  # fmt: skip
    with O2O(config, clock=FrozenClock(story_start(datetime.now(UTC)))) as sdk:
        return _story(sdk, out, show_qr=not args.no_qr)


def story_start(now: datetime) -> datetime:
    """The story runs on "story time": the coming Saturday, 09:00 in London."""
    london = now.astimezone(ZoneInfo("Europe/London"))
    days = (5 - london.weekday()) % 7 or 7
    start = (london + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC)


def _story(sdk: O2O, out: Path, *, show_qr: bool) -> int:
    clock = sdk.clock
    assert isinstance(clock, FrozenClock)
    london = ZoneInfo("Europe/London")
    print(f"o2o demo — {CHAIN}, a coffee chain in {len({s.timezone for s in STORES})} time zones")
    print(f"database: {out / 'demo.db'} (embedded SQLite, recreated on every run)")
    print(f"story time: {clock.now().astimezone(london):%A %d %B %Y, %H:%M} in London")

    _h("1. The stores, each open by its own clock")
    sdk.stores.add(STORES)
    for s in sdk.stores.list():
        assert s.hours is not None
        status = s.hours.status(clock.now(), s.timezone)
        change = f"{'closes' if status.open else 'opens'} {status.next_change:%a %H:%M}" if status.next_change else ""
        local = clock.now().astimezone(ZoneInfo(s.timezone))
        print(f"  {s.id:<18} {s.timezone:<17} {local:%a %H:%M}  {'open  ' if status.open else 'closed'} {change}")

    _h("2. Online: the shop creates an offer and issues a voucher")
    ends = (clock.now().astimezone(london) + timedelta(days=14)).replace(hour=23, minute=59, tzinfo=None)
    offer = sdk.offers.create(
        "15% off when you visit",
        Discount.percent_off(15),
        ends_at=ends,
        stores=["ldn-covent-garden", "ldn-soho", "ldn-shoreditch"],
        caps=Caps(total=500, per_customer=1, budget=Money.of("1000", "GBP")),
        min_basket=Money.of("5.00", "GBP"),
        requires_checkin=True,
    )
    print(f"  offer {offer.id}: '{offer.title}' — check in to unlock")
    print(f"    valid until {ends:%Y-%m-%d %H:%M} in each store's own time zone; London stores only")
    print("    caps: 500 redemptions, 1 per customer, budget 1,000.00 GBP; minimum basket 5.00 GBP")
    voucher = sdk.offers.issue(offer, CUSTOMER, ttl=timedelta(days=14))
    url = sdk.offers.url(voucher)
    qr = sdk.offers.qr(voucher)
    print(f"  voucher for {CUSTOMER}, expires {voucher.expires_at:%Y-%m-%d %H:%M} UTC")
    print(f"  link: {url}")
    print(f"  token: {len(voucher.token)} characters; QR version {qr.version}, error correction {qr.error}")
    if show_qr:
        qr.terminal(compact=True)
    qr.save(str(out / "voucher.svg"), scale=8, border=4)
    qr.save(str(out / "voucher.png"), scale=8, border=4)
    print(f"  saved {out / 'voucher.svg'} and {out / 'voucher.png'}")
    sdk.followups.contacts.upsert(CUSTOMER, email=CUSTOMER, name="Ada", timezone="Europe/London",
                                  consents=["console"], source="newsletter sign-up")  # fmt: skip
    sdk.analytics.record_view(voucher.token)
    print("  Ada opens the link on her phone (journaled as voucher_viewed)")

    _h("3. The customer looks for a store with seating, open when she arrives")
    arrival = clock.now() + timedelta(minutes=20)
    matches = sdk.stores.near(*CUSTOMER_AT, k=3, open_at=arrival, open_for=45, services=["seating"], customer_id=CUSTOMER)
    print(f"  {CUSTOMER} is at Leicester Square {CUSTOMER_AT}, arriving at {arrival.astimezone(london):%H:%M}")
    print("  (open at arrival for at least 45 minutes, with seating; exact WGS84 distances)")
    for m in matches:
        until = f"open until {m.next_change:%H:%M}" if m.next_change else "open"
        print(f"    {_distance(m.distance_m):>9}  {m.store.name:<30} {until}")
    store = matches[0].store
    [closest] = sdk.stores.near(*CUSTOMER_AT, k=1)
    hours = closest.store.hours
    if closest.store.id != store.id and hours is not None:
        opens = hours.next_opening(arrival, closest.store.timezone)
        print(f"  (the closest store, {closest.store.name} at {_distance(closest.distance_m)},"
              f" opens only at {opens:%H:%M})" if opens else "")  # fmt: skip

    _h("4. In the store: check in, then the till")
    clock.set(arrival)
    basket = Basket(
        Money.of("8.40", "GBP"),
        (BasketItem("flat-white", 2, Money.of("3.20", "GBP")), BasketItem("cardamom-bun", 1, Money.of("2.00", "GBP"))),
    )
    early = sdk.offers.validate(voucher.token, store.id, basket=basket)
    print(f"  the till before she checks in: refused: {early.refusals[0].code} — {early.refusals[0].message}")
    session = sdk.checkins.session_token(CUSTOMER)
    shown = sdk.checkins.current_code(store.id)
    print(f"  the store's display shows a code that changes every 30 s: {shown.url}")
    visit = sdk.checkins.scan(shown.url, session=session)
    print(f"  her phone opens it (signed in online): checked in at {store.name}, trust '{visit.checkin.trust}'")
    try:
        sdk.checkins.scan(shown.url, session=_friend_session(sdk))
    except CheckinRefused as exc:
        print(f"  (a friend scans a photo of that code from home a minute later: refused: {exc.reason} — {exc.message})")
    tokyo = sdk.offers.validate(voucher.token, "tyo-shibuya", basket=basket)
    print(f"  a photo of the voucher shown in Tokyo: refused: {tokyo.refusals[0].code} — {tokyo.refusals[0].message}")
    check = sdk.offers.validate(voucher.token, store.id, basket=basket)
    assert check.discount is not None and check.discount.amount is not None
    print(f"  the till validates (dry run): {check.discount.description} {basket.total} = {check.discount.amount}")
    red = sdk.offers.redeem(voucher.token, store.id, basket=basket, idempotency_key="pos-cg-till1-000417")
    print(f"  the till redeems with Idempotency-Key pos-cg-till1-000417: redemption {red.id}")
    again = sdk.offers.redeem(voucher.token, store.id, basket=basket, idempotency_key="pos-cg-till1-000417")
    print(f"  it retries after a network timeout (same key): same redemption {again.id} — counted once")
    try:
        sdk.offers.redeem(voucher.token, store.id, basket=basket, idempotency_key="pos-cg-till2-000091")
    except RedemptionRefused as exc:
        print(f"  a second till tries the same voucher: refused: {exc.code} — {exc.message}")
    usage = sdk.offers.usage(offer.id)
    print(f"  offer usage: {usage.redeemed}/500 redemptions, {Money(usage.spent_minor, 'GBP')} of the budget spent")

    _h("5. Online again: follow-ups (O2O2O)")
    sdk.offers.create("A free cardamom bun", Discount.free_item("cardamom-bun"), id=NEXT_VISIT,
                      stores=[s.id for s in STORES if s.id.startswith("ldn-")], caps=Caps(per_customer=1))  # fmt: skip
    if sdk.followups.channels.get("console") is None:
        print("  (install the o2o-console plugin — `make demo` does — to see the follow-ups delivered)")
    else:
        for label, wait in (("two hours later", timedelta(hours=2, minutes=5)), ("three days later", timedelta(days=3))):
            clock.advance(wait)
            print(f"  {label} ({clock.now().astimezone(london):%a %H:%M}), a follow-up worker runs:")
            counts = sdk.followups.run_once()
            print(f"  → planned {counts.planned}, sent {counts.sent}")
        reward = [v for v in sdk.storage.list_vouchers(NEXT_VISIT) if v.customer_id == CUSTOMER]
        sent = [f for f in sdk.followups.list(customer_id=CUSTOMER) if f.flow == "next_visit"]
        if reward and sent:
            clock.advance(days=1)
            sdk.analytics.record_click(sent[0].id)
            sdk.checkins.with_location(store.id, store.latitude, store.longitude, 10, customer_id=CUSTOMER)
            bun = Basket(Money.of("2.00", "GBP"), (BasketItem("cardamom-bun", 1, Money.of("2.00", "GBP")),))
            back = sdk.offers.redeem(reward[0].token, store.id, basket=bun, idempotency_key="pos-cg-till1-000950")
            print(f"  she comes back the next day: the next-visit voucher is redeemed ({back.discount.description},"
                  f" {back.discount.amount}) — the loop is closed")  # fmt: skip
            sale = OrderEvent("pos", "cg-till1-000950", OrderKind.IN_STORE, clock.now(), Money.of("5.20", "GBP"),
                              store_id=store.id, customer_id=CUSTOMER, voucher_id=reward[0].id)  # fmt: skip
            sdk.orders.record(sale)
            print(f"  the till reports the sale ({sale.total}) — an offline purchase after an online follow-up")

    _h("6. Order online, collect in store")
    friend = "ben@example.com"
    sdk.followups.contacts.upsert(friend, email=friend, name="Ben", timezone="Europe/London", source="checkout")
    cg = sdk.stores.get("ldn-covent-garden")
    local_day = clock.now().astimezone(london).date()
    slots = sdk.pickups.slots(cg.id, local_day)
    if not slots:  # the story may reach the evening; take tomorrow's first slot
        slots = sdk.pickups.slots(cg.id, local_day + timedelta(days=1))
    slot = slots[0]
    order = sdk.pickups.create(cg.id, [OrderLine("flat-white", 2, "Flat white"), OrderLine("cardamom-bun", 2, "Cardamom bun")],
                               customer_id=friend, customer_email=friend, slot_start=slot.start,
                               total=Money.of("10.40", "GBP"))  # fmt: skip
    print(f"  {friend} orders online for the {slot.start.astimezone(london):%H:%M} slot at {cg.name}"
          f" ({slot.available - 1} of {slot.capacity} places left): pickup {order.id}")  # fmt: skip
    sdk.pickups.accept(order.id, staff_id="barista-1")
    clock.set(slot.start - timedelta(minutes=5))
    ready = sdk.pickups.ready(order.id, staff_id="barista-1")
    deadline = sdk.pickups.describe(ready)["deadline"]
    print(f"  the store accepts it and marks it ready at {clock.now().astimezone(london):%H:%M}; collect by {deadline}")
    if sdk.followups.channels.get("console") is not None:
        counts = sdk.followups.run_once()
        print(f"  → the pickup pass goes out (sent {counts.sent}): signed QR, address, today's hours, deadline")
    pass_url = sdk.pickups.pass_url(ready)
    print(f"  pass: {pass_url}")
    clock.advance(minutes=7)
    here = sdk.pickups.arrived(order.id, note="at the window seat")
    print(f"  he taps \"I'm here\" on the pass ({here.arrival_note}); the store's pickup board shows him")
    done = sdk.pickups.handover(pass_url, store_id=cg.id, staff_id="barista-2")
    print(f"  a barista scans the pass and hands the order over: {done.state.value}")
    try:
        sdk.pickups.handover(pass_url, store_id=cg.id, staff_id="barista-1")
    except PickupRefused as exc:
        print(f"  a second barista scans the same pass: refused: {exc.code}")

    _h("7. The funnel")
    sdk.analytics.attribute()
    print(sdk.analytics.funnel_table())

    _h("8. The journal")
    by_type = sdk.journal.counts()
    print("  " + ", ".join(f"{k} {v}" for k, v in by_type.items()))
    for event in sdk.journal.read(limit=100):
        extra = ", ".join(f"{k}={v}" for k, v in event.data.items() if k in _SHOWN)
        local = event.at.astimezone(london)
        print(f"  #{event.seq:<3} {local:%a %H:%M} {event.type:<15} store={event.store_id or '-':<18} {extra}")
    print(f"\nDone. Run it again any time. Explore: O2O_DATABASE_URL=sqlite:///{out / 'demo.db'} o2o offers list")
    return 0


def _distance(metres: float) -> str:
    return f"{metres:,.0f} m" if metres < 10_000 else f"{metres / 1000:,.0f} km"


def _friend_session(sdk: O2O) -> str:
    assert isinstance(sdk.clock, FrozenClock)
    sdk.clock.advance(minutes=1)
    return sdk.checkins.session_token("friend@example.com")


_SHOWN = {"ok", "reasons", "discount_minor", "basket_minor", "method", "trust"}

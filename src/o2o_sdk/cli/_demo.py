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
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ..config import Config
from ..errors import RedemptionRefused
from ..models import Basket, BasketItem, Caps, Discount, Store
from ..money import Money
from ..sdk import O2O

CHAIN = "Kettle & Crumb"
BASE_URL = "https://kettle-and-crumb.example"

STORES = [
    Store("ldn-covent-garden", f"{CHAIN} Covent Garden", "Europe/London", 51.51205, -0.12428,
          "17 Floral Street, London WC2E 9DP", ("pickup", "seating")),
    Store("ldn-shoreditch", f"{CHAIN} Shoreditch", "Europe/London", 51.52463, -0.07868,
          "64 Curtain Road, London EC2A 3AA", ("pickup",)),
    Store("ber-mitte", f"{CHAIN} Berlin Mitte", "Europe/Berlin", 52.52661, 13.40127,
          "Rosenthaler Straße 40, 10178 Berlin", ("pickup", "seating")),
    Store("nyc-soho", f"{CHAIN} SoHo", "America/New_York", 40.72434, -74.00180,
          "131 Spring Street, New York, NY 10012", ("pickup",)),
    Store("tyo-shibuya", f"{CHAIN} Shibuya", "Asia/Tokyo", 35.65952, 139.70060,
          "1-23-10 Jinnan, Shibuya, Tokyo 150-0041", ("seating",)),
]  # fmt: skip

CUSTOMER = "ada@example.com"
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
    config = Config.from_env(database_url=f"sqlite:///{out / 'demo.db'}", base_url=BASE_URL, auto_migrate=True)
    with O2O(config) as sdk:
        return _story(sdk, out, show_qr=not args.no_qr)


def _story(sdk: O2O, out: Path, *, show_qr: bool) -> int:
    now = sdk.clock.now()
    print(f"o2o demo — {CHAIN}, a coffee chain in {len({s.timezone for s in STORES})} time zones")
    print(f"database: {out / 'demo.db'} (embedded SQLite, recreated on every run)")

    _h("1. The stores")
    sdk.stores.add(STORES)
    for s in sdk.stores.list():
        local = now.astimezone(ZoneInfo(s.timezone))
        print(f"  {s.id:<18} {s.name:<30} {s.timezone:<17} local time {local:%a %H:%M}")

    _h("2. Online: the shop creates an offer and issues a voucher")
    ends = (now.astimezone(ZoneInfo("Europe/London")) + timedelta(days=14)).replace(
        hour=23, minute=59, second=0, microsecond=0, tzinfo=None
    )
    offer = sdk.offers.create(
        "15% off your next visit",
        Discount.percent_off(15),
        ends_at=ends,
        stores=["ldn-covent-garden", "ldn-shoreditch"],
        caps=Caps(total=500, per_customer=1, budget=Money.of("1000", "GBP")),
        min_basket=Money.of("5.00", "GBP"),
    )
    print(f"  offer {offer.id}: '{offer.title}'")
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

    _h("3. The customer looks for a store")
    store = _nearest(sdk, *CUSTOMER_AT)
    print(f"  {CUSTOMER} is at Leicester Square ({CUSTOMER_AT[0]}, {CUSTOMER_AT[1]})")
    print(f"  nearest store that accepts the voucher: {store.name}, {store.address}")

    _h("4. Offline: at the till")
    basket = Basket(
        Money.of("8.40", "GBP"),
        (BasketItem("flat-white", 2, Money.of("3.20", "GBP")), BasketItem("cardamom-bun", 1, Money.of("2.00", "GBP"))),
    )
    tokyo = sdk.offers.validate(voucher.token, "tyo-shibuya", basket=basket)
    print(f"  a photo of the voucher shown in Tokyo: refused: {tokyo.refusals[0].code} — {tokyo.refusals[0].message}")
    check = sdk.offers.validate(voucher.token, store.id, basket=basket)
    assert check.discount is not None and check.discount.amount is not None
    print(f"  POS validates (dry run) at {store.name}: {check.discount.description} {basket.total} = {check.discount.amount}")
    red = sdk.offers.redeem(voucher.token, store.id, basket=basket, idempotency_key="pos-cg-till1-000417")
    print(f"  POS redeems with Idempotency-Key pos-cg-till1-000417: redemption {red.id}")
    again = sdk.offers.redeem(voucher.token, store.id, basket=basket, idempotency_key="pos-cg-till1-000417")
    print(f"  the POS retries after a network timeout (same key): same redemption {again.id} — counted once")
    try:
        sdk.offers.redeem(voucher.token, "ldn-shoreditch", basket=basket, idempotency_key="pos-sd-till2-000091")
    except RedemptionRefused as exc:
        print(f"  a second till tries the same voucher: refused: {exc.code} — {exc.message}")
    usage = sdk.offers.usage(offer.id)
    print(f"  offer usage: {usage.redeemed}/500 redemptions, {Money(usage.spent_minor, 'GBP')} of the budget spent")

    _h("5. The journal")
    counts = sdk.journal.counts()
    print("  " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for event in sdk.journal.read(limit=50):
        extra = ", ".join(f"{k}={v}" for k, v in event.data.items())
        print(f"  #{event.seq:<3} {event.type:<10} store={event.store_id or '-':<18} {extra}")
    print(f"\nDone. Run it again any time; try 'o2o offers --help' with O2O_DATABASE_URL=sqlite:///{out / 'demo.db'}.")
    return 0


def _nearest(sdk: O2O, lat: float, lon: float) -> Store:
    from geographiclib.geodesic import Geodesic

    def metres(s: Store) -> float:
        return float(Geodesic.WGS84.Inverse(lat, lon, s.latitude, s.longitude)["s12"])

    return min(sdk.stores.list(), key=metres)

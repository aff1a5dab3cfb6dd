"""``o2o serve``: run the web app (``o2o_sdk.web``) with uvicorn.

Without a configured database (no ``--database``, no ``O2O_DATABASE_URL``) it serves the
demo: a fresh embedded database in ``./o2o-web-demo`` with the demo coffee chain, an offer, a
voucher, a POS key for one store and an admin key, all printed at start and written to
``demo.json`` there (``examples/pos-simulator`` reads it). With a database it serves that.
Tokens and keys are masked in the access log.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..errors import ConfigurationError
from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from ..models import Store
    from ..sdk import O2O

DEMO_DIR = "o2o-web-demo"
#: Stock of the demo stores, so that the widget's SKU filter has something to show.
DEMO_STOCK = {"ldn-covent-garden": {"beans-1kg": 4}, "ldn-soho": {"beans-1kg": 0}, "ldn-shoreditch": {"beans-1kg": 12},
              "ber-mitte": {"beans-1kg": 2}}  # fmt: skip


class DemoInventory:
    """The demo's inventory plugin (a fixed table)."""

    @hookimpl
    def o2o_check_inventory(self, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]]:
        return {s.id: {k: DEMO_STOCK.get(s.id, {}).get(k, 0) for k in skus} for s in stores}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="run the web app: voucher pages, store locator, POS API, staff pages")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--demo", action="store_true", help="serve fresh demo data even if a database is configured")
    p.add_argument("--dir", default=DEMO_DIR, help=f"folder of the demo database (default ./{DEMO_DIR})")
    p.add_argument("--shop-name", default=None, help="shown on the pages")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func_nosdk=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..web import create_app
    except ImportError:
        raise ConfigurationError("o2o serve needs the web extra: pip install 'o2o-sdk[web]'.") from None
    from ..sdk import O2O

    demo = args.demo or not (args.database or os.environ.get("O2O_DATABASE_URL"))
    origin = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    if demo:
        if args.port == 0:
            raise ConfigurationError("The demo prints links: give a --port.")
        sdk = _demo_sdk(Path(args.dir), origin)
    else:
        overrides: dict[str, Any] = {"database_url": args.database} if args.database else {}
        sdk = O2O(Config.from_env(**overrides))
    with sdk:
        if demo:
            _seed(sdk, Path(args.dir), origin)
        app = create_app(sdk, shop_name=args.shop_name or ("Kettle & Crumb" if demo else "Shop"))
        config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level, proxy_headers=False,
                                server_header=False)  # fmt: skip
        install_log_masking()
        # This process is ours: move what start-up built (modules, the app, the demo data) out of
        # the collector's reach, so full collections under load walk only what requests create
        # (the POS redeem bench's p99, two rounds: PostgreSQL 78/104 -> 68/81 ms, SQLite 37/54 -> 38/40 ms).
        gc.collect()
        gc.freeze()
        try:
            uvicorn.Server(config).run()
        finally:
            gc.unfreeze()
    return 0


def install_log_masking() -> None:
    """Mask tokens and keys in uvicorn's logs (idempotent)."""
    from ..web.logs import MaskSecretsFilter

    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskSecretsFilter) for f in logger.filters):
            logger.addFilter(MaskSecretsFilter())


def _demo_sdk(folder: Path, origin: str) -> O2O:
    from ..sdk import O2O

    if folder.exists():
        if not (folder / "demo.db").exists() and any(folder.iterdir()):
            raise ConfigurationError(f"{folder} exists and is not a demo folder; pass --dir.")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    config = Config.from_env(database_url=f"sqlite:///{folder / 'demo.db'}", base_url=origin, auto_migrate=True)
    return O2O(config, plugins=[DemoInventory()])


def _seed(sdk: O2O, folder: Path, origin: str) -> dict[str, str]:
    from ..models import Caps, Discount
    from ..money import Money
    from ..web.keys import ALL_STORES, ApiKeys
    from ._demo import STORES

    sdk.stores.add(STORES)
    offer = sdk.offers.create("15% off when you visit", Discount.percent_off(15),
                              stores=["ldn-covent-garden", "ldn-soho", "ldn-shoreditch"],
                              caps=Caps(per_customer=1), min_basket=Money.of("5.00", "GBP"))  # fmt: skip
    voucher = sdk.offers.issue(offer, "ada@example.com", ttl=timedelta(days=14))
    keys = ApiKeys(sdk)
    _, store_key = keys.create("ldn-soho", "demo till")
    _, admin_key = keys.create(ALL_STORES, "demo admin")
    info = {
        "base_url": origin,
        "voucher_url": sdk.offers.url(voucher),
        "token": voucher.token,
        "store_id": "ldn-soho",
        "store_key": store_key,
        "admin_key": admin_key,
        "offer_id": offer.id,
    }
    (folder / "demo.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    print(f"o2o serve — demo data in {folder} (fresh on every start)", file=sys.stderr)
    print(f"  voucher page:   {info['voucher_url']}", file=sys.stderr)
    print(f"  store locator:  {origin}/stores?sku=beans-1kg", file=sys.stderr)
    print(f"  staff page:     {origin}/staff  (sign in with the ldn-soho key)", file=sys.stderr)
    print(f"  POS API:        {origin}/api/openapi.json", file=sys.stderr)
    print(f"  ldn-soho key:   {store_key}", file=sys.stderr)
    print(f"  keys and voucher are in {folder / 'demo.json'}", file=sys.stderr)
    return info

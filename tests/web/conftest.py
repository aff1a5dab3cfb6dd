"""Fixtures for the web app: a shop on a frozen Monday morning, API keys, a live server, a browser.

The clock stands at Monday 2026-06-15 08:00 in London: the cafés (07:00-19:00) are open, the
late stores (Soho, Shoreditch, from 10:00) are not — so "the nearest store" and "the nearest
open store" differ for a customer in Soho.

Browser tests drive Debian's chromium (``/usr/bin/chromium``, installed by ``.ci/run``). They
skip with that reason where it is missing — except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from conftest import TEST_KEYS
from starlette.applications import Starlette
from starlette.testclient import TestClient

from o2o_sdk import O2O, Caps, Config, Discount, FrozenClock, Offer
from o2o_sdk.cli._demo import STORES
from o2o_sdk.web import ApiKeys, create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
MONDAY_8AM_LONDON = datetime(2026, 6, 15, 7, 0, tzinfo=UTC)
#: Gerrard Street, Soho: the Soho store (closed now) is nearest, Covent Garden (open) second.
IN_SOHO = (51.51170, -0.13050)

# Starlette's TestClient still works on httpx; its deprecation note is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def web_clock() -> FrozenClock:
    return FrozenClock(MONDAY_8AM_LONDON)


def make_shop(database_url: str, clock: FrozenClock, **config: Any) -> O2O:
    sdk = O2O(Config(database_url=database_url, secret_keys=TEST_KEYS, base_url=config.pop("base_url", "https://shop.example"),
                     auto_migrate=True), clock=clock, **config)  # fmt: skip
    sdk.stores.add(STORES)
    return sdk


@pytest.fixture
def shop(database_url: str, web_clock: FrozenClock) -> Iterator[O2O]:
    """The demo chain on each backend."""
    sdk = make_shop(database_url, web_clock)
    yield sdk
    sdk.close()


@pytest.fixture
def sqlite_shop(sqlite_url: str, web_clock: FrozenClock) -> Iterator[O2O]:
    """The demo chain on SQLite only (pages, browser tests)."""
    sdk = make_shop(sqlite_url, web_clock)
    yield sdk
    sdk.close()


def london_offer(sdk: O2O, **kwargs: Any) -> Offer:
    return sdk.offers.create("15% off when you visit", Discount.percent_off(15),
                             stores=["ldn-covent-garden", "ldn-soho", "ldn-shoreditch"], **kwargs)  # fmt: skip


@pytest.fixture
def offer(shop: O2O) -> Offer:
    return london_offer(shop, caps=Caps(per_customer=1))


def client_for(app: Starlette) -> TestClient:
    return TestClient(app, base_url="http://testserver")


@pytest.fixture
def keys(shop: O2O) -> Callable[[str], str]:
    """``keys(store_id)`` creates an API key and returns it."""
    api = ApiKeys(shop)
    return lambda store_id: api.create(store_id)[1]


class LiveServer:
    """uvicorn serving an ASGI app on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: Any, **config: Any) -> None:
        config.setdefault("log_level", "warning")
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", **config))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live(sqlite_shop: O2O) -> Iterator[LiveServer]:
    """The shop's web app served on loopback."""
    with LiveServer(create_app(sqlite_shop, shop_name="Kettle & Crumb")) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but {CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()

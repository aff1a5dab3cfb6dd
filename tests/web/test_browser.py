"""In a real browser (Debian's chromium through Playwright): the widget on a shop's own page,
the voucher page's QR as a phone camera sees it, the staff page redeeming once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from o2o_sdk import O2O
from o2o_sdk.web import ApiKeys

from .conftest import IN_SOHO, LiveServer, london_offer

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(geolocation={"latitude": IN_SOHO[0], "longitude": IN_SOHO[1], "accuracy": 20},
                              permissions=["geolocation"], locale="en-GB")  # fmt: skip
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def shop_site(widget_src: str) -> Starlette:
    """Somebody's existing shop theme on another origin, with the pasted snippet."""

    async def home(request: Request) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html><head><title>Theme</title></head><body><h1>Our stores</h1>"
            '<div id="finder" data-o2o-stores data-k="3"></div>'
            f'<script src="{widget_src}" async></script></body></html>'
        )

    return Starlette(routes=[Route("/", home)])


def test_the_widget_on_a_shop_page_lists_the_nearest_open_store_first(live: LiveServer, context: Any) -> None:
    with LiveServer(shop_site(f"{live.url}/widget.js")) as site:
        assert site.url != live.url  # a different origin: the widget's API call is cross-origin
        page = context.new_page()
        page.goto(site.url)
        page.wait_for_selector("#finder[data-o2o-ready]")
        items = page.locator("#finder li.o2o-w-store")
        ids = [items.nth(i).get_attribute("data-store-id") for i in range(items.count())]
        # Soho is 60 m away but opens at 10:00; Covent Garden (open since 07:00) comes first.
        assert ids[0] == "ldn-covent-garden" and "ldn-soho" not in ids
        assert "Open · closes 19:00" in items.first.inner_text()
        # Typing a postcode works too (the fallback when a customer does not share the position).
        page.fill("#finder input[type=search]", "EC2A 3AA")
        page.click("#finder button[type=submit]")
        page.wait_for_function("document.querySelector('#finder [role=status]').textContent.includes('EC2A')")
        assert page.locator("#finder li.o2o-w-store").first.get_attribute("data-store-id") == "ldn-covent-garden"


def test_the_voucher_pages_qr_decodes_to_the_voucher_url(live: LiveServer, sqlite_shop: O2O, context: Any,
                                                         tmp_path: Path) -> None:  # fmt: skip
    import zxingcpp

    voucher = sqlite_shop.offers.issue(london_offer(sqlite_shop), "ada")
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{live.url}/o/{voucher.token}")
    shot = tmp_path / "qr.png"
    page.locator("#voucher-qr svg").screenshot(path=str(shot))
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(shot))]
    assert decoded == [sqlite_shop.offers.url(voucher)]
    # The page found the nearest stores that accept the voucher through the browser's position.
    page.wait_for_selector("[data-o2o-stores][data-o2o-ready]")
    assert page.locator("li.o2o-w-store").first.get_attribute("data-store-id") == "ldn-soho"


def test_the_staff_page_redeems_once_and_shows_the_refusal_the_second_time(live: LiveServer, sqlite_shop: O2O,
                                                                           context: Any) -> None:  # fmt: skip
    _, key = ApiKeys(sqlite_shop).create("ldn-soho", "till 1")
    link = sqlite_shop.offers.url(sqlite_shop.offers.issue(london_offer(sqlite_shop)))
    page = context.new_page()
    page.goto(f"{live.url}/staff")
    page.fill("#api-key", key)
    page.click("button[type=submit]")
    page.wait_for_selector("#redeem-form")
    page.fill("#code", link)
    page.fill("#basket", "8.40 GBP")
    page.click("#redeem")
    page.wait_for_selector(".o2o-result")
    assert page.inner_text(".o2o-headline") == "Redeemed: 15% off (1.26 GBP)"
    page.fill("#code", link)
    page.click("#redeem")
    page.wait_for_selector(".o2o-result.o2o-bad")
    assert page.inner_text(".o2o-headline") == "Refused"
    assert "already_redeemed" in page.inner_text(".o2o-refusals")
    assert len(sqlite_shop.storage.list_redemptions()) == 1

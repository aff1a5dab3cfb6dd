"""An existing FastAPI shop that mounts the o2o web app under /o2o and issues a voucher at checkout.

    O2O_BASE_URL=http://127.0.0.1:8000/o2o uvicorn shop:create_shop --factory --app-dir examples/fastapi-shop

The voucher link printed on the thank-you page is ``<O2O_BASE_URL>/o/<token>``: O2O_BASE_URL
must be where the app is mounted (here ``/o2o`` on this site).
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse

from o2o_sdk import O2O, Config, Discount
from o2o_sdk.cli._demo import STORES
from o2o_sdk.web import create_app

OFFER_ID = "thanks-10"


def ensure_offer(sdk: O2O) -> None:
    """The shop's stores and its thank-you offer (created on first start)."""
    if not sdk.stores.list():
        sdk.stores.add(STORES)
    if sdk.storage.get_offer(OFFER_ID) is None:
        sdk.offers.create("10% off your next visit", Discount.percent_off(10), id=OFFER_ID)


def create_shop(sdk: O2O | None = None) -> FastAPI:
    sdk = sdk or O2O(Config.from_env())
    ensure_offer(sdk)
    app = FastAPI(title="Kettle & Crumb online shop")

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return ("<h1>Kettle &amp; Crumb</h1><form method='post' action='/checkout'>"
                "<label>Email <input name='email' type='email' required></label>"
                "<button>Buy a bag of beans</button></form>")  # fmt: skip

    @app.post("/checkout", response_class=HTMLResponse)
    def checkout(email: str = Form(...)) -> str:
        voucher = sdk.offers.issue(OFFER_ID, email)
        url = sdk.offers.url(voucher)
        return (f"<h1>Thank you!</h1><p>Your order is on its way. Visit one of our cafés for 10% off:</p>"
                f"<p><a id='voucher' href='{escape(url)}'>Your voucher</a></p>")  # fmt: skip

    app.mount("/o2o", create_app(sdk, shop_name="Kettle & Crumb"))
    return app

"""An existing Flask (WSGI) shop that mounts the o2o web app under /o2o through an ASGI→WSGI bridge.

    O2O_BASE_URL=http://127.0.0.1:5000/o2o flask --app 'examples/flask-shop/shop.py:create_shop()' run

The o2o app is ASGI; ``a2wsgi.ASGIMiddleware`` runs it inside the WSGI server and Werkzeug's
``DispatcherMiddleware`` sends ``/o2o/...`` to it (``SCRIPT_NAME`` becomes its mount prefix).
"""

from __future__ import annotations

from html import escape

from a2wsgi import ASGIMiddleware
from flask import Flask, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from o2o_sdk import O2O, Config, Discount
from o2o_sdk.cli._demo import STORES
from o2o_sdk.web import create_app

OFFER_ID = "thanks-10"


def create_shop(sdk: O2O | None = None) -> Flask:
    sdk = sdk or O2O(Config.from_env())
    if not sdk.stores.list():
        sdk.stores.add(STORES)
    if sdk.storage.get_offer(OFFER_ID) is None:
        sdk.offers.create("10% off your next visit", Discount.percent_off(10), id=OFFER_ID)
    app = Flask(__name__)

    @app.get("/")
    def home() -> str:
        return ("<h1>Kettle &amp; Crumb</h1><form method='post' action='/checkout'>"
                "<label>Email <input name='email' type='email' required></label><button>Buy</button></form>")  # fmt: skip

    @app.post("/checkout")
    def checkout() -> str:
        voucher = sdk.offers.issue(OFFER_ID, request.form["email"])
        return f"<h1>Thank you!</h1><p><a id='voucher' href='{escape(sdk.offers.url(voucher))}'>Your voucher</a></p>"

    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/o2o": ASGIMiddleware(create_app(sdk, shop_name="Kettle & Crumb"))})  # type: ignore[method-assign]
    return app

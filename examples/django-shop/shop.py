"""An existing Django shop (one file) served over ASGI, with the o2o web app mounted at /o2o.

    O2O_BASE_URL=http://127.0.0.1:8000/o2o uvicorn shop:create_asgi --factory --app-dir examples/django-shop

Django has no "mount an ASGI app" of its own, so the project's ASGI entry point routes by
prefix: ``/o2o`` to the o2o app, everything else to Django's ASGI handler. In a full project
this is the body of ``asgi.py``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="example-only-not-secret",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
        INSTALLED_APPS=[],
        DATABASES={},
    )

import django

django.setup()

from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

from o2o_sdk import O2O, Config, Discount  # noqa: E402
from o2o_sdk.cli._demo import STORES  # noqa: E402

OFFER_ID = "thanks-10"
_shop: dict[str, O2O] = {}  # the example's one SDK, set by create_asgi()


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    token = get_token(request)
    return HttpResponse(
        "<h1>Kettle &amp; Crumb</h1><form method='post' action='/checkout'>"
        f"<input type='hidden' name='csrfmiddlewaretoken' value='{escape(token)}'>"
        "<label>Email <input name='email' type='email' required></label><button>Buy</button></form>"
    )


@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    sdk = _shop["sdk"]
    voucher = sdk.offers.issue(OFFER_ID, request.POST["email"])
    return HttpResponse(f"<h1>Thank you!</h1><p><a id='voucher' href='{escape(sdk.offers.url(voucher))}'>Your voucher</a></p>")


urlpatterns = [path("", home), path("checkout", checkout)]


def create_asgi(sdk: O2O | None = None) -> Any:
    """The site's ASGI application: /o2o → o2o web app, the rest → Django."""
    from django.core.asgi import get_asgi_application
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from o2o_sdk.web import create_app

    sdk = sdk or O2O(Config.from_env())
    if not sdk.stores.list():
        sdk.stores.add(STORES)
    if sdk.storage.get_offer(OFFER_ID) is None:
        sdk.offers.create("10% off your next visit", Discount.percent_off(10), id=OFFER_ID)
    _shop["sdk"] = sdk
    return Starlette(routes=[Mount("/o2o", create_app(sdk, shop_name="Kettle & Crumb")), Mount("/", get_asgi_application())])

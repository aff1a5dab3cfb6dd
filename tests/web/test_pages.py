"""Customer and staff pages: content, mounting under a prefix, CSRF, security headers, check-in, display."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from o2o_sdk import O2O, FrozenClock
from o2o_sdk.web import ApiKeys, create_app

from .conftest import client_for, london_offer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the form"
    return m.group(1)


def headline(html: str) -> str:
    m = re.search(r'class="o2o-headline">([^<]*)<', html)
    return m.group(1) if m else ""


def staff_client(app: Starlette, key: str, prefix: str = "") -> TestClient:
    client = client_for(app)
    page = client.get(f"{prefix}/staff/login")
    r = client.post(f"{prefix}/staff/login", data={"csrf": csrf_of(page.text), "api_key": key}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def test_the_voucher_page_shows_the_offer_terms_expiry_in_store_time_and_the_qr(sqlite_shop: O2O) -> None:
    offer = london_offer(sqlite_shop)
    voucher = sqlite_shop.offers.issue(offer, "ada", ttl=timedelta(days=2))
    r = client_for(create_app(sqlite_shop, shop_name="Kettle & Crumb")).get(f"/o/{voucher.token}")
    assert r.status_code == 200
    html = r.text
    assert "15% off when you visit" in html and "Kettle &amp; Crumb" in html
    # Expires 2026-06-17 07:00 UTC = 08:00 in London (BST).
    assert "Wed 17 Jun 2026, 08:00</time> (London time)" in html
    assert 'id="voucher-qr"' in html and "<svg" in html and "Ready to use" in html
    assert "Kettle &amp; Crumb Soho" in html  # where to use it
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in html  # no inline script
    [viewed] = sqlite_shop.journal.read(types=["voucher_viewed"])  # counted in the funnel
    assert (viewed.voucher_id, viewed.customer_id) == (voucher.id, "ada")


def test_a_used_or_unknown_voucher_says_so_without_a_qr(sqlite_shop: O2O) -> None:
    offer = london_offer(sqlite_shop)
    voucher = sqlite_shop.offers.issue(offer)
    sqlite_shop.offers.redeem(voucher.token, "ldn-soho")
    client = client_for(create_app(sqlite_shop))
    used = client.get(f"/o/{voucher.token}")
    assert used.status_code == 200 and "has been used" in used.text and 'id="voucher-qr"' not in used.text
    forged = client.get(f"/o/{voucher.token[:-3]}abc")
    assert forged.status_code == 404 and "not a voucher" in forged.text


def test_the_app_mounts_under_a_prefix_and_links_relative_to_it(sqlite_shop: O2O) -> None:
    host = Starlette(routes=[Mount("/o2o", create_app(sqlite_shop))])
    client = client_for(host)
    voucher = sqlite_shop.offers.issue(london_offer(sqlite_shop))
    page = client.get(f"/o2o/o/{voucher.token}")
    assert page.status_code == 200 and 'href="/o2o/static/o2o.css"' in page.text and 'src="/o2o/widget.js"' in page.text
    assert client.get("/o2o/static/o2o.css").status_code == 200
    assert client.get("/o2o/staff", follow_redirects=False).headers["location"] == "/o2o/staff/login"
    assert client.get("/o2o/api/openapi.json").json()["servers"] == [{"url": "/o2o"}]
    _, key = ApiKeys(sqlite_shop).create("ldn-soho")
    staff = staff_client(host, key, "/o2o")
    cookie = next(c for c in staff.cookies.jar if c.name == "o2o_staff")
    assert cookie.path == "/o2o/staff"


def test_staff_forms_refuse_a_missing_or_forged_csrf_token(sqlite_shop: O2O) -> None:
    app = create_app(sqlite_shop)
    _, key = ApiKeys(sqlite_shop).create("ldn-soho")
    client = client_for(app)
    client.get("/staff/login")
    assert client.post("/staff/login", data={"api_key": key}, follow_redirects=False).status_code == 403
    staff = staff_client(app, key)
    token = sqlite_shop.offers.issue(london_offer(sqlite_shop)).token
    forged = staff.post("/staff/redeem", data={"csrf": "0" * 64, "code": token, "action": "redeem"})
    assert forged.status_code == 403
    assert sqlite_shop.storage.list_redemptions() == []
    # A CSRF value minted for another browser's cookie does not work either.
    other = client_for(app)
    other_csrf = csrf_of(other.get("/staff/login").text)
    assert staff.post("/staff/redeem", data={"csrf": other_csrf, "code": token, "action": "redeem"}).status_code == 403


def test_the_staff_page_redeems_once_then_shows_the_refusal(sqlite_shop: O2O) -> None:
    app = create_app(sqlite_shop)
    _, key = ApiKeys(sqlite_shop).create("ldn-soho")
    staff = staff_client(app, key)
    page = staff.get("/staff")
    assert "Store: Kettle &amp; Crumb Soho" in page.text
    cookie = page.headers.get("set-cookie", "")
    assert "o2o_staff" not in cookie  # the session cookie was set once, at sign-in
    link = sqlite_shop.offers.url(sqlite_shop.offers.issue(london_offer(sqlite_shop)))
    check = staff.post("/staff/redeem", data={"csrf": csrf_of(page.text), "code": link, "action": "validate", "basket": "8.40 GBP"})
    assert headline(check.text) == "Valid: 15% off (1.26 GBP)"
    first = staff.post("/staff/redeem", data={"csrf": csrf_of(page.text), "code": link, "action": "redeem",
                                              "basket": "8.40 GBP", "idempotency_key": "form-1"})  # fmt: skip
    assert headline(first.text) == "Redeemed: 15% off (1.26 GBP)"
    # The same form sent twice (a double tap) replays the first result.
    again = staff.post("/staff/redeem", data={"csrf": csrf_of(page.text), "code": link, "action": "redeem",
                                              "basket": "8.40 GBP", "idempotency_key": "form-1"})  # fmt: skip
    assert headline(again.text).startswith("Redeemed")
    second = staff.post("/staff/redeem", data={"csrf": csrf_of(first.text), "code": link, "action": "redeem",
                                               "idempotency_key": "form-2"})  # fmt: skip
    assert headline(second.text) == "Refused" and "already_redeemed" in second.text
    assert len(sqlite_shop.storage.list_redemptions()) == 1


def test_staff_sessions_end_when_the_key_is_revoked(sqlite_shop: O2O) -> None:
    app = create_app(sqlite_shop)
    keys = ApiKeys(sqlite_shop)
    record, key = keys.create("ldn-soho")
    staff = staff_client(app, key)
    assert staff.get("/staff").status_code == 200
    app.state.o2o.keys.revoke(record.id)
    assert staff.get("/staff", follow_redirects=False).status_code == 303


def test_a_customer_checks_in_by_scanning_the_rotating_code(sqlite_shop: O2O, web_clock: FrozenClock) -> None:
    client = client_for(create_app(sqlite_shop, login_url="https://shop.example/login"))
    code = sqlite_shop.checkins.current_code("ldn-soho")
    anonymous = client.get(f"/c/{code.code}")
    assert anonymous.status_code == 200 and "Check in at Kettle &amp; Crumb Soho" in anonymous.text
    assert "https://shop.example/login?next=/c/" in anonymous.text
    client.cookies.set("o2o_session", sqlite_shop.checkins.session_token("ada"))
    page = client.get(f"/c/{code.code}")
    assert "Check in here" in page.text
    assert client.post(f"/c/{code.code}", data={}).status_code == 403
    done = client.post(f"/c/{code.code}", data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "You are checked in at Kettle &amp; Crumb Soho" in done.text
    assert [c.store_id for c in sqlite_shop.checkins.list(customer_id="ada")] == ["ldn-soho"]
    web_clock.advance(minutes=10)
    late = client.post(f"/c/{code.code}", data={"csrf": csrf_of(page.text)})
    assert late.status_code == 409 and "Check-in refused" in late.text
    assert client.get("/c/not-a-code").status_code == 404


def test_a_shop_can_say_who_is_signed_in(sqlite_shop: O2O) -> None:
    app = create_app(sqlite_shop, customer_resolver=lambda request: request.headers.get("x-shop-user"))
    client = client_for(app)
    code = sqlite_shop.checkins.current_code("ldn-covent-garden").code
    page = client.get(f"/c/{code}", headers={"x-shop-user": "grace"})
    done = client.post(f"/c/{code}", data={"csrf": csrf_of(page.text)}, headers={"x-shop-user": "grace"})
    assert done.status_code == 200
    assert [c.customer_id for c in sqlite_shop.checkins.list(store_id="ldn-covent-garden")] == ["grace"]


def test_the_store_display_shows_the_current_code_and_refreshes_when_it_changes(sqlite_shop: O2O, web_clock: FrozenClock) -> None:
    app = create_app(sqlite_shop)
    _, key = ApiKeys(sqlite_shop).create("ldn-soho")
    assert client_for(app).get("/staff/display", follow_redirects=False).status_code == 303  # staff only
    web_clock.advance(seconds=12)  # 18 s left in the 30 s step
    page = staff_client(app, key).get("/staff/display?store=ldn-covent-garden")
    assert page.status_code == 200 and "Check in at Kettle &amp; Crumb Soho" in page.text  # its own store only
    assert '<meta http-equiv="refresh" content="18">' in page.text
    assert 'id="checkin-qr"' in page.text and "<svg" in page.text


def test_one_click_unsubscribe_withdraws_consent_without_cookies_or_csrf(sqlite_shop: O2O) -> None:
    sqlite_shop.followups.contacts.upsert("ada", email="ada@example.com", consents=["email"])
    url = sqlite_shop.followups.unsubscribe_url("ada", "email")
    path = url.removeprefix(sqlite_shop.config.base_url)
    client = client_for(create_app(sqlite_shop))
    confirm = client.get(path)
    assert confirm.status_code == 200 and "Unsubscribe" in confirm.text
    assert sqlite_shop.followups.contacts.get("ada").consented("email")  # a GET changes nothing
    # RFC 8058: the mail provider POSTs "List-Unsubscribe=One-Click", with no cookie and no CSRF token.
    done = client_for(create_app(sqlite_shop)).post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "Unsubscribed" in done.text
    assert not sqlite_shop.followups.contacts.get("ada").consented("email")
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # twice is harmless
    assert client.post(path[:-4] + "AAAA", data={"List-Unsubscribe": "One-Click"}).status_code == 404

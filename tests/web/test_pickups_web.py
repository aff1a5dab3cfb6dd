"""Pickups on the web surface: the customer's pass page ("I'm here"), the POS API at the counter,
the store's board — and, in a real browser, the pass QR decoded and the "I'm here" button."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from o2o_sdk import O2O, OrderLine, Pickup
from o2o_sdk.web import create_app

from .conftest import LiveServer, client_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def a_pickup(shop: O2O, store: str = "ldn-soho") -> Pickup:
    p = shop.pickups.create(store, [OrderLine("FLAT-WHITE", 2, "Flat white"), OrderLine("CROISSANT", 1, "Croissant")],
                            customer_id="ada", customer_email="ada@example.com")  # fmt: skip
    return shop.pickups.ready(p.id)


def test_the_pass_page_shows_store_hours_deadline_and_takes_i_am_here(shop: O2O) -> None:
    p = a_pickup(shop)
    client = client_for(create_app(shop))
    url = "/pickup/" + shop.pickups.pass_token(p)
    page = client.get(url)
    assert page.status_code == 200 and page.headers["cache-control"].startswith("no-store")
    html = page.text
    assert "Ready for pickup" in html and shop.stores.get("ldn-soho").address in html
    assert "Open today" in html and "Collect by" in html and "2 &times; Flat white" in html and 'id="pickup-qr"' in html
    csrf = html.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    done = client.post(url, data={"csrf": csrf, "note": "bay 4, green van"})
    assert done.status_code == 200 and "the store has been told you are here" in done.text
    got = shop.pickups.get(p.id)
    assert (got.state.value, got.arrival_method, got.arrival_note) == ("arrived", "link", "bay 4, green van")
    assert 'id="im-here"' not in done.text and "bay 4, green van" in done.text


def test_a_forged_pass_or_a_missing_csrf_token_is_refused(shop: O2O) -> None:
    p = a_pickup(shop)
    client = client_for(create_app(shop))
    token = shop.pickups.pass_token(p)
    assert client.get("/pickup/" + token[:-3] + "xyz").status_code == 404
    assert client.get("/pickup/" + "a" * 2000).status_code == 404
    assert client.post("/pickup/" + token, data={"note": "x"}).status_code == 403
    assert shop.pickups.get(p.id).state.value == "ready"


def test_the_counter_hands_over_by_scanning_the_pass_once(shop: O2O, keys: Callable[[str], str]) -> None:
    p = a_pickup(shop)
    client = client_for(create_app(shop))
    soho = {"Authorization": f"Bearer {keys('ldn-soho')}"}
    other = {"Authorization": f"Bearer {keys('ldn-shoreditch')}"}
    listed = client.get("/api/pos/v1/pickups?state=ready", headers=soho).json()["pickups"]
    assert [x["id"] for x in listed] == [p.id]
    assert client.get("/api/pos/v1/pickups", headers=other).json()["pickups"] == []
    pass_link = shop.pickups.pass_url(p)
    wrong = client.post("/api/pos/v1/pickups/handover", headers=other, json={"pass": pass_link})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (409, "wrong_store")
    assert client.post(f"/api/pos/v1/pickups/{p.id}/cancel", headers=other, json={}).status_code == 404
    ok = client.post("/api/pos/v1/pickups/handover", headers=soho, json={"pass": pass_link})
    assert ok.status_code == 200 and ok.json()["state"] == "handed_over"
    again = client.post("/api/pos/v1/pickups/handover", headers=soho, json={"pass": pass_link})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_handed_over")
    forged = client.post("/api/pos/v1/pickups/handover", headers=soho, json={"pass": pass_link[:-4] + "AAAA"})
    assert forged.status_code == 422
    bad = client.post("/api/pos/v1/pickups/handover", headers=soho, json={"pass": pass_link, "bought": "yes"})
    assert bad.status_code == 422
    assert client.post("/api/pos/v1/pickups/handover", json={"pass": pass_link}).status_code == 401


def test_pos_steps_accept_ready_arrived_cancel(shop: O2O, keys: Callable[[str], str]) -> None:
    p = shop.pickups.create("ldn-soho", [OrderLine("TEA", 1)], customer_id="bo")
    client = client_for(create_app(shop))
    auth = {"Authorization": f"Bearer {keys('ldn-soho')}"}
    assert client.post(f"/api/pos/v1/pickups/{p.id}/accept", headers=auth).json()["state"] == "accepted"
    assert client.post(f"/api/pos/v1/pickups/{p.id}/ready", headers=auth).json()["state"] == "ready"
    assert client.post(f"/api/pos/v1/pickups/{p.id}/arrived", headers=auth, json={"note": "counter"}).json()["arrival_note"] == "counter"
    assert client.post(f"/api/pos/v1/pickups/{p.id}/ready", headers=auth).json()["error"]["code"] == "already_ready"
    assert client.post(f"/api/pos/v1/pickups/{p.id}/fly", headers=auth).status_code == 404
    assert client.post(f"/api/pos/v1/pickups/{p.id}/arrived", headers=auth, json={"spot": 1}).status_code == 422
    assert client.post(f"/api/pos/v1/pickups/{p.id}/cancel", headers=auth, json={"reason": "out of tea"}).json()["state"] == "cancelled"


def test_the_store_board_lists_who_is_here_first(shop: O2O, keys: Callable[[str], str]) -> None:
    here = a_pickup(shop)
    shop.pickups.arrived(here.id, note="bay 2")
    todo = shop.pickups.create("ldn-soho", [OrderLine("TEA", 1)], customer_id="bo")
    client = client_for(create_app(shop))
    login = client.get("/staff/login")
    csrf = login.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post("/staff/login", data={"csrf": csrf, "api_key": keys("ldn-soho")})
    board = client.get("/staff/pickups")
    assert board.status_code == 200 and 'http-equiv="refresh"' in board.text
    section_here = board.text.split('id="here"', 1)[1].split("</ul>", 1)[0]
    assert here.id in section_here and "bay 2" in section_here
    assert todo.id in board.text.split('id="todo"', 1)[1].split("</ul>", 1)[0]


@pytest.mark.browser
def test_in_a_browser_the_pass_qr_decodes_and_i_am_here_alerts_the_store(live: LiveServer, sqlite_shop: O2O, browser: Any,
                                                                         tmp_path: Path) -> None:  # fmt: skip
    import zxingcpp

    alerts: list[tuple[str, str | None]] = []

    class Board:
        from o2o_sdk import hookimpl

        @hookimpl
        def o2o_pickup_alert(self, pickup: Pickup, what: str) -> None:
            alerts.append((what, pickup.arrival_note))

    sqlite_shop.plugins.register(Board())
    p = a_pickup(sqlite_shop)
    ctx = browser.new_context(locale="en-GB")
    try:
        page = ctx.new_page()
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live.url}/pickup/{sqlite_shop.pickups.pass_token(p)}")
        shot = tmp_path / "pass.png"
        page.locator("#pickup-qr svg").screenshot(path=str(shot))
        assert [r.text for r in zxingcpp.read_barcodes(Image.open(shot))] == [sqlite_shop.pickups.pass_url(p)]
        page.fill("#note", "bay 9")
        page.click("#im-here")
        page.wait_for_selector("text=the store has been told you are here")
    finally:
        ctx.close()
    assert sqlite_shop.pickups.get(p.id).state.value == "arrived"
    assert alerts == [("placed", None), ("arrived", "bay 9")]


def test_the_pass_qr_png_for_emails_decodes_to_the_pass(shop: O2O) -> None:
    import io

    import zxingcpp

    p = a_pickup(shop)
    client = client_for(create_app(shop))
    png = client.get(f"/pickup/{shop.pickups.pass_token(p)}/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))] == [shop.pickups.pass_url(p)]
    assert client.get("/pickup/forged/qr.png").status_code == 404
    shop.followups.plan()
    [ready] = [f for f in shop.followups.list() if f.flow == "pickup_ready"]
    html = shop.followups.preview(ready.id).html or ""
    assert f'src="{shop.pickups.pass_url(p)}/qr.png"' in html

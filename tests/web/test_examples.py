"""Smoke tests of examples/: three existing shops that mount the app, and the POS simulator."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from starlette.testclient import TestClient

from o2o_sdk import O2O, FrozenClock

from .conftest import MONDAY_8AM_LONDON, make_shop

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(relative: str) -> ModuleType:
    path = EXAMPLES / relative
    name = "example_" + re.sub(r"\W", "_", relative)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def mounted_sdk(tmp_path: Path) -> O2O:
    """An SDK whose links point at the shop's /o2o mount."""
    sdk = make_shop(f"sqlite:///{tmp_path / 'shop.db'}", FrozenClock(MONDAY_8AM_LONDON), base_url="http://testserver/o2o")
    return sdk


def voucher_path(html: str) -> str:
    m = re.search(r"id='voucher' href='http://testserver(/o2o/o/[^']+)'", html)
    assert m, html
    return m.group(1)


def test_the_fastapi_shop(mounted_sdk: O2O) -> None:
    shop = load("fastapi-shop/shop.py").create_shop(mounted_sdk)
    client = TestClient(shop)
    assert "Buy a bag of beans" in client.get("/").text
    thanks = client.post("/checkout", data={"email": "ada@example.com"})
    page = client.get(voucher_path(thanks.text))
    assert page.status_code == 200 and "10% off your next visit" in page.text
    assert 'href="/o2o/static/o2o.css"' in page.text


def test_the_flask_shop(mounted_sdk: O2O) -> None:
    shop = load("flask-shop/shop.py").create_shop(mounted_sdk)
    client = shop.test_client()
    thanks = client.post("/checkout", data={"email": "ada@example.com"})
    page = client.get(voucher_path(thanks.get_data(as_text=True)))
    assert page.status_code == 200 and "10% off your next visit" in page.get_data(as_text=True)
    assert client.get("/o2o/static/o2o.css").status_code == 200
    assert client.get("/o2o/staff").headers["Location"].endswith("/o2o/staff/login")


def test_the_django_shop(mounted_sdk: O2O) -> None:
    site = load("django-shop/shop.py").create_asgi(mounted_sdk)
    client = TestClient(site)
    home = client.get("/")
    token = re.search(r"name='csrfmiddlewaretoken' value='([^']+)'", home.text).group(1)  # type: ignore[union-attr]
    assert client.post("/checkout", data={"email": "ada@example.com"}).status_code == 403  # Django's own CSRF
    thanks = client.post("/checkout", data={"email": "ada@example.com", "csrfmiddlewaretoken": token})
    page = client.get(voucher_path(thanks.text))
    assert page.status_code == 200 and "10% off your next visit" in page.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_pos_simulator_runs_against_o2o_serve(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("O2O_")}
    o2o = Path(sys.executable).with_name("o2o")
    server = subprocess.Popen([str(o2o), "serve", "--port", str(port), "--dir", str(tmp_path / "demo"), "--log-level", "warning"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "o2o serve did not start"
            time.sleep(0.2)
        demo = json.loads((tmp_path / "demo" / "demo.json").read_text())
        lines: list[str] = []
        code = load("pos-simulator/simulate.py").run(demo["base_url"], demo["store_key"], demo["voucher_url"], out=lines)
        assert code == 0, lines
        assert lines[0].startswith("till of store ldn-soho")
        assert lines[1] == "valid: 15% off = 1.26 GBP"
        assert "returned the same redemption" in lines[2]
        assert lines[3] == "second use refused: already_redeemed"
        assert lines[-1].startswith("redeemed again after the refund")
    finally:
        server.terminate()
        _, err = server.communicate(timeout=15)
    assert err.count(demo["store_key"]) == 1  # shown once at start, never logged by the requests that used it

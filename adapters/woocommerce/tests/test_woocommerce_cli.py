"""``o2o woocommerce …``: the commands the entry point adds to the o2o CLI."""

from __future__ import annotations

import pytest
import respx
from woo_fake import CONSUMER_KEY, CONSUMER_SECRET, SITE, FakeWooCommerce, order_payload

from o2o_sdk import O2O, Config, Discount
from o2o_sdk.cli import main


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for key, value in {"O2O_DATABASE_URL": url, "O2O_SECRET_KEYS": "a:cli-test-secret-0123456789",
                       "O2O_WOOCOMMERCE_URL": SITE, "O2O_WOOCOMMERCE_KEY": CONSUMER_KEY,
                       "O2O_WOOCOMMERCE_SECRET": CONSUMER_SECRET, "O2O_WOOCOMMERCE_WEBHOOK_SECRETS": "whsec-cli"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    return url


@pytest.fixture
def fake():
    site = FakeWooCommerce()
    with respx.mock(assert_all_called=False) as router:
        router.route(host="shop.example").mock(side_effect=site)
        yield site


def test_mirror_offer_and_usage(env: str, fake: FakeWooCommerce, capsys: pytest.CaptureFixture[str]) -> None:
    with O2O(Config.from_env()) as sdk:
        sdk.offers.create("Ten off", Discount.percent_off(10), id="off_cli")
    assert main(["woocommerce", "mirror-offer", "off_cli", "--code", "TEN"]) == 0
    assert "offer off_cli is WooCommerce coupon ten (id 901)" in capsys.readouterr().out
    assert main(["woocommerce", "sync-usage"]) == 0
    assert "off_cli\tten\tused 4" in capsys.readouterr().out


def test_customer(env: str, fake: FakeWooCommerce, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["woocommerce", "customer", "ada@example.com"]) == 0
    assert "77\tAda@Example.com\tAda Byron" in capsys.readouterr().out
    assert main(["woocommerce", "customer", "zed@example.com"]) == 1


def test_import_orders(env: str, fake: FakeWooCommerce, capsys: pytest.CaptureFixture[str]) -> None:
    fake.orders = [order_payload(n) for n in range(1, 4)] + [order_payload(4, status="failed")]
    assert main(["woocommerce", "import-orders", "--after", "2026-06-01T00:00:00Z"]) == 0
    assert "read 4 order(s): 3 recorded, 0 already recorded, 1 not a sale (status)" in capsys.readouterr().out
    assert fake.calls("GET", "/orders")[0].url.params["after"] == "2026-06-01T00:00:00"
    assert main(["woocommerce", "import-orders", "--after", "June"]) == 1
    err = capsys.readouterr().err
    assert "not an ISO 8601 time" in err and "Traceback" not in err


def test_subscribe_webhooks(env: str, fake: FakeWooCommerce, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["woocommerce", "subscribe-webhooks", "https://o2o.example/webhooks/woocommerce"]) == 0
    out = capsys.readouterr().out
    assert "order.created\twebhook 901\tcreated" in out and "order.deleted\twebhook 902\tcreated" in out
    assert "order.updated\twebhook 903\tcreated" in out


def test_user_mistakes_are_one_line(env: str, fake: FakeWooCommerce, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["woocommerce", "mirror-offer", "off_missing"]) == 1
    err = capsys.readouterr().err
    assert "Unknown offer 'off_missing'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_basic_auth_over_http_is_a_one_line_refusal(env: str, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("O2O_WOOCOMMERCE_URL", "http://plain.example")
    monkeypatch.setenv("O2O_WOOCOMMERCE_AUTH", "basic")
    assert main(["woocommerce", "customer", "ada@example.com"]) != 0
    err = capsys.readouterr().err
    assert "clear text" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unconfigured_site_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("O2O_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("O2O_WOOCOMMERCE_URL", raising=False)
    assert main(["woocommerce", "customer", "ada@example.com"]) == 1
    assert "No adapter for the platform 'woocommerce'" in capsys.readouterr().err

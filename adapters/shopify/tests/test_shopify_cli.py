"""``o2o shopify …``: the commands the entry point adds to the o2o CLI."""

from __future__ import annotations

import pytest
import respx
from shopify_fake import ACCESS_TOKEN, ENDPOINT, SHOP, FakeShopify, require_schema

from o2o_sdk import O2O, Config, Discount
from o2o_sdk.cli import main


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for key, value in {"O2O_DATABASE_URL": url, "O2O_SECRET_KEYS": "a:cli-test-secret-0123456789", "O2O_SHOPIFY_SHOP": SHOP,
                       "O2O_SHOPIFY_ACCESS_TOKEN": ACCESS_TOKEN, "O2O_SHOPIFY_WEBHOOK_SECRETS": "s"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    return url


@pytest.fixture
def fake():
    shop = FakeShopify(require_schema())
    with respx.mock(assert_all_called=False) as router:
        router.post(ENDPOINT).mock(side_effect=shop)
        yield shop


def test_sync_stores(env: str, fake: FakeShopify, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shopify", "sync-stores"]) == 0
    assert "synced 2 store(s) from 2 Shopify location(s)" in capsys.readouterr().out
    with O2O(Config.from_env()) as sdk:
        assert [s.id for s in sdk.stores.list()] == ["shopify-1", "shopify-2"]
    assert "O2OLocationsCount" in fake.operations()


def test_mirror_offer_and_usage(env: str, fake: FakeShopify, capsys: pytest.CaptureFixture[str]) -> None:
    with O2O(Config.from_env()) as sdk:
        sdk.offers.create("Ten off", Discount.percent_off(10), id="off_cli")
    assert main(["shopify", "mirror-offer", "off_cli", "--code", "TEN"]) == 0
    assert "offer off_cli is Shopify discount code TEN (gid://shopify/DiscountCodeNode/1)" in capsys.readouterr().out
    assert main(["shopify", "sync-usage"]) == 0
    assert "off_cli\tTEN\tused 4" in capsys.readouterr().out


def test_customer(env: str, fake: FakeShopify, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shopify", "customer", "ada@example.com"]) == 0
    assert "gid://shopify/Customer/77" in capsys.readouterr().out
    assert main(["shopify", "customer", "zed@example.com"]) == 1


def test_user_mistakes_are_one_line(env: str, fake: FakeShopify, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shopify", "mirror-offer", "off_missing"]) == 1
    err = capsys.readouterr().err
    assert "Unknown offer 'off_missing'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unconfigured_shop_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("O2O_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("O2O_SHOPIFY_SHOP", raising=False)
    assert main(["shopify", "sync-stores"]) == 1
    assert "No adapter for the platform 'shopify'" in capsys.readouterr().err

"""``o2o square …``: the commands the entry point adds to the o2o CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import respx
from square_fake import ACCESS_TOKEN, FakeSquare, require_spec

from o2o_sdk import O2O, Config, Discount
from o2o_sdk.cli import main


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for key, value in {"O2O_DATABASE_URL": url, "O2O_SECRET_KEYS": "a:cli-test-secret-0123456789",
                       "O2O_SQUARE_ACCESS_TOKEN": ACCESS_TOKEN, "O2O_SQUARE_WEBHOOK_SIGNATURE_KEYS": "s"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    return url


@pytest.fixture
def fake():
    square = FakeSquare(require_spec())
    with respx.mock(assert_all_called=False) as router:
        router.route(host="connect.squareup.com").mock(side_effect=square)
        yield square


def test_sync_stores(env: str, fake: FakeSquare, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["square", "sync-stores"]) == 0
    assert "synced 2 store(s) from 2 active Square location(s)" in capsys.readouterr().out
    with O2O(Config.from_env()) as sdk:
        assert [s.id for s in sdk.stores.list()] == ["square-18YC4JDH91E1H", "square-3Z4V4WHQK64X9"]


def test_mirror_offer_and_usage(env: str, fake: FakeSquare, capsys: pytest.CaptureFixture[str]) -> None:
    fake.order_time = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")  # the CLI runs on real time
    with O2O(Config.from_env()) as sdk:
        sdk.offers.create("Ten off", Discount.percent_off(10), id="off_cli")
    assert main(["square", "mirror-offer", "off_cli", "--code", "TEN"]) == 0
    out = capsys.readouterr().out
    discount_id = next(o["id"] for o in fake.catalog.values() if o["type"] == "DISCOUNT")
    assert f"offer off_cli is the Square discount 'TEN' ({discount_id})" in out
    assert main(["square", "sync-usage"]) == 0
    assert "off_cli\tTEN\tused 3" in capsys.readouterr().out


def test_customer(env: str, fake: FakeSquare, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["square", "customer", "ada@example.com"]) == 0
    assert "JDKYHBWT1D4F8MFH63DBMEN8Y4\tAda@Example.com\tAda Lovelace" in capsys.readouterr().out
    assert main(["square", "customer", "zed@example.com"]) == 1


def test_user_mistakes_are_one_line(env: str, fake: FakeSquare, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["square", "mirror-offer", "off_missing"]) == 1
    err = capsys.readouterr().err
    assert "Unknown offer 'off_missing'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_platform_errors_are_one_line(env: str, fake: FakeSquare, capsys: pytest.CaptureFixture[str]) -> None:
    fake.answers.append(fake.error("ListLocationsResponse", 401, "UNAUTHORIZED", "This request could not be authorized.",
                                   category="AUTHENTICATION_ERROR"))  # fmt: skip
    assert main(["square", "sync-stores"]) == 1
    err = capsys.readouterr().err
    assert "UNAUTHORIZED" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unconfigured_square_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("O2O_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("O2O_SQUARE_ACCESS_TOKEN", raising=False)
    assert main(["square", "sync-stores"]) == 1
    assert "No adapter for the platform 'square'" in capsys.readouterr().err

"""The Python POS client against a live server, its retries, and ``o2o keys``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from o2o_sdk import O2O, Basket, IdempotencyConflict, Money, NotFound, Reason, RedemptionRefused
from o2o_sdk.cli import main
from o2o_sdk.web import ApiKeys
from o2o_sdk.web.client import POSAuthError, POSClient, POSForbidden, POSServerError

from .conftest import LiveServer, london_offer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_pos_client_redeems_with_typed_results_and_errors(live: LiveServer, sqlite_shop: O2O) -> None:
    _, key = ApiKeys(sqlite_shop).create("ldn-soho")
    token = sqlite_shop.offers.issue(london_offer(sqlite_shop)).token
    with POSClient(live.url, key) as pos:
        assert key not in repr(pos)
        assert pos.me().store_id == "ldn-soho"
        check = pos.validate(token, basket=Basket(Money.of("20.00", "GBP")))
        assert check.ok and check.discount is not None and check.discount.amount == Money.of("3.00", "GBP")
        hold = pos.reserve(token, ttl_seconds=300)
        assert pos.release(hold.id).status.value == "released"
        red = pos.redeem(token, idempotency_key="sale-1")
        assert pos.redeem(token, idempotency_key="sale-1").id == red.id
        with pytest.raises(RedemptionRefused) as refused:
            pos.redeem(token)
        assert refused.value.reasons == (Reason.ALREADY_REDEEMED,)
        with pytest.raises(IdempotencyConflict):
            pos.redeem(sqlite_shop.offers.issue(london_offer(sqlite_shop)).token, idempotency_key="sale-1")
        with pytest.raises(POSForbidden):
            pos.validate(token, store_id="ldn-shoreditch")
        with pytest.raises(NotFound):
            pos.void("red_nothing", "refund")
        assert pos.void(red.id, "refund").voided_at is not None
    with POSClient(live.url, "o2o_000000000000_" + "x" * 43) as bad, pytest.raises(POSAuthError):
        bad.me()


def test_the_pos_client_retries_server_errors_with_the_same_idempotency_key() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("idempotency-key"))
        if len(seen) < 3:
            return httpx.Response(503, json={"error": {"code": "storage_unavailable", "message": "try again"}})
        return httpx.Response(409, json={"error": {"code": "redemption_refused", "message": "used",
                                                   "refusals": [{"code": "already_redeemed", "message": "used"}]}})  # fmt: skip

    waits: list[float] = []
    with POSClient("http://pos.test", "k", transport=httpx.MockTransport(handler), sleep=waits.append) as pos, \
            pytest.raises(RedemptionRefused):
        pos.redeem("tok", idempotency_key="sale-9")
    assert seen == ["sale-9"] * 3 and len(waits) == 2  # 409 is an answer, not retried

    def always_down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="oops")

    with POSClient("http://pos.test", "k", transport=httpx.MockTransport(always_down), sleep=waits.append) as pos, \
            pytest.raises(POSServerError):
        pos.validate("tok")


def test_o2o_keys_create_list_revoke(sqlite_shop: O2O, capsys: pytest.CaptureFixture[str]) -> None:
    db = sqlite_shop.storage.url
    assert main(["--database", db, "keys", "create", "--store", "ldn-soho", "--name", "till 1", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["key"].startswith(f"o2o_{created['id']}_")
    assert main(["--database", db, "keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert created["id"] in listed and "till 1" in listed and created["key"] not in listed
    assert main(["--database", db, "keys", "revoke", created["id"]]) == 0
    assert ApiKeys(sqlite_shop).authenticate(created["key"]) is None
    assert main(["--database", db, "keys", "create", "--store", "atlantis"]) == 1
    assert "Unknown store 'atlantis'" in capsys.readouterr().err


def test_o2o_serve_is_registered(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "--port" in capsys.readouterr().out


def test_o2o_serve_freezes_start_up_objects_while_it_serves(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import gc

    import uvicorn

    seen: list[int] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, *a, **k: seen.append(gc.get_freeze_count()))
    assert main(["--database", f"sqlite:///{tmp_path / 'shop.db'}", "serve", "--port", "0"]) == 0
    assert seen and seen[0] > 1000  # the modules, the app and the SDK were frozen before serving
    assert gc.get_freeze_count() == 0  # and thawed when the server stopped

"""The POS API: store-scoped keys, redeem exactly once, idempotency, refusals, rate limits, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from o2o_sdk import O2O, Offer
from o2o_sdk.web import ApiKeys, RateLimit, create_app

from .conftest import client_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

API = "/api/pos/v1"


def auth(key: str, idem: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return headers


def basket(pence: int) -> dict[str, Any]:
    return {"total": {"minor": pence, "currency": "GBP"}}


def test_a_voucher_is_validated_redeemed_once_and_refused_the_second_time(shop: O2O, offer: Offer, keys: Callable[[str], str]) -> None:
    client, key = client_for(create_app(shop)), keys("ldn-soho")
    token = shop.offers.issue(offer, "ada").token

    check = client.post(f"{API}/validate", json={"token": token, "basket": basket(840)}, headers=auth(key))
    assert check.status_code == 200
    assert check.json()["ok"] is True and check.json()["store_id"] == "ldn-soho"
    assert check.json()["discount"]["amount"] == {"minor": 126, "currency": "GBP"}

    first = client.post(f"{API}/redeem", json={"token": token, "basket": basket(840)}, headers=auth(key, "sale-1"))
    assert first.status_code == 201
    assert first.json()["idempotency_key"] == "sale-1"
    retry = client.post(f"{API}/redeem", json={"token": token, "basket": basket(840)}, headers=auth(key, "sale-1"))
    assert (retry.status_code, retry.json()["id"]) == (201, first.json()["id"])

    second = client.post(f"{API}/redeem", json={"token": token, "basket": basket(840)}, headers=auth(key, "sale-2"))
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "redemption_refused"
    assert [r["code"] for r in error["refusals"]] == ["already_redeemed"]
    assert shop.offers.usage(offer.id).redeemed == 1


def test_a_key_for_one_store_is_refused_at_another(shop: O2O, offer: Offer, keys: Callable[[str], str]) -> None:
    client, soho = client_for(create_app(shop)), keys("ldn-soho")
    token = shop.offers.issue(offer).token
    for op in ("validate", "redeem", "reserve"):
        r = client.post(f"{API}/{op}", json={"token": token, "store_id": "ldn-covent-garden"}, headers=auth(soho, f"k-{op}"))
        assert (r.status_code, r.json()["error"]["code"]) == (403, "store_forbidden"), op
    # Its redemptions are invisible to another store's key: it cannot void them.
    red = client.post(f"{API}/redeem", json={"token": token}, headers=auth(soho, "k-1")).json()
    assert "id" in red, red
    garden = keys("ldn-covent-garden")
    r = client.post(f"{API}/redemptions/{red['id']}/void", json={"reason": "refund"}, headers=auth(garden))
    assert r.status_code == 404
    assert shop.storage.get_redemption(red["id"]).voided_at is None  # type: ignore[union-attr]
    r = client.post(f"{API}/redemptions/{red['id']}/void", json={"reason": "refund"}, headers=auth(soho))
    assert r.status_code == 200 and r.json()["void_reason"] == "refund"


def test_an_admin_key_acts_for_any_store_it_names(shop: O2O, offer: Offer) -> None:
    client = client_for(create_app(shop))
    _, admin = ApiKeys(shop).create("*", "head office")
    token = shop.offers.issue(offer).token
    missing = client.post(f"{API}/validate", json={"token": token}, headers=auth(admin))
    assert missing.status_code == 422
    r = client.post(f"{API}/redeem", json={"token": token, "store_id": "ldn-shoreditch"}, headers=auth(admin, "a-1"))
    assert (r.status_code, r.json()["store_id"]) == (201, "ldn-shoreditch")
    unknown = client.post(f"{API}/validate", json={"token": token, "store_id": "nowhere"}, headers=auth(admin))
    assert unknown.status_code == 404


def test_revoked_unknown_and_missing_keys_are_refused(shop: O2O, offer: Offer) -> None:
    client, api = client_for(create_app(shop)), ApiKeys(shop)
    record, key = api.create("ldn-soho")
    token = shop.offers.issue(offer).token
    assert client.post(f"{API}/validate", json={"token": token}, headers=auth(key)).status_code == 200
    api.revoke(record.id)
    # The app's own key cache is per app: a fresh app sees the revocation at once ...
    assert client_for(create_app(shop)).post(f"{API}/validate", json={"token": token}, headers=auth(key)).status_code == 401
    assert client.post(f"{API}/validate", json={"token": token}).status_code == 401
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert client.post(f"{API}/validate", json={"token": token}, headers=auth(wrong)).status_code == 401
    assert client.get(f"{API}/me", headers={"X-API-Key": "o2o_nothing"}).status_code == 401


def test_keys_are_stored_as_digests_only(shop: O2O) -> None:
    record, key = ApiKeys(shop).create("ldn-soho")
    stored = shop.storage.get_api_key(record.id)
    assert stored is not None and key not in repr(stored)
    assert stored.key_hash == __import__("hashlib").sha256(key.encode()).hexdigest()


def test_idempotency_keys_conflict_on_a_different_request_and_are_scoped_per_api_key(
    shop: O2O, offer: Offer, keys: Callable[[str], str]
) -> None:
    client = client_for(create_app(shop))
    soho, garden = keys("ldn-soho"), keys("ldn-covent-garden")
    a, b = shop.offers.issue(offer).token, shop.offers.issue(offer).token
    assert client.post(f"{API}/redeem", json={"token": a}, headers=auth(soho, "sale-7")).status_code == 201
    conflict = client.post(f"{API}/redeem", json={"token": b}, headers=auth(soho, "sale-7"))
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (409, "idempotency_conflict")
    assert "sale-7" not in conflict.text or "Idempotency-Key" in conflict.text
    # Another store's POS may use the same key for its own sale.
    other = client.post(f"{API}/redeem", json={"token": b}, headers=auth(garden, "sale-7"))
    assert other.status_code == 201 and other.json()["store_id"] == "ldn-covent-garden"


def test_redeem_and_reserve_need_an_idempotency_key(shop: O2O, offer: Offer, keys: Callable[[str], str]) -> None:
    client, key = client_for(create_app(shop)), keys("ldn-soho")
    token = shop.offers.issue(offer).token
    for op in ("redeem", "reserve"):
        r = client.post(f"{API}/{op}", json={"token": token}, headers=auth(key))
        assert (r.status_code, r.json()["error"]["code"]) == (400, "idempotency_key_required")
    assert shop.offers.usage(offer.id).redeemed == 0


def test_a_hold_is_reserved_released_and_then_redeemable(shop: O2O, offer: Offer, keys: Callable[[str], str]) -> None:
    client, key = client_for(create_app(shop)), keys("ldn-soho")
    token = shop.offers.issue(offer).token
    hold = client.post(f"{API}/reserve", json={"token": token, "ttl_seconds": 600}, headers=auth(key, "r-1"))
    assert hold.status_code == 201 and hold.json()["status"] == "active"
    blocked = client.post(f"{API}/redeem", json={"token": token}, headers=auth(key, "x-1"))
    assert [r["code"] for r in blocked.json()["error"]["refusals"]] == ["reserved"]
    released = client.post(f"{API}/reservations/{hold.json()['id']}/release", headers=auth(key))
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert client.post(f"{API}/redeem", json={"token": token}, headers=auth(key, "x-2")).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{", 400, "bad_json"),
        (b"\xff\xfe", 400, "bad_json"),
        (b"[1, 2]", 422, "invalid_input"),
        (b'{"token": 5}', 422, "invalid_input"),
        (b'{"token": "x", "extra": 1}', 422, "invalid_input"),
        (b'{"token": "x", "basket": {"total": {"minor": -1, "currency": "GBP"}}}', 422, "invalid_input"),
        (b'{"token": "x", "basket": {"total": {"minor": 1, "currency": "gbp"}}}', 422, "invalid_input"),
        (b'{"token": "x", "store_id": "nowhere"}', 403, "store_forbidden"),
    ],
)
def test_malformed_requests_get_4xx_json_errors(shop: O2O, keys: Callable[[str], str], body: bytes, status: int, code: str) -> None:
    client, key = client_for(create_app(shop)), keys("ldn-soho")
    r = client.post(f"{API}/validate", content=body, headers={**auth(key), "Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)


def test_ids_in_paths_that_no_record_can_have_are_unknown_not_a_database_failure(shop: O2O, keys: Callable[[str], str]) -> None:
    """A NUL character (which PostgreSQL cannot even look up) or an overlong id: 404, as for
    any unknown id, never a 5xx that tells the till to retry."""
    client, key = client_for(create_app(shop)), keys("ldn-soho")
    for bad in ("x%00y", "x" * 101):
        for path, body in ((f"{API}/reservations/{bad}/release", {}), (f"{API}/redemptions/{bad}/void", {"reason": "refund"}),
                           (f"{API}/pickups/{bad}/accept", {})):  # fmt: skip
            r = client.post(path, json=body, headers=auth(key))
            assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), path


def test_validate_is_rate_limited_per_key_against_guessing(shop: O2O, offer: Offer, keys: Callable[[str], str]) -> None:
    app = create_app(shop, validate_limit=RateLimit(burst=5, per_second=0.01))
    client, key = client_for(app), keys("ldn-soho")
    answers = [client.post(f"{API}/validate", json={"token": f"guess{i}"}, headers=auth(key)) for i in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert int(answers[-1].headers["Retry-After"]) >= 1
    # Guessing through redeem is blocked too, and costs the same budget.
    token = shop.offers.issue(offer).token
    r = client.post(f"{API}/redeem", json={"token": token}, headers=auth(key, "g-1"))
    assert r.status_code == 429
    assert shop.offers.usage(offer.id).redeemed == 0
    # Another store's key has its own budget.
    assert client.post(f"{API}/validate", json={"token": token}, headers=auth(keys("ldn-covent-garden"))).status_code == 200


def test_failed_guesses_on_redeem_use_up_the_budget_but_real_redemptions_do_not(
    shop: O2O, offer: Offer, keys: Callable[[str], str]
) -> None:
    client, key = client_for(create_app(shop, validate_limit=RateLimit(burst=3, per_second=0.01))), keys("ldn-soho")
    for i in range(5):  # valid vouchers never count
        token = shop.offers.issue(offer).token
        assert client.post(f"{API}/redeem", json={"token": token}, headers=auth(key, f"ok-{i}")).status_code == 201
    codes = [client.post(f"{API}/redeem", json={"token": f"guess-{i}"}, headers=auth(key, f"g-{i}")).status_code for i in range(4)]
    assert codes == [409, 409, 409, 429]


def test_the_openapi_document_is_served_at_a_stable_path(shop: O2O) -> None:
    doc = client_for(create_app(shop)).get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert {"/api/pos/v1/validate", "/api/pos/v1/redeem", "/api/pos/v1/reserve", "/api/stores/near",
            "/api/pos/v1/redemptions/{redemption_id}/void", "/api/pos/v1/reservations/{reservation_id}/release"} <= set(doc["paths"])  # fmt: skip
    redeem = doc["paths"]["/api/pos/v1/redeem"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in redeem["parameters"])
    assert {"201", "400", "401", "403", "404", "409", "422", "429"} <= set(redeem["responses"])

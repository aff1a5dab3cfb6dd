"""Secrets stay out of logs: tokens in URLs, API keys in headers, in access and error logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from starlette.requests import Request

from o2o_sdk import O2O, hookimpl
from o2o_sdk.cli._serve import install_log_masking
from o2o_sdk.web import ApiKeys, MaskSecretsFilter, create_app, mask_secrets

from .conftest import LiveServer, london_offer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_mask_secrets_masks_tokens_keys_and_secret_parameters() -> None:
    key = "o2o_0123456789ab_" + "A" * 43
    token = "bCA4aXlP1bd9qVy_w.QFtuKN5AsTnGFURUDiy0"
    line = f'GET /o2o/o/abc.DEF_ghi?x=1 /c/code1 /p/poster /u/unsub?token=t0k&lat=1 Bearer {key} {key} no {token}.'
    masked = mask_secrets(line)
    for secret in ("abc.DEF_ghi", "code1", "poster", "unsub", "t0k", "A" * 43, token):
        assert secret not in masked
    assert "/o2o/o/***" in masked and "o2o_0123456789ab_***" in masked and "lat=1" in masked


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def captured() -> Iterator[_Records]:
    """Records of the server's loggers (added after uvicorn configured its logging)."""
    install_log_masking()
    handler = _Records()
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error", "o2o_sdk.web")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


class Broken:
    @hookimpl
    def o2o_register_routes(self, register: object) -> None:
        async def explode(request: Request) -> None:
            raise RuntimeError(f"cannot handle {request.query_params.get('token')}")

        register("/webhooks/broken", explode)  # type: ignore[operator]


def test_no_token_or_key_reaches_the_access_or_error_log(sqlite_shop: O2O) -> None:
    sqlite_shop.plugins.register(Broken())
    voucher = sqlite_shop.offers.issue(london_offer(sqlite_shop))
    _, key = ApiKeys(sqlite_shop).create("ldn-soho")
    code = sqlite_shop.checkins.current_code("ldn-soho").code
    with LiveServer(create_app(sqlite_shop), log_level="info", access_log=True) as server, captured() as records:
        assert httpx.get(f"{server.url}/o/{voucher.token}").status_code == 200
        assert httpx.get(f"{server.url}/c/{code}").status_code == 200
        r = httpx.post(f"{server.url}/api/pos/v1/validate?api_key={key}", json={"token": voucher.token},
                       headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        assert r.status_code == 200
        broken = httpx.get(f"{server.url}/webhooks/broken", params={"token": voucher.token})
        assert broken.status_code == 500 and "Something went wrong" in broken.text
        assert voucher.token not in broken.text
    text = "\n".join(records.lines)
    assert "/o/***" in text and "/c/***" in text  # the requests were logged ...
    assert "unhandled error" in text
    for secret in (voucher.token, key, key.split("_", 2)[2], code):  # ... without their secrets
        assert secret not in text


def test_the_filter_leaves_other_records_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %d", ("/stores?lat=1", 5), None)
    assert MaskSecretsFilter().filter(record) and record.getMessage() == "/stores?lat=1 5"

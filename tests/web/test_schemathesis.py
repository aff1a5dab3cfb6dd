"""schemathesis against the served OpenAPI document: no 5xx for any generated input.

Runs with a valid store key (so requests get past authentication into the voucher logic)
and without limits (so the rate limiter does not hide what follows it). Each operation of
the document is driven by its own hypothesis strategy (schemathesis' pytest plugin is not
used: it does not support this pytest yet).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from o2o_sdk import FrozenClock
from o2o_sdk.web import ApiKeys, RateLimit, create_app

from .conftest import MONDAY_8AM_LONDON, london_offer, make_shop

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

UNLIMITED = RateLimit(burst=10**9, per_second=10**9)
OPERATIONS = [
    ("GET", "/api/pos/v1/me"),
    ("POST", "/api/pos/v1/validate"),
    ("POST", "/api/pos/v1/reserve"),
    ("POST", "/api/pos/v1/reservations/{reservation_id}/release"),
    ("POST", "/api/pos/v1/redeem"),
    ("POST", "/api/pos/v1/redemptions/{redemption_id}/void"),
    ("GET", "/api/pos/v1/pickups"),
    ("POST", "/api/pos/v1/pickups/handover"),
    ("POST", "/api/pos/v1/pickups/{pickup_id}/{step}"),
    ("GET", "/api/stores/near"),
]


def test_the_document_lists_exactly_these_operations(tmp_path: Path) -> None:
    sdk = make_shop(f"sqlite:///{tmp_path / 'o2o.db'}", FrozenClock(MONDAY_8AM_LONDON))
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(sdk))
    found = sorted((r.ok().method.upper(), r.ok().path) for r in schema.get_all_operations())
    assert found == sorted(OPERATIONS)
    sdk.close()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_generated_request_gets_a_server_error(tmp_path: Path, method: str, path: str) -> None:
    sdk = make_shop(f"sqlite:///{tmp_path / 'o2o.db'}", FrozenClock(MONDAY_8AM_LONDON))
    london_offer(sdk)
    _, key = ApiKeys(sdk).create("ldn-soho")
    app = create_app(sdk, validate_limit=UNLIMITED, ip_limit=UNLIMITED, near_limit=UNLIMITED)
    operation = schemathesis.openapi.from_asgi("/api/openapi.json", app)[path][method]
    headers = {"Authorization": f"Bearer {key}"} if path.startswith("/api/pos/") else {}

    @given(case=operation.as_strategy())
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
        case.validate_response(response, checks=[not_a_server_error])

    try:
        check()
    finally:
        sdk.close()

"""Shared fixtures: an SDK per test on SQLite and, when configured, on PostgreSQL.

PostgreSQL tests need ``O2O_TEST_POSTGRES_URL`` (``.ci/run`` always sets it); each test gets
its own schema, dropped afterwards. Without the variable they skip with that reason — in CI
(``CI=true``) a missing PostgreSQL is an error instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from o2o_sdk import O2O, Config, FrozenClock, SigningKey, Store

TEST_KEYS = (SigningKey("b", b"test-secret-newest-0123456789"), SigningKey("a", b"test-secret-older-0123456789"))

DEMO_STORES = [
    Store("lon-soho", "London Soho", "Europe/London", 51.5136, -0.1365, "12 Old Compton St, London W1D 4TQ", ("pickup",)),
    Store("nyc-soho", "New York SoHo", "America/New_York", 40.7233, -74.0030, "120 Prince St, New York, NY 10012", ("pickup", "returns")),
    Store("tyo-shibuya", "Tokyo Shibuya", "Asia/Tokyo", 35.6595, 139.7005, "2-21-1 Shibuya, Tokyo 150-0002", ("pickup",)),
]


@pytest.fixture
def pg_url(o2o_postgres_url: str) -> str:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test
    (``o2o_sdk.testing``'s fixture, which the SDK's users have too)."""
    return o2o_postgres_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'o2o.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'o2o.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def clock() -> FrozenClock:
    """A clock frozen at Monday 2026-06-15 12:00 UTC."""
    return FrozenClock(datetime(2026, 6, 15, 12, 0, tzinfo=UTC))


@pytest.fixture
def make_sdk(database_url: str, clock: FrozenClock) -> Iterator[Callable[..., O2O]]:
    """Factory for SDK instances on this test's database (same clock, same keys)."""
    made: list[O2O] = []

    def make(**overrides: Any) -> O2O:
        config = Config(
            database_url=overrides.pop("database_url", database_url),
            secret_keys=overrides.pop("secret_keys", TEST_KEYS),
            base_url=overrides.pop("base_url", "https://shop.example"),
            auto_migrate=True,
        )
        sdk = O2O(config, clock=overrides.pop("clock", clock), **overrides)
        made.append(sdk)
        return sdk

    yield make
    for sdk in made:
        sdk.close()


@pytest.fixture
def sdk(make_sdk: Callable[..., O2O]) -> O2O:
    """An SDK with three demo stores (London, New York, Tokyo), on each backend."""
    instance = make_sdk()
    instance.stores.add(DEMO_STORES)
    return instance

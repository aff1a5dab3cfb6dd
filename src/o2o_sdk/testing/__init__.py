"""``o2o_sdk.testing``: a pytest plugin for projects that embed or extend o2o-sdk.

Installed with the SDK and loaded by pytest automatically (entry point ``pytest11``). Every
fixture is prefixed ``o2o_``:

=====================  ===============================================================
``o2o_clock``          a :class:`~o2o_sdk.FrozenClock` at Monday 2026-06-15 12:00 UTC
``o2o_database_url``   ``sqlite:///`` URL of a fresh database in the test's temporary folder
``o2o_make_sdk``       factory ``o2o_make_sdk(**config_overrides)``: SDK instances on that
                       database with the frozen clock and fixed test keys; third-party entry
                       points are not loaded (pass ``load_entrypoints=True`` to load them)
``o2o_sdk``            one such instance
``o2o_register``       ``o2o_register(plugin, name=None)``: register a plugin on ``o2o_sdk``
                       for this test only
``o2o_postgres_url``   a PostgreSQL URL whose ``search_path`` is a fresh schema, dropped after
                       the test (see below)
=====================  ===============================================================

PostgreSQL: ``o2o_postgres_url`` needs ``O2O_TEST_POSTGRES_URL`` (e.g.
``postgresql://127.0.0.1:5432/test``) and the ``postgres`` extra. Without them the test is
skipped with that reason — unless ``CI`` is set, where a missing database is an error, so a
CI that forgot it does not pass by skipping. To run every test of ``o2o_make_sdk`` on both
backends, override ``o2o_database_url`` in your ``conftest.py``::

    @pytest.fixture(params=["sqlite", "postgresql"])
    def o2o_database_url(request, tmp_path):
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / 'o2o.db'}"
        return request.getfixturevalue("o2o_postgres_url")

Adapter authors also subclass :class:`o2o_sdk.testing.conformance.AdapterConformance`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from ..clock import FrozenClock
from ..config import Config
from ..sdk import O2O
from ..tokens import SigningKey

__all__ = ["FROZEN_AT", "POSTGRES_ENV", "TEST_KEYS", "postgres_schema", "postgres_test_url"]

#: The environment variable naming the PostgreSQL database tests may create schemas in.
POSTGRES_ENV = "O2O_TEST_POSTGRES_URL"

#: Where ``o2o_clock`` starts: a Monday, noon UTC.
FROZEN_AT = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
#: Signing keys of test SDK instances (never use them outside tests).
TEST_KEYS = (SigningKey("y", b"o2o-testing-key-newest-0123456789"), SigningKey("x", b"o2o-testing-key-older-0123456789"))


@pytest.fixture
def o2o_clock() -> FrozenClock:
    """A clock frozen at Monday 2026-06-15 12:00 UTC; move it with ``advance``/``set``."""
    return FrozenClock(FROZEN_AT)


@pytest.fixture
def o2o_database_url(tmp_path: Path) -> str:
    """A fresh SQLite database in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'o2o-test.db'}"


@pytest.fixture
def o2o_make_sdk(o2o_database_url: str, o2o_clock: FrozenClock) -> Iterator[Callable[..., O2O]]:
    """Factory for SDK instances on the test's database; closed after the test.

    Keyword arguments are :class:`~o2o_sdk.Config` fields, plus ``clock`` and ``plugins``.
    """
    made: list[O2O] = []

    def make(**overrides: Any) -> O2O:
        clock = overrides.pop("clock", o2o_clock)
        plugins = overrides.pop("plugins", ())
        values: dict[str, Any] = {
            "database_url": o2o_database_url, "secret_keys": TEST_KEYS, "base_url": "https://shop.example",
            "auto_migrate": True, "load_entrypoints": False,
        }  # fmt: skip
        values.update(overrides)
        sdk = O2O(Config(**values), clock=clock, plugins=plugins)
        made.append(sdk)
        return sdk

    yield make
    for sdk in made:
        sdk.close()


@pytest.fixture
def o2o_sdk(o2o_make_sdk: Callable[..., O2O]) -> O2O:
    """An SDK instance on a temporary SQLite database, with the frozen clock."""
    return o2o_make_sdk()


@pytest.fixture
def o2o_register(o2o_sdk: O2O) -> Iterator[Callable[..., str]]:
    """Register plugins on ``o2o_sdk`` for this test only: ``o2o_register(plugin, name=None)``."""
    names: list[str] = []

    def register(plugin: object, name: str | None = None) -> str:
        registered = o2o_sdk.plugins.register(plugin, name)
        names.append(registered)
        return registered

    yield register
    for name in reversed(names):
        if o2o_sdk.plugins.pm.has_plugin(name):
            o2o_sdk.plugins.unregister(name=name)


def postgres_test_url() -> str | None:
    """``O2O_TEST_POSTGRES_URL``, or ``None`` when it is not set; in CI (``CI`` set) its absence
    is an error instead, so PostgreSQL tests cannot pass there by skipping."""
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("CI"):
        raise RuntimeError(f"CI is set but {POSTGRES_ENV} is not: PostgreSQL tests must run in CI.")
    return url or None


@pytest.fixture
def o2o_postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a fresh schema, dropped after the test."""
    base = postgres_test_url()
    if not base:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV}=postgresql://127.0.0.1:5432/test")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("PostgreSQL tests need psycopg: pip install 'o2o-sdk[postgres]'")
    with postgres_schema(base) as url:
        yield url


@contextmanager
def postgres_schema(base: str, prefix: str = "o2o_test") -> Iterator[str]:
    """``base`` with its ``search_path`` set to a fresh schema, which is dropped on exit
    (needs psycopg): a scratch database for a test or a benchmark."""
    import psycopg

    schema = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

"""The PostgreSQL fixture of ``o2o_sdk.testing``, as a plugin author would use it."""

from __future__ import annotations

import pytest

from o2o_sdk import O2O, Discount, Store
from o2o_sdk.testing import POSTGRES_ENV, postgres_test_url

pytest_plugins = ["pytester"]


@pytest.mark.postgres
def test_o2o_postgres_url_is_a_fresh_schema_dropped_afterwards(o2o_postgres_url: str, o2o_make_sdk) -> None:
    import psycopg

    schema = o2o_postgres_url.rsplit("search_path%3D", 1)[1]
    sdk: O2O = o2o_make_sdk(database_url=o2o_postgres_url)
    assert sdk.storage.dialect_name == "postgresql"
    sdk.stores.add(Store("s1", "One", "Europe/London", 51.5, -0.1))
    offer = sdk.offers.create("ten", Discount.percent_off(10))
    [voucher] = sdk.offers.issue_many(offer, 1)
    assert sdk.offers.redeem(voucher.token, "s1").store_id == "s1"
    with psycopg.connect(o2o_postgres_url.split("?", 1)[0]) as conn:
        found = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)).fetchone()
    assert found is not None and found[0] > 10  # the SDK's tables, in this test's own schema


def test_without_the_variable_the_fixture_skips_with_the_reason(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POSTGRES_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile("def test_pg(o2o_postgres_url):\n    raise AssertionError('not reached')\n")
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"*PostgreSQL not configured: set {POSTGRES_ENV}=*"])


def test_in_ci_a_missing_database_is_an_error_not_a_skip(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POSTGRES_ENV, raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(RuntimeError, match=POSTGRES_ENV):
        postgres_test_url()
    pytester.makepyfile("def test_pg(o2o_postgres_url):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)

"""Configuration from the environment: clear errors, and secrets that never print."""

from __future__ import annotations

from datetime import timedelta

import pytest

from o2o_sdk import O2O, Config, ConfigurationError, SigningKey

SECRET_B = "newest-secret-0123456789"
SECRET_A = "older-secret-0123456789"


def test_from_env_reads_database_keys_and_base_url() -> None:
    config = Config.from_env({
        "O2O_DATABASE_URL": "postgresql://shop@db.internal/o2o",
        "O2O_SECRET_KEYS": f"b:{SECRET_B}, a:{SECRET_A}",
        "O2O_BASE_URL": "https://shop.example/",
    })  # fmt: skip
    assert config.database_url == "postgresql://shop@db.internal/o2o"
    assert config.secret_keys == (SigningKey("b", SECRET_B.encode()), SigningKey("a", SECRET_A.encode()))
    assert config.base_url == "https://shop.example"


def test_from_env_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2O_DATABASE_URL", "sqlite:///shop.db")
    monkeypatch.setenv("O2O_SECRET_KEYS", f"k:{SECRET_B}")
    monkeypatch.setenv("O2O_BASE_URL", "http://localhost:8000")
    monkeypatch.setenv("O2O_PLUGINS", "shopify, mailer")
    monkeypatch.setenv("O2O_DISABLE_PLUGINS", "legacy")
    monkeypatch.setenv("O2O_STRICT_PLUGINS", "1")
    config = Config.from_env()
    assert config.database_url == "sqlite:///shop.db"
    assert [k.kid for k in config.secret_keys] == ["k"]
    assert config.base_url == "http://localhost:8000"
    assert config.plugins_allow == frozenset({"shopify", "mailer"})
    assert config.plugins_block == frozenset({"legacy"})
    assert config.strict_plugins is True


def test_defaults_and_overrides() -> None:
    config = Config.from_env({})
    assert config.database_url == "sqlite:///o2o.db"
    assert config.secret_keys == ()
    assert config.plugins_allow is None and config.plugins_block == frozenset()
    assert config.strict_plugins is False
    assert config.voucher_ttl == timedelta(days=30)
    overridden = Config.from_env({"O2O_DATABASE_URL": "sqlite:///a.db"}, database_url="sqlite:///b.db")
    assert overridden.database_url == "sqlite:///b.db"
    with pytest.raises(ConfigurationError, match="Unknown configuration"):
        Config.from_env({}, colour="blue")
    with pytest.raises(ConfigurationError, match="Unknown configuration"):
        O2O(Config(database_url="sqlite:///:memory:"), colour="blue")


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("just-a-secret-without-key-id", "key id, colon, secret"),
        ("b:", "key id, colon, secret"),
        ("b", "key id, colon, secret"),
        (",,", "holds no key"),
        (f"bb:{SECRET_B}", "one character"),
        (f"-:{SECRET_B}", "one character"),
        (f":{SECRET_B}", "one character"),
        ("b:tiny-pw", "shorter than 16 bytes"),
        (f"b:{SECRET_B},b:{SECRET_A}", "same key id twice"),
    ],
)
def test_malformed_keys_are_a_configuration_error_that_says_what_is_wrong(keys: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as err:
        Config.from_env({"O2O_SECRET_KEYS": keys})
    assert err.value.code == "configuration_error"
    for secret in (SECRET_A, SECRET_B, "tiny-pw"):
        assert secret not in str(err.value), "an error message never echoes a secret"


@pytest.mark.parametrize("url", ["shop.example", "ftp://shop.example", "https://", "//shop.example", "javascript:alert(1)"])
def test_a_base_url_must_be_an_http_origin(url: str) -> None:
    with pytest.raises(ConfigurationError, match="O2O_BASE_URL"):
        Config.from_env({"O2O_BASE_URL": url})
    with pytest.raises(ConfigurationError):
        Config(base_url=url)


@pytest.mark.parametrize("kid", ["", "ab", "-", "é", "b\n"])
def test_a_key_id_is_one_letter_or_digit(kid: str) -> None:
    with pytest.raises(ConfigurationError):
        SigningKey(kid, SECRET_B.encode())


def test_a_signing_key_never_shows_its_secret() -> None:
    key = SigningKey("b", SECRET_B.encode())
    assert SECRET_B not in repr(key) and SECRET_B not in str(key)
    assert repr(key) == f"SigningKey(kid='b', secret=<{len(SECRET_B)} bytes>)"
    config = Config(secret_keys=(key, SigningKey("a", SECRET_A.encode())))
    assert SECRET_B not in repr(config) and SECRET_A not in repr(config)


def test_an_unknown_database_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="mysql"):
        O2O(Config(database_url="mysql://shop@db/o2o"))


def test_a_sqlite_file_in_a_missing_folder_is_a_configuration_error(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        O2O(Config(database_url=f"sqlite:///{tmp_path}/missing/o2o.db"))

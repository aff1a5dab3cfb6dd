"""Configuration: from code, or from the environment.

==================  ==============================================================
``O2O_DATABASE_URL``  ``sqlite:///path/to/o2o.db`` (default ``sqlite:///o2o.db``) or
                      ``postgresql://user@host/db`` (needs ``o2o-sdk[postgres]``)
``O2O_SECRET_KEYS``   signing keys, newest first: ``b:new-secret,a:old-secret``
``O2O_BASE_URL``      origin of voucher links, e.g. ``https://shop.example`` (≤ 30 chars
                      after the scheme keeps the QR at version 5)
``O2O_PLUGINS``       allow-list of third-party plugin names (comma-separated)
``O2O_DISABLE_PLUGINS``  block-list of plugin names
``O2O_STRICT_PLUGINS``   ``1``: a plugin that fails to load is an error, not a warning
==================  ==============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlsplit

import attrs

from .errors import ConfigurationError
from .models import TrustLevel
from .tokens import SigningKey, parse_secret_keys

__all__ = ["Config"]

DEFAULT_DATABASE_URL = "sqlite:///o2o.db"


def _check_base_url(_: object, __: object, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"O2O_BASE_URL {value!r} must be an http(s) origin like 'https://shop.example'.")


def _check_checkin_window(_: object, __: object, value: timedelta) -> None:
    if value < timedelta(minutes=1) or value.total_seconds() % 60:
        raise ConfigurationError("The check-in window must be whole minutes, at least one.")


def _check_code_step(_: object, __: object, value: timedelta) -> None:
    if value < timedelta(seconds=5) or value.total_seconds() % 1:
        raise ConfigurationError("The check-in code step must be whole seconds, at least 5.")


def _trust(value: object) -> TrustLevel:
    try:
        return TrustLevel(str(value))
    except ValueError:
        raise ConfigurationError(f"{value!r} is not a trust level; use low, verified or high.") from None


def _check_grace(_: object, __: object, value: int) -> None:
    if not 0 <= value <= 10:
        raise ConfigurationError("The check-in code grace must be 0 to 10 steps.")


def _strip_slash(value: str) -> str:
    return value.rstrip("/")


def _names(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    return frozenset(n.strip() for n in text.split(",") if n.strip())


@attrs.frozen
class Config:
    """Settings of one :class:`~o2o_sdk.O2O` instance.

    ``secret_keys`` empty means: use a key generated on first use and kept in the database —
    convenient for the embedded default and demos, but anyone who can read the database can
    then mint vouchers, so production deployments set ``O2O_SECRET_KEYS``.
    """

    database_url: str = DEFAULT_DATABASE_URL
    secret_keys: tuple[SigningKey, ...] = ()
    base_url: str = attrs.field(
        default="https://o2o.example", converter=_strip_slash, validator=_check_base_url
    )
    #: Default lifetime of an issued voucher when neither the caller nor the offer says.
    voucher_ttl: timedelta = timedelta(days=30)
    #: Apply schema migrations when opening storage; ``None``: only for SQLite (PostgreSQL
    #: deployments run ``o2o db upgrade`` once per release).
    auto_migrate: bool | None = None
    plugins_allow: frozenset[str] | None = None
    plugins_block: frozenset[str] = frozenset()
    strict_plugins: bool = False
    #: Load third-party plugins from the ``o2o_sdk`` entry point group.
    load_entrypoints: bool = True
    #: One check-in per customer per store per window; windows start at the store's local
    #: midnight (weeks on Monday). A repeated check-in in the same window returns the first.
    checkin_window: timedelta = attrs.field(default=timedelta(days=1), validator=_check_checkin_window)
    #: Time step of the rotating in-store check-in code (TOTP-like).
    checkin_code_step: timedelta = attrs.field(default=timedelta(seconds=30), validator=_check_code_step)
    #: Steps before and after the current one still accepted (clock skew of the display).
    checkin_code_grace_steps: int = attrs.field(default=1, validator=_check_grace)
    #: Weakest check-in that unlocks an offer with ``requires_checkin`` (in the current window).
    checkin_unlock_trust: TrustLevel = attrs.field(default=TrustLevel.VERIFIED, converter=_trust)
    #: Lifetime of a customer session token (``sdk.checkins.session_token``).
    checkin_session_ttl: timedelta = timedelta(hours=12)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Config:
        """Build a configuration from ``O2O_*`` environment variables; ``overrides`` win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if url := env.get("O2O_DATABASE_URL"):
            values["database_url"] = url
        if keys := env.get("O2O_SECRET_KEYS"):
            values["secret_keys"] = tuple(parse_secret_keys(keys))
        if base := env.get("O2O_BASE_URL"):
            values["base_url"] = base.rstrip("/")
        allow = _names(env.get("O2O_PLUGINS"))
        if allow is not None:
            values["plugins_allow"] = allow
        block = _names(env.get("O2O_DISABLE_PLUGINS"))
        if block:
            values["plugins_block"] = block
        if env.get("O2O_STRICT_PLUGINS", "").lower() in ("1", "true", "yes"):
            values["strict_plugins"] = True
        values.update(overrides)
        try:
            return cls(**values)  # type: ignore[arg-type]
        except TypeError as exc:
            raise ConfigurationError(f"Unknown configuration: {exc}") from None

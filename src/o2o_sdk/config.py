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
``O2O_RETENTION``     keep personal data this long, e.g. ``400d`` (``o2o customers purge``)
``O2O_<PLUGIN>_<KEY>``   a plugin's setting, e.g. ``O2O_SHOPIFY_SHOP`` (``config.plugin_settings("shopify")``)
==================  ==============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlsplit

import attrs

from .errors import ConfigurationError
from .models import FollowupSettings, PickupSettings, TrustLevel
from .tokens import SigningKey, parse_secret_keys

__all__ = ["AttributionSettings", "Config"]

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


#: Variables of the core itself; other ``O2O_<PLUGIN>_<KEY>`` variables are plugin settings.
_CORE_VARIABLES = frozenset({
    "O2O_DATABASE_URL", "O2O_SECRET_KEYS", "O2O_BASE_URL", "O2O_PLUGINS", "O2O_DISABLE_PLUGINS",
    "O2O_STRICT_PLUGINS", "O2O_TRACE_HOOKS", "O2O_RETENTION",
})  # fmt: skip


def _plugin_config(value: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    if not isinstance(value, Mapping):
        raise ConfigurationError("Plugin settings must map plugin names to {setting: value}.")
    return {str(name).lower(): {str(k).lower(): str(v) for k, v in settings.items()} for name, settings in value.items()}


_TOUCHES = frozenset({"voucher", "checkin", "issued"})


def _check_precedence(_: object, __: object, value: tuple[str, ...]) -> None:
    if not value or set(value) - _TOUCHES or len(set(value)) != len(value):
        raise ConfigurationError("Attribution precedence lists voucher, checkin and issued, each at most once.")


@attrs.frozen
class AttributionSettings:
    """How orders are attributed (see ``docs/measurement.md``).

    An in-store order goes to the first rule of ``precedence`` that finds a touch:
    ``voucher`` (the voucher redeemed with it: on the order, or redeemed by the same customer
    at the same store within ``redemption_window`` of it), ``checkin`` (the customer's last
    check-in at that store within ``checkin_window`` before it), ``issued`` (the last voucher
    issued to the customer within ``issued_window`` before it). An online order within
    ``visit_window`` after an offline visit (check-in, redemption or in-store order) is an
    O2O2O conversion of the last visit and of the last follow-up between visit and order.
    """

    redemption_window: timedelta = timedelta(hours=2)
    checkin_window: timedelta = timedelta(hours=24)
    issued_window: timedelta = timedelta(days=30)
    visit_window: timedelta = timedelta(days=30)
    precedence: tuple[str, ...] = attrs.field(default=("voucher", "checkin", "issued"), converter=tuple, validator=_check_precedence)


def _retention(value: timedelta | None) -> timedelta | None:
    if value is not None and value <= timedelta(0):
        raise ConfigurationError("The retention of personal data must be a positive duration.")
    return value


def _duration(text: str, what: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    try:
        return timedelta(seconds=float(text[:-1]) * units[text[-1:].lower()])
    except (KeyError, ValueError):
        raise ConfigurationError(f"{what}={text!r} is not a duration; write it like 400d or 12w.") from None


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
    #: Settings of plugins and adapters by plugin name: ``{"shopify": {"shop": "…", "access_token": "…"}}``.
    #: From the environment, ``O2O_<PLUGIN>_<KEY>`` (e.g. ``O2O_SHOPIFY_ACCESS_TOKEN``). Read with
    #: :meth:`plugin_settings`; values may be secrets, so this field is left out of ``repr``.
    plugin_config: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict, converter=_plugin_config, repr=False, hash=False)
    #: Attribution windows and precedence of measurement (``sdk.analytics``).
    attribution: AttributionSettings = AttributionSettings()
    #: Personal data older than this is anonymised by ``o2o customers purge`` (``O2O_RETENTION``,
    #: e.g. ``400d``); ``None`` keeps it until a customer is forgotten.
    retention: timedelta | None = attrs.field(default=None, converter=_retention)
    #: Policy of the follow-up engine: quiet hours, caps, retries, leases, and the default flows
    #: (:class:`~o2o_sdk.models.FollowupSettings`, :class:`~o2o_sdk.models.FollowupFlows`).
    followups: FollowupSettings = attrs.field(factory=FollowupSettings)
    #: Slots, deadlines, holds and messages of pickups (:class:`~o2o_sdk.models.PickupSettings`).
    pickups: PickupSettings = attrs.field(factory=PickupSettings)

    def plugin_settings(self, name: str) -> dict[str, str]:
        """The settings of plugin ``name`` (empty when it has none)."""
        return dict(self.plugin_config.get(name.lower(), {}))

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
        if retention := env.get("O2O_RETENTION"):
            values["retention"] = _duration(retention, "O2O_RETENTION")
        if env.get("O2O_STRICT_PLUGINS", "").lower() in ("1", "true", "yes"):
            values["strict_plugins"] = True
        plugin_config: dict[str, dict[str, str]] = {}
        for var, value in env.items():
            name, _, key = var[4:].partition("_") if var.startswith("O2O_") else ("", "", "")
            if name and key and var not in _CORE_VARIABLES:
                plugin_config.setdefault(name.lower(), {})[key.lower()] = value
        if plugin_config:
            values["plugin_config"] = plugin_config
        values.update(overrides)
        try:
            return cls(**values)  # type: ignore[arg-type]
        except TypeError as exc:
            raise ConfigurationError(f"Unknown configuration: {exc}") from None

"""Settings of the POS adapter, in code or from ``O2O_POS_*`` variables."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from o2o_sdk import ConfigurationError
from o2o_sdk.http import Secret

from .signature import DEFAULT_REPLAY_WINDOW

__all__ = ["PosSettings"]


def _secrets(value: object) -> tuple[Secret, ...]:
    """``"new,old"`` (as in the environment), or a sequence of strings or :class:`Secret`."""
    if isinstance(value, Secret):
        return (value,) if value.value.strip() else ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(v if isinstance(v, Secret) else Secret(str(v).strip()) for v in value if str(getattr(v, "value", v)).strip())  # type: ignore[attr-defined]


@attrs.frozen
class PosSettings:
    """How the shop's POS signs its webhooks.

    ``O2O_POS_WEBHOOK_SECRETS=new-secret,old-secret`` (newest first; every one is accepted, so a
    secret can be rotated without losing deliveries) and ``O2O_POS_REPLAY_WINDOW=300``.
    """

    #: Shared secrets the POS signs with; at least one.
    webhook_secrets: tuple[Secret, ...] = attrs.field(converter=_secrets)
    #: Seconds a signature's timestamp may differ from the SDK's clock (past or future).
    replay_window: int = DEFAULT_REPLAY_WINDOW

    def __attrs_post_init__(self) -> None:
        if not self.webhook_secrets:
            raise ConfigurationError("The POS adapter needs at least one webhook secret (O2O_POS_WEBHOOK_SECRETS).")
        if any(len(s.value) < 16 for s in self.webhook_secrets):
            raise ConfigurationError("A POS webhook secret must be at least 16 characters long; generate one with"
                                     " `python -c 'import secrets; print(secrets.token_hex(32))'`.")  # fmt: skip
        if isinstance(self.replay_window, bool) or not isinstance(self.replay_window, int) or self.replay_window <= 0:
            raise ConfigurationError(f"The POS replay window must be a positive number of seconds, got {self.replay_window!r}.")

    @classmethod
    def from_mapping(cls, settings: Mapping[str, str]) -> PosSettings | None:
        """Settings from ``config.plugin_settings("pos")``; ``None`` when no secret is configured."""
        if not (settings.get("webhook_secrets") or "").strip():
            return None
        window = DEFAULT_REPLAY_WINDOW
        if raw := settings.get("replay_window"):
            try:
                window = int(raw)
            except ValueError:
                raise ConfigurationError(f"O2O_POS_REPLAY_WINDOW must be a whole number of seconds, got {raw!r}.") from None
        return cls(webhook_secrets=settings["webhook_secrets"], replay_window=window)

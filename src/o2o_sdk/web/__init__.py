"""``o2o_sdk.web``: the embeddable web surface (``pip install 'o2o-sdk[web]'``).

:func:`create_app` returns an ASGI app (Starlette) to mount under any prefix: customer pages
(voucher ``/o/<token>``, store locator and widget, check-in ``/c/<code>``, unsubscribe), the
POS API with store-scoped keys (``/api/pos/v1/…``, OpenAPI at ``/api/openapi.json``) and staff
pages. See ``docs/web.md``.

Only :func:`create_app` needs Starlette; :mod:`o2o_sdk.web.keys`, :mod:`o2o_sdk.web.limits`,
:mod:`o2o_sdk.web.logs` and the POS client :mod:`o2o_sdk.web.client` (httpx) do not, and
importing this package does not import Starlette until ``create_app`` is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .keys import ALL_STORES, ApiKeys
from .limits import RateLimit, RateLimiter, TokenBucketLimiter
from .logs import MaskSecretsFilter, mask_secrets

if TYPE_CHECKING:
    from ._app import create_app

__all__ = [
    "ALL_STORES",
    "ApiKeys",
    "MaskSecretsFilter",
    "RateLimit",
    "RateLimiter",
    "TokenBucketLimiter",
    "create_app",
    "mask_secrets",
]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        try:
            from ._app import create_app
        except ImportError as exc:  # pragma: no cover - exercised only without the extra
            from ..errors import ConfigurationError

            raise ConfigurationError(f"The web app needs the web extra: pip install 'o2o-sdk[web]' ({exc}).") from exc
        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Opening hours of a store, evaluated in the store's own IANA time zone.

(The full model — weekly intervals, overnight intervals, special dates and closures — is
built out by the store-locator work; this module is its home.)
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["OpeningHours"]


@attrs.frozen
class OpeningHours:
    """Weekly opening hours plus exceptions."""

    weekly: dict[str, Any] = attrs.field(factory=dict, hash=False)

"""The journal event types measurement reads and writes, in one place.

Measurement consumes events written by other parts of the SDK (offers, check-in, orders,
follow-ups) and writes three of its own. The names are plain strings so a shop whose
follow-up or order events are named differently can pass its own :class:`EventNames` to
:class:`~o2o_sdk.analytics.Analytics` (``sdk.analytics.events = EventNames(...)``).
"""

from __future__ import annotations

import attrs

from ..models import EventType, FollowUpEvent

__all__ = [
    "FOLLOWUP_CLICKED",
    "FOLLOWUP_DELIVERED",
    "STORE_SEARCHED",
    "VOUCHER_VIEWED",
    "EventNames",
]

#: Journaled by ``sdk.analytics.record_view`` when a customer opens their voucher page.
VOUCHER_VIEWED = "voucher_viewed"
#: Journaled by ``sdk.stores.near`` (and the searches built on it) for every store search.
STORE_SEARCHED = "store_searched"
#: Journaled by the follow-up worker when a channel accepted a message (``FollowUpEvent.SENT``).
FOLLOWUP_DELIVERED = FollowUpEvent.SENT.value
#: Journaled by ``sdk.analytics.record_click`` when a customer follows a follow-up's link.
FOLLOWUP_CLICKED = "followup_clicked"


@attrs.frozen
class EventNames:
    """Which journal event types stand for which measured fact."""

    issued: str = EventType.ISSUED.value
    viewed: str = VOUCHER_VIEWED
    searched: str = STORE_SEARCHED
    checked_in: str = EventType.CHECKED_IN.value
    redeemed: str = EventType.REDEEMED.value
    voided: str = EventType.VOIDED.value
    followup_delivered: str = FOLLOWUP_DELIVERED
    followup_clicked: str = FOLLOWUP_CLICKED
    order_in_store: str = EventType.ORDER_IN_STORE.value
    order_online: str = EventType.ORDER_ONLINE.value

    @property
    def orders(self) -> tuple[str, str]:
        """Both order event types (in store first)."""
        return (self.order_in_store, self.order_online)

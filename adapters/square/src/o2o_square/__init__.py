"""o2o-square: the Square adapter for o2o-sdk (Square API, ``Square-Version`` 2025-08-20).

::

    from o2o_sdk import O2O
    from o2o_square import SquareAdapter, SquareSettings

    square = SquareAdapter(SquareSettings(access_token="EAAA…", webhook_signature_keys=["…"],
                                          notification_url="https://shop.example/webhooks/square"))
    sdk = O2O(plugins=[square])
    sdk.stores.sync()                                  # locations -> stores, with hours and time zones
    sdk.adapters.mirror_offer("square", offer.id)      # offer -> catalog discount

Or configure ``O2O_SQUARE_ACCESS_TOKEN`` (and ``O2O_SQUARE_ENVIRONMENT``,
``O2O_SQUARE_WEBHOOK_SIGNATURE_KEYS``, ``O2O_SQUARE_NOTIFICATION_URL`` …): the ``square`` entry
point then registers the adapter in every SDK instance.
"""

from .adapter import SquareAdapter
from .client import DEFAULT_SQUARE_VERSION, ENVIRONMENTS, SquareClient, SquareSettings, idempotency_key
from .hours import opening_hours
from .orders import FULFILLMENT_STATE, order_event
from .webhooks import SIGNATURE_HEADER, parse_notification, sign, verify_signature

__all__ = [
    "DEFAULT_SQUARE_VERSION",
    "ENVIRONMENTS",
    "FULFILLMENT_STATE",
    "SIGNATURE_HEADER",
    "SquareAdapter",
    "SquareClient",
    "SquareSettings",
    "idempotency_key",
    "opening_hours",
    "order_event",
    "parse_notification",
    "sign",
    "verify_signature",
]

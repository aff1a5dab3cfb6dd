"""o2o-woocommerce: the WooCommerce adapter for o2o-sdk (REST API v3, order webhooks, local pickup).

::

    from o2o_sdk import O2O
    from o2o_woocommerce import WooCommerceAdapter, WooCommerceSettings

    woo = WooCommerceAdapter(WooCommerceSettings(url="https://shop.example", consumer_key="ck_…",
                                                 consumer_secret="cs_…", webhook_secrets=["…"]))
    sdk = O2O(plugins=[woo])
    sdk.adapters.mirror_offer("woocommerce", offer.id)    # offer -> coupon

Or configure ``O2O_WOOCOMMERCE_URL``, ``O2O_WOOCOMMERCE_KEY``, ``O2O_WOOCOMMERCE_SECRET``,
``O2O_WOOCOMMERCE_WEBHOOK_SECRETS`` (and optionally the store mapping, see the README): the
``woocommerce`` entry point then registers the adapter in every SDK instance.
"""

from .adapter import OFFER_META_KEY, ImportReport, WooCommerceAdapter, coupon_body
from .client import (
    API_PATH,
    DEFAULT_IN_STORE_CREATED_VIA,
    DEFAULT_ORDER_STATUSES,
    MAX_PER_PAGE,
    WooCommerceREST,
    WooCommerceSettings,
    oauth1_query,
    percent_encode,
    signature_base_string,
)
from .webhooks import (
    CANCELLED_STATUSES,
    DELETED_TOPIC,
    ORDER_TOPICS,
    PICKUP_METHODS,
    SUBSCRIBED_TOPICS,
    is_ping,
    parse_order,
    sign,
    signing_key,
    verify_signature,
)

__all__ = [
    "API_PATH",
    "CANCELLED_STATUSES",
    "DEFAULT_IN_STORE_CREATED_VIA",
    "DELETED_TOPIC",
    "DEFAULT_ORDER_STATUSES",
    "MAX_PER_PAGE",
    "OFFER_META_KEY",
    "ORDER_TOPICS",
    "PICKUP_METHODS",
    "SUBSCRIBED_TOPICS",
    "ImportReport",
    "WooCommerceAdapter",
    "WooCommerceREST",
    "WooCommerceSettings",
    "coupon_body",
    "is_ping",
    "oauth1_query",
    "parse_order",
    "percent_encode",
    "sign",
    "signature_base_string",
    "signing_key",
    "verify_signature",
]

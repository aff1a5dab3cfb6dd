"""o2o-shopify: the Shopify adapter for o2o-sdk (Admin GraphQL API, order webhooks).

::

    from o2o_sdk import O2O
    from o2o_shopify import ShopifyAdapter, ShopifySettings

    shopify = ShopifyAdapter(ShopifySettings(shop="my-shop", access_token="shpat_…", webhook_secrets=["…"]))
    sdk = O2O(plugins=[shopify])
    sdk.stores.sync()                                   # locations -> stores
    sdk.adapters.mirror_offer("shopify", offer.id)      # offer -> discount code

Or configure ``O2O_SHOPIFY_SHOP``, ``O2O_SHOPIFY_ACCESS_TOKEN``, ``O2O_SHOPIFY_WEBHOOK_SECRETS``
(and optionally ``O2O_SHOPIFY_API_VERSION``, ``O2O_SHOPIFY_LOCATIONS``,
``O2O_SHOPIFY_PICKUP_LOOKUP``): the ``shopify`` entry point then registers the adapter in every
SDK instance. Local-pickup orders become SDK pickups, and their steps are told back to Shopify
(see the README).
"""

from .adapter import ShopifyAdapter
from .client import DEFAULT_API_VERSION, ShopifyGraphQL, ShopifySettings, throttle_wait
from .webhooks import location_gid, sign, verify_signature

__all__ = [
    "DEFAULT_API_VERSION",
    "ShopifyAdapter",
    "ShopifyGraphQL",
    "ShopifySettings",
    "location_gid",
    "sign",
    "throttle_wait",
    "verify_signature",
]

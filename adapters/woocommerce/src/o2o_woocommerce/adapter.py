"""The WooCommerce adapter: offers as coupons, customers, order webhooks, local-pickup orders."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs
import httpx

from o2o_sdk import (
    AdapterBase,
    Capability,
    DiscountKind,
    InvalidInput,
    NotFound,
    Offer,
    OfferMirror,
    OrderEvent,
    PickupState,
    PlatformCustomer,
    PlatformDiscount,
    WebhookRequest,
)
from o2o_sdk.http import PlatformError, RetryPolicy

from .client import WooCommerceREST, WooCommerceSettings
from .webhooks import SUBSCRIBED_TOPICS, is_ping, meta_value, parse_delivery, parse_order

if TYPE_CHECKING:
    from o2o_sdk import O2O, Pickup

__all__ = ["OFFER_META_KEY", "ImportReport", "WooCommerceAdapter", "coupon_body"]

log = logging.getLogger("o2o_woocommerce")

#: Coupon meta key holding the id of the offer a coupon mirrors.
OFFER_META_KEY = "_o2o_offer_id"
_DUPLICATE_CODE = "woocommerce_rest_coupon_code_already_exists"


def _decimal_text(value: Decimal) -> str:
    """``15`` not ``1.5E+1``; ``12.5`` not ``12.50``."""
    return f"{value.normalize():f}"


def _emails(value: Any) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if items is None:
        raise InvalidInput("offer.metadata['email_restrictions'] must be a list of emails or a comma-separated string.")
    emails = [str(e).strip() for e in items if str(e).strip()]
    bad = [e for e in emails if "@" not in e]
    if bad:
        raise InvalidInput(f"{bad[0]!r} in offer.metadata['email_restrictions'] is not an email address.")
    return emails


def coupon_body(offer: Offer, code: str, *, product_id: int | None = None, now: datetime,
                timezone: str = "UTC") -> dict[str, Any]:  # fmt: skip
    """The ``POST /coupons`` body mirroring ``offer`` (``shop_coupon``).

    - percent -> ``percent``; amount -> ``fixed_cart``; a free item -> ``percent`` 100 on that one
      product (``product_ids``), one unit (``limit_usage_to_x_items``), so the coupon never gives
      more than the item whatever its price becomes. ``amount`` is a decimal string.
    - ``ends_at`` -> ``date_expires_gmt`` (an absolute instant) or ``date_expires`` (a naive,
      store-local time is read in the site's zone by WooCommerce).
    - caps: ``total`` -> ``usage_limit``, ``per_customer`` -> ``usage_limit_per_user``;
      ``min_basket`` -> ``minimum_amount``; ``offer.metadata["email_restrictions"]`` -> ``email_restrictions``.
    - The offer id travels in the coupon's meta (``_o2o_offer_id``).

    Refused (``InvalidInput``, ``unsupported_discount``) because a coupon cannot honour them:
    a start in the future (coupons have no start date), a budget cap, a check-in requirement.
    """
    discount = offer.discount
    if offer.requires_checkin:
        raise InvalidInput(f"Offer {offer.id} needs a check-in in store; a WooCommerce coupon cannot require one.",
                           code="unsupported_discount")  # fmt: skip
    if offer.caps.budget is not None:
        raise InvalidInput(f"Offer {offer.id} has a budget cap of {offer.caps.budget}; WooCommerce coupons cannot stop at a "
                           "budget, only at a number of uses.", code="unsupported_discount")  # fmt: skip
    if offer.starts_at is not None:
        start = offer.starts_at if offer.starts_at.tzinfo else offer.starts_at.replace(tzinfo=ZoneInfo(timezone))
        if start > now:
            raise InvalidInput(f"Offer {offer.id} starts at {start.isoformat()}; WooCommerce coupons have no start date, "
                               "so mirror the offer once it has started.", code="unsupported_discount")  # fmt: skip
    body: dict[str, Any] = {"code": code, "description": offer.title[:200], "individual_use": True,
                            "meta_data": [{"key": OFFER_META_KEY, "value": offer.id}]}  # fmt: skip
    if discount.kind is DiscountKind.PERCENT and discount.percent is not None:
        body.update(discount_type="percent", amount=_decimal_text(discount.percent))
    elif discount.kind is DiscountKind.AMOUNT and discount.amount is not None:
        body.update(discount_type="fixed_cart", amount=str(discount.amount.amount))
    else:
        if product_id is None:
            raise InvalidInput(f"Offer {offer.id} gives a free {discount.sku}: WooCommerce needs the product id "
                               "(offer.metadata['woocommerce_product_id'] or a product with that SKU).",
                               code="unsupported_discount")  # fmt: skip
        body.update(discount_type="percent", amount="100", product_ids=[product_id], limit_usage_to_x_items=1)
    if offer.ends_at is not None:
        if offer.ends_at.tzinfo is None:
            body["date_expires"] = offer.ends_at.replace(microsecond=0).isoformat()
        else:
            body["date_expires_gmt"] = offer.ends_at.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()
    if offer.caps.total is not None:
        body["usage_limit"] = offer.caps.total
    if offer.caps.per_customer is not None:
        body["usage_limit_per_user"] = offer.caps.per_customer
    if offer.min_basket is not None:
        body["minimum_amount"] = str(offer.min_basket.amount)
    emails = _emails(offer.metadata.get("email_restrictions"))
    if emails:
        body["email_restrictions"] = emails
    return body


@attrs.frozen
class ImportReport:
    """What :meth:`WooCommerceAdapter.import_orders` did."""

    seen: int = 0
    recorded: int = 0
    duplicates: int = 0
    #: Orders whose status is not a sale (``settings.order_statuses``), cancelled ones included
    #: (those are still given to ``sdk.orders.record``, which cancels their pickups).
    skipped: int = 0


class WooCommerceAdapter(AdapterBase):
    """One WooCommerce site, through the REST API v3.

    Register it in code (``O2O(plugins=[WooCommerceAdapter(settings)])``) or configure
    ``O2O_WOOCOMMERCE_URL`` / ``_KEY`` / ``_SECRET`` / ``_WEBHOOK_SECRETS`` and let the
    ``woocommerce`` entry point register it. WooCommerce core has no stores or per-store stock,
    so the adapter declares neither: stores are the SDK's own, and orders reach them through
    the order meta field or the configured pickup locations (see :class:`WooCommerceSettings`).
    """

    name = "woocommerce"
    capabilities = frozenset({Capability.DISCOUNTS, Capability.CUSTOMERS, Capability.WEBHOOKS, Capability.PICKUPS})

    def __init__(self, settings: WooCommerceSettings, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, retry: RetryPolicy | None = None,
                 clock: Callable[[], float] = time.time, nonce: Callable[[], str] | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.rest = WooCommerceREST(settings, transport=transport, sleep=sleep, retry=retry, clock=clock, nonce=nonce)
        self._currency: str | None = settings.currency

    def close(self) -> None:
        """Close the HTTP client."""
        self.rest.close()

    def __repr__(self) -> str:
        return f"<WooCommerceAdapter {self.settings.url} ({self.settings.auth_method})>"

    # ------------------------------------------------------------------ shop facts
    def shop_currency(self) -> str:
        """The shop's currency (``O2O_WOOCOMMERCE_CURRENCY``, else asked once)."""
        if self._currency is None:
            data = self.rest.get("/data/currencies/current")
            code = data.get("code") if isinstance(data, dict) else None
            if not isinstance(code, str) or len(code) != 3:
                raise PlatformError("WooCommerce did not say which currency the shop uses.", platform="woocommerce",
                                    code="platform_bad_answer")  # fmt: skip
            self._currency = code.upper()
        return self._currency

    def product_id_for_sku(self, sku: str) -> int | None:
        """The id of the product (or variation) with this SKU, if any."""
        for product in self.rest.get("/products", {"sku": sku}) or []:
            if (
                isinstance(product, dict)
                and str(product.get("sku") or "") == sku
                and isinstance(product.get("id"), int)
            ):
                return int(product["id"])
        return None

    # ------------------------------------------------------------------ discounts
    def find_coupon(self, code: str) -> dict[str, Any] | None:
        """The coupon with this code (WooCommerce compares codes without case), if any."""
        found = self.rest.get("/coupons", {"code": code})
        for coupon in found if isinstance(found, list) else []:
            if isinstance(coupon, dict) and str(coupon.get("code") or "").casefold() == code.casefold():
                return coupon
        return None

    def _discount(self, coupon: dict[str, Any], offer: Offer) -> PlatformDiscount:
        owner = meta_value(coupon.get("meta_data"), OFFER_META_KEY)
        if owner not in (None, "", offer.id):
            raise InvalidInput(
                f"The WooCommerce coupon {coupon.get('code')!r} already mirrors offer {owner}.", code="code_taken"
            )
        usage = coupon.get("usage_count")
        return PlatformDiscount(str(coupon["id"]), str(coupon.get("code")), usage if isinstance(usage, int) else 0)

    def mirror_offer(self, sdk: O2O, offer: Offer, code: str) -> PlatformDiscount:
        """Create the offer's coupon (:func:`coupon_body`). Safe to retry: WooCommerce refuses a
        second coupon with the same code (``woocommerce_rest_coupon_code_already_exists``), and the
        existing one is then looked up and returned; so the create itself may be retried too."""
        discount = offer.discount
        amounts = [m for m in (discount.amount, offer.min_basket) if m is not None]
        if amounts:  # a coupon's amounts are in the shop's currency, whatever the offer says
            shop_currency = self.shop_currency()
            for money in amounts:
                if money.currency != shop_currency:
                    raise InvalidInput(f"Offer {offer.id} is in {money.currency} but the WooCommerce shop sells in "
                                       f"{shop_currency}.", code="currency_mismatch")  # fmt: skip
        product_id = None
        if discount.kind is DiscountKind.FREE_ITEM and discount.sku:
            given = offer.metadata.get("woocommerce_product_id")
            product_id = (
                int(given)
                if isinstance(given, (int, str)) and str(given).isdigit()
                else self.product_id_for_sku(discount.sku)
            )
        body = coupon_body(offer, code, product_id=product_id, now=sdk.clock.now(), timezone=self.settings.timezone)
        try:
            coupon = self.rest.call("POST", "/coupons", json_body=body, idempotent=True)
        except PlatformError as exc:
            if exc.platform_code == _DUPLICATE_CODE and (existing := self.find_coupon(code)) is not None:
                return self._discount(existing, offer)
            raise
        if not isinstance(coupon, dict) or not coupon.get("id"):
            raise PlatformError(
                "WooCommerce created no coupon and gave no reason.", platform="woocommerce", code="platform_bad_answer"
            )
        return self._discount(coupon, offer)

    def discount_usage(self, sdk: O2O, mirror: OfferMirror) -> int:
        """``usage_count`` of the mirrored coupon."""
        coupon = self.rest.get(f"/coupons/{mirror.discount_id}")
        usage = coupon.get("usage_count") if isinstance(coupon, dict) else None
        if not isinstance(usage, int) or isinstance(usage, bool):
            raise PlatformError(f"WooCommerce gave no usage count for coupon {mirror.discount_id}.", platform="woocommerce",
                                code="platform_bad_answer")  # fmt: skip
        return usage

    # ------------------------------------------------------------------ customers
    def lookup_customer(self, sdk: O2O, email: str) -> PlatformCustomer | None:
        """``GET /customers?email=`` (every role, not only ``customer``); guests have no account."""
        for c in self.rest.get("/customers", {"email": email, "role": "all"}) or []:
            if isinstance(c, dict) and str(c.get("email") or "").casefold() == email.casefold() and c.get("id"):
                return PlatformCustomer(self.name, str(c["id"]), c.get("email"), c.get("first_name") or None,
                                        c.get("last_name") or None,
                                        {"username": c.get("username"), "is_paying_customer": c.get("is_paying_customer")})  # fmt: skip
        return None

    # ------------------------------------------------------------------ orders
    def iter_orders(self, *, status: str | None = None, after: datetime | None = None,
                    per_page: int | None = None) -> Iterator[dict[str, Any]]:  # fmt: skip
        """Every order (of a status, created after a time), oldest first, page by page up to
        ``X-WP-TotalPages`` with ``per_page`` at most 100."""
        params: dict[str, Any] = {"order": "asc", "orderby": "date"}
        if status:
            params["status"] = status
        if after is not None:
            if after.tzinfo is None:
                raise InvalidInput("Give 'after' with a time zone.")
            params["after"] = after.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()
            params["dates_are_gmt"] = "true"
        return self.rest.pages("/orders", params, per_page=per_page)

    def _is_store(self, sdk: O2O) -> Callable[[str], bool]:
        def is_store(value: str) -> bool:
            try:
                sdk.stores.get(value)
            except NotFound:
                return False
            return True

        return is_store

    def import_orders(self, sdk: O2O, *, after: datetime | None = None, status: str | None = None,
                      progress: Callable[[], None] | None = None) -> ImportReport:  # fmt: skip
        """Record past orders (a backfill) as the webhooks would; each order is recorded once."""
        seen = recorded = duplicates = skipped = 0
        is_store = self._is_store(sdk)
        for payload in self.iter_orders(status=status, after=after):
            seen += 1
            event = parse_order(payload, self.settings, is_store=is_store, topic="import")
            if event is None:
                skipped += 1
            elif event.cancelled:
                sdk.orders.record(event)  # records nothing; cancels the order's pickup if it is open
                skipped += 1
            elif sdk.orders.record(event).recorded:
                recorded += 1
            else:
                duplicates += 1
            if progress is not None:
                progress()
        return ImportReport(seen, recorded, duplicates, skipped)

    # ------------------------------------------------------------------ webhooks
    def parse_webhook(self, sdk: O2O, request: WebhookRequest) -> list[OrderEvent]:
        """The creation ping -> ``[]`` unverified; otherwise verify, then parse ``order.*`` topics
        (``order.deleted``: the order's pickup, if open, is cancelled)."""
        if is_ping(request):
            log.info("woocommerce webhook ping acknowledged")
            return []
        if not self.settings.webhook_secrets:
            raise InvalidInput("WooCommerce webhooks need their secret (O2O_WOOCOMMERCE_WEBHOOK_SECRETS).",
                               code="webhook_secret_missing")  # fmt: skip
        return parse_delivery(request, self.settings, self._is_store(sdk), now=sdk.clock.now())

    def subscribe_webhooks(
        self, delivery_url: str, topics: frozenset[str] = SUBSCRIBED_TOPICS
    ) -> list[tuple[str, str, bool]]:
        """Create the site's webhooks for ``topics`` to ``delivery_url``, signed with the newest
        webhook secret; active ones already there are kept. ``[(topic, webhook id, created)]``."""
        if not self.settings.webhook_secrets:
            raise InvalidInput("Set O2O_WOOCOMMERCE_WEBHOOK_SECRETS first: the webhooks are signed with it.",
                               code="webhook_secret_missing")  # fmt: skip
        existing = {
            (w.get("topic"), w.get("delivery_url")): w for w in self.rest.pages("/webhooks", {"status": "active"})
        }
        out = []
        for topic in sorted(topics):
            found = existing.get((topic, delivery_url))
            if found is not None:
                out.append((topic, str(found.get("id")), False))
                continue
            made = self.rest.call("POST", "/webhooks", json_body={
                "name": f"o2o-sdk {topic}", "status": "active", "topic": topic, "delivery_url": delivery_url,
                "secret": self.settings.webhook_secrets[0].value,
            })  # fmt: skip
            out.append((topic, str(made.get("id") if isinstance(made, dict) else ""), True))
        return out

    # ------------------------------------------------------------------ pickups
    def pickup_changed(self, sdk: O2O, pickup: Pickup, previous: PickupState) -> None:
        """Follow a pickup on its WooCommerce order. WooCommerce has no "ready for pickup" status:

        - ``ready`` -> a private order note (not e-mailed: the SDK sends the customer's pass);
        - ``handed_over`` -> status ``completed``;
        - ``cancelled`` / ``released`` -> a private note saying why, then status ``cancelled``;
        - other steps are not told. Notes carry a marker and are looked up before being added,
          and setting a status is idempotent, so a repeated call changes nothing.

        A pickup cancelled because the order was cancelled, refunded or failed on WooCommerce is
        not told back (the SDK does not call this for it); the ``order.updated`` WooCommerce
        sends after this sets ``cancelled`` finds the pickup ended and changes nothing.
        """
        order_id = pickup.order_id
        if not order_id:
            return
        state = pickup.state
        if state is PickupState.READY:
            where = self._store_name(sdk, pickup.store_id)
            until = f"; to be collected by {pickup.deadline.isoformat()}" if pickup.deadline else ""
            self._note_once(order_id, pickup, f"Ready for pickup at {where}{until}.")
        elif state is PickupState.HANDED_OVER:
            self._set_status(order_id, "completed")
        elif state in (PickupState.CANCELLED, PickupState.RELEASED):
            why = pickup.reason or ("not collected in time" if state is PickupState.RELEASED else "cancelled")
            verb = "Released, not collected" if state is PickupState.RELEASED else "Pickup cancelled"
            self._note_once(order_id, pickup, f"{verb}: {why}.")
            self._set_status(order_id, "cancelled")

    @staticmethod
    def _store_name(sdk: O2O, store_id: str) -> str:
        try:
            return sdk.stores.get(store_id).name
        except NotFound:
            return store_id

    def _set_status(self, order_id: str, status: str) -> None:
        self.rest.call("PUT", f"/orders/{order_id}", json_body={"status": status})

    def _note_once(self, order_id: str, pickup: Pickup, text: str) -> None:
        marker = f"[o2o pickup {pickup.id} {pickup.state.value}]"
        notes = self.rest.get(f"/orders/{order_id}/notes", {"type": "internal"})
        if any(isinstance(n, dict) and marker in str(n.get("note") or "") for n in notes or []):
            return
        self.rest.call(
            "POST", f"/orders/{order_id}/notes", json_body={"note": f"{text} {marker}", "customer_note": False}
        )

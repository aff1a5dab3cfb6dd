"""The POS adapter: signed sale events in, orders recorded through ``sdk.orders.record``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from o2o_sdk import AdapterBase, Capability, OrderEvent, WebhookRejected, WebhookRequest

from .contract import SaleEventInvalid, parse_sale_event
from .sales import PLATFORM, SaleProblem, StoreDirectory, to_order
from .settings import PosSettings
from .signature import SIGNATURE_HEADER, verify_signature

if TYPE_CHECKING:
    from o2o_sdk import O2O

__all__ = ["PosAdapter"]


class PosAdapter(AdapterBase):
    """The shop's own POS, reporting completed sales as signed webhooks (``POST /webhooks/pos``).

    Register it in code (``O2O(plugins=[PosAdapter(PosSettings(webhook_secrets=[...]))])``) or
    set ``O2O_POS_WEBHOOK_SECRETS`` and let the ``inhouse_pos`` entry point register it. A sale's
    ``store`` is an SDK store id or the POS's store code in ``Store.external_ids["pos"]``.
    CSV uploads (:func:`o2o_pos.import_csv`) need no adapter.
    """

    name = PLATFORM
    capabilities = frozenset({Capability.WEBHOOKS})

    def __init__(self, settings: PosSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"<PosAdapter {len(self.settings.webhook_secrets)} secret(s), replay window {self.settings.replay_window} s>"

    def parse_webhook(self, sdk: O2O, request: WebhookRequest) -> list[OrderEvent]:
        """Verify ``O2O-Signature`` (HMAC, then the replay window on ``sdk.clock``), then read
        the sale event: one :class:`~o2o_sdk.OrderEvent` with ``delivery_id`` = the event id."""
        verify_signature(request.body, request.header(SIGNATURE_HEADER), self.settings.webhook_secrets,
                         now=sdk.clock.now().timestamp(), replay_window=self.settings.replay_window)  # fmt: skip
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookRejected(f"POS webhook: the body is not JSON ({exc}).", code="malformed_payload") from None
        try:
            sale = parse_sale_event(payload)
        except SaleEventInvalid as exc:
            raise WebhookRejected(f"POS sale event: {exc.message}", code="malformed_payload") from None
        try:
            return [to_order(sale, StoreDirectory(sdk.stores.list()), source="webhook")]
        except SaleProblem as exc:
            raise WebhookRejected(f"POS sale {sale.sale_id}: {exc.message}", code=exc.code) from None

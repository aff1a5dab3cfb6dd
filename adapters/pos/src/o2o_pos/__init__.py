"""o2o-pos: the adapter for a shop's own (in-house) POS software.

A POS reports completed sales to o2o-sdk in one documented JSON contract, either as signed
webhooks or as CSV batch uploads; both become the same :class:`~o2o_sdk.OrderEvent` recorded
through ``sdk.orders.record``, so vouchers used at the till are attributed::

    from o2o_sdk import O2O
    from o2o_pos import PosAdapter, PosSettings, import_csv, load_mapping, sign

    sdk = O2O(plugins=[PosAdapter(PosSettings(webhook_secrets=["…"]))])  # POST /webhooks/pos
    report = import_csv(sdk, "sales.csv", load_mapping("mapping.toml"))   # or a CSV upload
    header = sign(body, "…", timestamp)                                   # for POS developers

Or set ``O2O_POS_WEBHOOK_SECRETS`` (and optionally ``O2O_POS_REPLAY_WINDOW``): the
``inhouse_pos`` entry point then registers the adapter in every SDK instance. See
``docs/adapters/pos.md``.
"""

from .adapter import PosAdapter
from .contract import EVENT_TYPE, SaleEventInvalid, Violation, parse_sale_event, schema, validate_sale_event
from .csv_import import CsvMapping, ImportReport, Layout, RowError, import_csv, import_stream, load_mapping
from .sales import PLATFORM, Channel, Problem, Sale, SaleItem, SalePickup, SaleProblem, StoreDirectory, to_order
from .settings import PosSettings
from .signature import DEFAULT_REPLAY_WINDOW, SIGNATURE_HEADER, sign, signature, verify_signature

__all__ = [
    "DEFAULT_REPLAY_WINDOW",
    "EVENT_TYPE",
    "PLATFORM",
    "SIGNATURE_HEADER",
    "Channel",
    "CsvMapping",
    "ImportReport",
    "Layout",
    "PosAdapter",
    "PosSettings",
    "Problem",
    "RowError",
    "Sale",
    "SaleEventInvalid",
    "SaleItem",
    "SalePickup",
    "SaleProblem",
    "StoreDirectory",
    "Violation",
    "import_csv",
    "import_stream",
    "load_mapping",
    "parse_sale_event",
    "schema",
    "sign",
    "signature",
    "to_order",
    "validate_sale_event",
    "verify_signature",
]

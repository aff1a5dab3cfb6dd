"""The cattrs converter factory. Each :class:`~o2o_sdk.O2O` builds its own; none is global."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import cattrs
from cattrs.preconf.json import make_converter as _make_json_converter

from .hours import OpeningHours

__all__ = ["make_converter"]


def make_converter() -> cattrs.Converter:
    """A converter for every SDK model, producing JSON-ready primitives.

    Datetimes become ISO 8601 strings (naive ones stay naive: they mean store-local wall
    time), decimals become strings, timedeltas seconds.
    """
    conv = _make_json_converter()
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(datetime, lambda v, _: v if isinstance(v, datetime) else datetime.fromisoformat(v))
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, lambda v, _: Decimal(str(v)))
    conv.register_unstructure_hook(timedelta, lambda v: v.total_seconds())
    conv.register_structure_hook(timedelta, lambda v, _: timedelta(seconds=float(v)))
    # Opening hours use their documented JSON form (docs/locator.md), not attrs' field layout.
    conv.register_unstructure_hook(OpeningHours, OpeningHours.to_dict)
    conv.register_structure_hook(OpeningHours, lambda v, _: OpeningHours.parse(v))
    return conv

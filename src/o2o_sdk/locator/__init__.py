"""The store locator: exact nearest-store search with opening-hours, service and stock filters.

``sdk.stores.near(...)`` is the entry point (see :class:`o2o_sdk.stores.Stores`); this package
holds the pieces: the in-memory indexes, the search, and GeoJSON/CSV import and export.
See ``docs/locator.md``.
"""

from ._index import GridIndex, KDTreeIndex, StoreIndex, build_index, fast_index_available
from ._io import CSV_COLUMNS, parse_csv, parse_geojson, store_to_feature, write_csv, write_geojson
from ._models import ImportReport, RowError, StoreMatch, StoreQuery, SyncReport
from ._search import MAX_RESULTS, search

__all__ = [
    "CSV_COLUMNS",
    "MAX_RESULTS",
    "GridIndex",
    "ImportReport",
    "KDTreeIndex",
    "RowError",
    "StoreIndex",
    "StoreMatch",
    "StoreQuery",
    "SyncReport",
    "build_index",
    "fast_index_available",
    "parse_csv",
    "parse_geojson",
    "search",
    "store_to_feature",
    "write_csv",
    "write_geojson",
]

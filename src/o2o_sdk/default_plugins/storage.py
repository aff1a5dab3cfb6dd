"""Default storage provider: ``sqlite:///`` and ``postgresql://`` URLs."""

from __future__ import annotations

import cattrs

from ..hookspecs import hookimpl
from ..storage import Storage


@hookimpl(trylast=True)
def o2o_provide_storage(url: str, converter: cattrs.Converter) -> Storage | None:
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from ..storage.sqlite import SQLiteStorage

        return SQLiteStorage(url, converter)
    if scheme in ("postgresql", "postgres"):
        from ..storage.postgres import PostgresStorage

        return PostgresStorage(url, converter)
    return None

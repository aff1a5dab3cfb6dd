"""``o2o db``: schema management."""

from __future__ import annotations

import argparse

from ..config import Config
from ..converter import make_converter
from ..errors import ConfigurationError
from ..plugins import PluginHost
from ..storage import Storage
from ..storage._migrations import MIGRATIONS


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="database schema")
    dbsub = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    dbsub.add_parser("upgrade", help="apply pending schema migrations").set_defaults(func_nosdk=_upgrade)
    dbsub.add_parser("version", help="print the schema version").set_defaults(func_nosdk=_version)


def _open(args: argparse.Namespace) -> Storage:
    # Opened without O2O(), which refuses a schema that is not current.
    config = Config.from_env(**({"database_url": args.database} if args.database else {}))
    host = PluginHost(config)
    host.load_entrypoints()
    storage = host.provide_storage(config.database_url, make_converter())
    if storage is None:
        raise ConfigurationError(f"No storage plugin handles {config.database_url.split(':', 1)[0]!r} URLs.")
    return storage


def _upgrade(args: argparse.Namespace) -> int:
    storage = _open(args)
    try:
        applied = storage.migrate()
    finally:
        storage.close()
    if applied:
        print(f"applied migrations {', '.join(map(str, applied))}; schema at version {applied[-1]}")
    else:
        print(f"schema already at version {len(MIGRATIONS)}")
    return 0


def _version(args: argparse.Namespace) -> int:
    storage = _open(args)
    try:
        version = storage.schema_version()
    finally:
        storage.close()
    print(f"{version} (this o2o-sdk: {len(MIGRATIONS)})")
    return 0

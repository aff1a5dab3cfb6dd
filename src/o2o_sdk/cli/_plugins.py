"""``o2o plugins``: what is installed and which hooks it implements."""

from __future__ import annotations

import argparse
import json

from ..config import Config
from ..plugins import PluginHost


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("plugins", help="list plugins, their versions and hooks")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func_nosdk=_list)


def _list(args: argparse.Namespace) -> int:
    host = PluginHost(Config.from_env())
    host.load_entrypoints()
    plugins = host.list_plugins()
    if args.json:
        rows = [
            {"name": p.name, "distribution": p.distribution, "version": p.version, "hooks": list(p.hooks), "default": p.default}
            for p in plugins
        ]
        failed = [{"name": f.name, "distribution": f.distribution, "error": f.error} for f in host.failures]
        print(json.dumps({"plugins": rows, "failed": failed}, indent=2))
        return 0
    width = max((len(p.name) for p in plugins), default=4)
    for p in plugins:
        origin = f"{p.distribution or '-'} {p.version or ''}".strip()
        tag = " (default)" if p.default else ""
        print(f"{p.name:<{width}}  {origin}{tag}")
        print(f"{'':<{width}}  hooks: {', '.join(p.hooks) or '-'}")
    for f in host.failures:
        print(f"{f.name:<{width}}  FAILED to load ({f.distribution or '-'}): {f.error}")
    return 0

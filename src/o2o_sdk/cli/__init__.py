"""The ``o2o`` command line.

Each command group lives in its own module exposing ``register(subparsers)``; a command sets
``func(sdk, args) -> int | None`` (or ``func_nosdk(args)`` when it needs no SDK instance).
Plugins add top-level commands through the ``o2o_register_commands`` hook.

User mistakes (:class:`~o2o_sdk.errors.O2OError`) print one line on stderr and exit 1 (2
for usage errors); tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..config import Config
from ..errors import O2OError, PluginError
from . import _checkin, _customers, _db, _followups, _keys, _offers, _pickups, _plugins, _report, _serve, _stores

__all__ = ["main"]

_GROUPS = [_offers, _db, _plugins, _stores, _checkin, _serve, _keys, _report, _customers, _followups, _pickups]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        self.exit(2, f"o2o: error: {message} (see '{self.prog} --help')\n")


def _build_parser(plugin_commands: dict[str, tuple[str, Callable[..., None], Callable[..., Any]]]) -> argparse.ArgumentParser:
    parser = _Parser(prog="o2o", description="o2o-sdk: online-to-offline vouchers, stores and follow-ups.")
    parser.add_argument("--database", metavar="URL", help="database URL (default: $O2O_DATABASE_URL or sqlite:///o2o.db)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    from . import _demo

    _demo.register(sub)
    for group in _GROUPS:
        group.register(sub)
    for name, (help_text, configure, run) in plugin_commands.items():
        p = sub.add_parser(name, help=help_text)
        configure(p)
        p.set_defaults(func=run)
    return parser


def _plugin_commands() -> dict[str, tuple[str, Callable[..., None], Callable[..., Any]]]:
    """Commands registered by plugins, collected without opening storage."""
    from ..plugins import PluginHost

    found: dict[str, tuple[str, Callable[..., None], Callable[..., Any]]] = {}
    reserved = {"demo", "offers", "db", "plugins", "stores", "checkin", "serve", "keys", "followups", "report", "customers"}

    def register(name: str, help_text: str, configure: Callable[..., None], run: Callable[..., Any]) -> None:
        if name in reserved or name in found:
            raise PluginError(f"A plugin tried to register the command {name!r}, which is taken.")
        found[name] = (help_text, configure, run)

    try:
        config = Config.from_env()
    except O2OError:
        config = Config()  # the command itself reports the configuration error, once
    host = PluginHost(config)
    host.load_entrypoints()
    host.register_commands(register)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``o2o`` console script."""
    try:
        parser = _build_parser(_plugin_commands())
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        if getattr(args, "func_nosdk", None) is not None:
            return int(args.func_nosdk(args) or 0)
        from ..sdk import O2O

        overrides: dict[str, Any] = {}
        if args.database:
            overrides["database_url"] = args.database
        if getattr(args, "auto_migrate", None) is not None:
            overrides["auto_migrate"] = args.auto_migrate
        with O2O(Config.from_env(**overrides)) as sdk:
            return int(args.func(sdk, args) or 0)
    except O2OError as exc:
        print(f"o2o: error: {exc.message} [{exc.code}]", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("o2o: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into a command that stopped reading (e.g. `| head`).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a file that cannot be written or read (--out in a missing folder …)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"o2o: error: {exc.strerror or exc}{where} [os_error]", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

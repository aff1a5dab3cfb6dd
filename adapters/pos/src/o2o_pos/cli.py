"""``o2o pos …`` commands (loaded only when such a command runs).

``import`` exits 0 when every row was imported, 1 when some rows were bad (the good ones are
recorded; the report lists the others) or when the file or the mapping cannot be used (one
line on stderr). ``sign`` and ``check`` need no database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from o2o_sdk import InvalidInput

from .contract import validate_sale_event
from .csv_import import import_csv, load_mapping
from .signature import SIGNATURE_HEADER, sign

if TYPE_CHECKING:
    from o2o_sdk import O2O

__all__ = ["Progress", "run_check", "run_import", "run_sign"]

#: Bad rows printed on stderr before the rest is summarised (``--json`` lists them all).
SHOWN_ERRORS = 50


class Progress:
    """A progress bar on a stream: redrawn in place on a terminal (at most 10 times a
    second), a line every 2 seconds otherwise; ``enabled=False`` keeps it quiet."""

    def __init__(self, label: str, stream: TextIO, *, enabled: bool = True, width: int = 30) -> None:
        self.label, self.stream, self.enabled, self.width = label, stream, enabled, width
        self.start = time.monotonic()
        self._last = 0.0
        self._tty = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        final = done >= total
        if not final and now - self._last < (0.1 if self._tty else 2.0):
            return
        self._last = now
        share = done / max(total, 1)
        bar = "#" * int(share * self.width)
        rate = done / max(now - self.start, 1e-9)
        line = f"{self.label} [{bar:<{self.width}}] {done}/{total} {share:5.1%} {rate:,.0f}/s"
        self.stream.write(("\r" + line + ("\n" if final else "")) if self._tty else line + "\n")
        self.stream.flush()


def run_import(sdk: O2O, args: argparse.Namespace) -> int:
    """``o2o pos import FILE --mapping TOML [--json] [--no-progress]``."""
    mapping = load_mapping(args.mapping)
    path = Path(args.file)
    if not path.is_file():
        raise InvalidInput(f"No such file: {path}.", code="file_not_found")
    progress = Progress(f"importing {path.name}", sys.stderr, enabled=not args.no_progress and not args.json)
    started = time.monotonic()
    report = import_csv(sdk, path, mapping, progress=progress)
    seconds = time.monotonic() - started
    if args.json:
        print(json.dumps({"file": path.name, **report.to_dict()}, indent=2, ensure_ascii=False))
    else:
        rate = f" in {seconds:.1f} s ({report.rows / seconds:,.0f} rows/s)" if seconds > 0 and report.rows else ""
        print(f"{path.name}: {report.rows} row(s), {report.sales} sale(s): {report.recorded} recorded, "
              f"{report.duplicates} already recorded, {len(report.errors)} bad row(s); "
              f"{report.attributed} attributed to vouchers{rate}")  # fmt: skip
        for error in report.errors[:SHOWN_ERRORS]:
            print(f"{path.name}:{error.line}: [{error.problem.value}] {error.message}", file=sys.stderr)
        if len(report.errors) > SHOWN_ERRORS:
            print(f"{path.name}: … and {len(report.errors) - SHOWN_ERRORS} more bad row(s) (see --json)", file=sys.stderr)
    return 0 if report.ok else 1


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise InvalidInput(f"No such file: {name}.", code="file_not_found") from None


def run_sign(args: argparse.Namespace) -> int:
    """``o2o pos sign FILE [--secret S] [--timestamp UNIX]``: print the header to send."""
    secret = args.secret or next((s.strip() for s in os.environ.get("O2O_POS_WEBHOOK_SECRETS", "").split(",") if s.strip()), "")
    if not secret:
        raise InvalidInput("Give --secret or set O2O_POS_WEBHOOK_SECRETS.", code="webhook_secret_missing")
    print(f"{SIGNATURE_HEADER}: {sign(_read(args.file), secret, args.timestamp)}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """``o2o pos check FILE``: every way the event breaks the contract, one per line."""
    body = _read(args.file)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"{args.file}: not JSON: {exc}", file=sys.stderr)
        return 1
    problems = validate_sale_event(payload)
    for problem in problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{args.file}: a valid sale event")
    return 1 if problems else 0

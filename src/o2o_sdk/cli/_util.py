"""Helpers shared by CLI commands: parsing user input, JSON output, progress."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta
from typing import Any, TextIO

import cattrs

from ..errors import InvalidInput
from ..money import Money, parse_money

__all__ = ["Progress", "parse_datetime", "parse_duration", "parse_float", "parse_money_arg", "print_json"]


def parse_datetime(text: str, *, what: str = "date") -> datetime:
    """ISO 8601 (``2026-12-24``, ``2026-12-24T18:00``, ``…+01:00``); naive = store-local."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a valid {what}; use ISO 8601 like 2026-12-24T18:00.") from None


_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``30d``, ``1w``."""
    unit = _UNITS.get(text[-1:].lower())
    try:
        value = float(text[:-1])
    except ValueError:
        value = -1
    if unit is None or value <= 0:
        raise InvalidInput(f"{text!r} is not a duration; write it like 15m, 2h or 30d.")
    return timedelta(**{unit: value})


def parse_float(text: str) -> float:
    """An argparse ``type=`` for numbers: a one-line usage error instead of a traceback."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def parse_money_arg(text: str) -> Money:
    return parse_money(text)


def print_json(converter: cattrs.Converter, value: Any, out: TextIO | None = None) -> None:
    """Print a model (or anything the converter knows) as indented JSON."""
    print(json.dumps(converter.unstructure(value), indent=2, default=str, ensure_ascii=False), file=out or sys.stdout)


class Progress:
    """A one-line progress bar on stderr (only when stderr is a terminal, else sparse lines)."""

    def __init__(self, label: str, total: int, out: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 1)
        self.out = out or sys.stderr
        self.start = time.monotonic()
        self._last = 0.0
        self._tty = self.out.isatty()

    def __call__(self, done: int, total: int | None = None) -> None:
        if total:
            self.total = max(total, 1)
        now = time.monotonic()
        final = done >= self.total
        if not final and now - self._last < (0.1 if self._tty else 2.0):
            return
        self._last = now
        frac = done / self.total
        rate = done / max(now - self.start, 1e-9)
        bar = "#" * int(frac * 30)
        line = f"{self.label} [{bar:<30}] {done}/{self.total} {frac:5.1%} {rate:,.0f}/s"
        if self._tty:
            self.out.write("\r" + line + ("\n" if final else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()

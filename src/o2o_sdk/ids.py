"""Identifiers: random, URL-safe, sortable by creation time where it helps."""

from __future__ import annotations

import base64
import os
import time

__all__ = ["new_id"]


def new_id(prefix: str) -> str:
    """A new id like ``red_01JD…``: a prefix, 6 bytes of milliseconds and 10 random bytes.

    Sorting ids of one prefix sorts them (roughly) by creation time.
    """
    ms = int(time.time() * 1000).to_bytes(6, "big")
    raw = base64.b32encode(ms + os.urandom(10)).decode("ascii").rstrip("=").lower()
    return f"{prefix}_{raw}"

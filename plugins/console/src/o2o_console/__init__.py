"""Console / file channel for o2o-sdk follow-ups: for the demo and for development.

Prints each message to standard output, or appends it as one JSON line to a file
(``O2O_CONSOLE_PATH``). Settings (``O2O_CONSOLE_<KEY>`` or ``Config.plugin_config["console"]``):

``path``              append JSON lines here instead of printing
``name``              channel name (default ``console``; e.g. ``email`` to stand in for email)
``requires_consent``  ``1`` to require the customer's consent like a marketing channel
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from o2o_sdk import ChannelBase, Contact, DeliveryResult, OutboundMessage

__all__ = ["ConsoleChannel", "store_alert"]


class ConsoleChannel(ChannelBase):
    """Writes messages where a developer can read them; never fails transiently."""

    is_email = False

    def __init__(self, *, name: str = "console", path: str | Path | None = None, requires_consent: bool = False,
                 out: TextIO | None = None) -> None:  # fmt: skip
        self.name = name
        self.requires_consent = requires_consent
        self.path = Path(path) if path else None
        self._out = out
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> ConsoleChannel:
        """Build from plugin settings (``path``, ``name``, ``requires_consent``)."""
        return cls(
            name=settings.get("name") or "console",
            path=settings.get("path") or None,
            requires_consent=settings.get("requires_consent", "").lower() in ("1", "true", "yes"),
        )

    def address(self, contact: Contact) -> str | None:
        """The customer's email, else phone, else customer id."""
        return contact.email or contact.phone or contact.customer_id

    def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
        """Print the message, or append it to the file as JSON."""
        record = {
            "idempotency_key": idempotency_key, "followup_id": message.followup_id, "channel": message.channel,
            "flow": message.flow, "to": message.to, "customer_id": message.customer_id, "subject": message.subject,
            "text": message.text, "html": message.html, "headers": dict(message.headers),
            "at": datetime.now(UTC).isoformat(),
        }  # fmt: skip
        with self._lock:
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                out = self._out or sys.stdout
                rule = "─" * 60
                out.write(f"{rule}\n[{message.channel}] to {message.to} ({message.flow})\n")
                out.write(f"Subject: {message.subject}\n\n{message.text.rstrip()}\n{rule}\n")
                out.flush()
        return DeliveryResult(provider_id=idempotency_key, detail=str(self.path or "stdout"))


def store_alert(sdk: Any, pickup: Any, what: str, out: TextIO | None = None) -> None:
    """Write one store alert line to stderr (``[store ldn-soho] arrived: pickup pku_… — bay 4``),
    or a JSON line to the configured ``path``."""
    settings = sdk.config.plugin_settings("console")
    items = ", ".join(f"{i.quantity}x {i.name or i.sku}" for i in pickup.items)
    if settings.get("path"):
        record = {"type": f"pickup.{what}", "store_id": pickup.store_id, "pickup_id": pickup.id, "items": items,
                  "note": pickup.arrival_note, "curbside": pickup.curbside, "at": datetime.now(UTC).isoformat()}  # fmt: skip
        with Path(settings["path"]).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    note = f" — {pickup.arrival_note}" if pickup.arrival_note else ""
    curb = " (curbside)" if pickup.curbside else ""
    stream = out or sys.stderr  # stdout may be a command's --json answer
    stream.write(f"[store {pickup.store_id}] {what}: pickup {pickup.id}{curb}: {items}{note}\n")
    stream.flush()

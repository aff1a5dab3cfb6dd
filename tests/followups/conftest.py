"""Fixtures of the follow-up tests: a recording channel, a real loopback HTTP sink, an SMTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import pytest
from conftest import DEMO_STORES

from o2o_sdk import (
    O2O,
    ChannelBase,
    Contact,
    DeliveryResult,
    FollowupFlows,
    FollowupSettings,
    OutboundMessage,
)


class RecordingChannel(ChannelBase):
    """An in-memory channel: records every accepted message; ``fail`` scripts failures."""

    def __init__(self, name: str = "email", *, requires_consent: bool = True, is_email: bool = True) -> None:
        self.name = name
        self.requires_consent = requires_consent
        self.is_email = is_email
        self.sent: list[tuple[OutboundMessage, str]] = []
        #: Exceptions to raise, one per send, before accepting again.
        self.fail: list[Exception] = []
        self.closed = False

    def address(self, contact: Contact) -> str | None:
        return contact.email

    def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append((message, idempotency_key))
        return DeliveryResult(provider_id=f"p-{len(self.sent)}")

    def close(self) -> None:
        self.closed = True

    @property
    def keys(self) -> list[str]:
        return [key for _, key in self.sent]


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def make_shop(make_sdk: Callable[..., O2O], channel: RecordingChannel) -> Callable[..., O2O]:
    """An SDK with the demo stores and the recording channel as ``email``; keyword arguments
    replace fields of the follow-up settings (``flows=`` the default flows)."""

    def make(**settings: Any) -> O2O:
        base = FollowupSettings(quiet_hours=(time(21), time(8)), flows=FollowupFlows(channel="email"))
        sdk = make_sdk(followups=attrs.evolve(base, **settings))
        sdk.stores.add(DEMO_STORES)
        sdk.followups.channels.add(channel)
        return sdk

    return make


@pytest.fixture
def shop(make_shop: Callable[..., O2O]) -> O2O:
    return make_shop()


# ------------------------------------------------------------------ a real HTTP sink on loopback


class Sink:
    """Records webhook deliveries; ``statuses`` scripts the answers (default 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        self.url = ""

    @property
    def keys(self) -> list[str]:
        return [r["headers"].get("Idempotency-Key", "") for r in self.requests if r["status"] < 300]


def _handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # one response is two writes: no 40 ms delayed-ACK stall

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with sink.lock:
                status = sink.statuses.pop(0) if sink.statuses else 200
                sink.requests.append({"path": self.path, "headers": dict(self.headers), "body": body, "status": status})
            reply = json.dumps({"ok": status < 300}).encode()
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "120")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A real ThreadingHTTPServer on 127.0.0.1 recording deliveries."""
    s = Sink()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    server.daemon_threads = True
    s.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield s
    server.shutdown()
    server.server_close()

"""Store-facing alerts through the in-repo plugins: a signed webhook to a real local HTTP
server, and console lines (or JSON lines in a file)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from o2o_sdk import O2O, OrderLine, Store

o2o_webhook = pytest.importorskip("o2o_webhook", reason="the in-repo o2o-webhook plugin is not installed (make test installs it)")
o2o_console = pytest.importorskip("o2o_console", reason="the in-repo o2o-console plugin is not installed (make test installs it)")


class Receiver:
    """A real HTTP server on loopback that keeps what it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_arrival_is_posted_signed_to_the_stores_webhook(make_sdk: Callable[..., O2O], receiver: Receiver) -> None:
    sdk = make_sdk()
    sdk.stores.add(Store("lon-curb", "Curbside London", "Europe/London", 51.5, -0.1, "", ("pickup",),
                         attributes={"alert_webhook_url": receiver.url}))  # fmt: skip
    sdk = make_sdk(plugin_config={"webhook": {"secret": "s3cret"}})
    p = sdk.pickups.create("lon-curb", [OrderLine("BURGER", 2)], customer_id="c1", curbside=True)
    sdk.pickups.ready(p.id)
    sdk.pickups.arrived(p.id, note="bay 3, white Golf")
    kinds = [json.loads(body)["type"] for _, body in receiver.got]
    assert kinds == ["pickup.placed", "pickup.arrived"]
    headers, body = receiver.got[-1]
    assert o2o_webhook.verify_signature(b"s3cret", headers[o2o_webhook.TIMESTAMP_HEADER.lower()], body,
                                        headers[o2o_webhook.SIGNATURE_HEADER.lower()])  # fmt: skip
    payload = json.loads(body)
    assert payload["pickup"]["arrival_note"] == "bay 3, white Golf" and payload["pickup"]["curbside"] is True
    assert payload["pass_url"] == sdk.pickups.pass_url(p)


def test_an_unreachable_store_webhook_never_undoes_the_arrival(make_sdk: Callable[..., O2O]) -> None:
    sdk = make_sdk(plugin_config={"webhook": {"store_alert_url": "http://127.0.0.1:9/nobody", "timeout": "1"}})
    sdk.stores.add(Store("lon-x", "X", "Europe/London", 51.5, -0.1))
    p = sdk.pickups.create("lon-x", [OrderLine("A", 1)], customer_id="c1")
    assert sdk.pickups.arrived(p.id).state.value == "arrived"


def test_console_alerts_print_a_line_or_append_json(make_sdk: Callable[..., O2O], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    sdk = make_sdk()
    sdk.stores.add(Store("lon-x", "X", "Europe/London", 51.5, -0.1))
    p = sdk.pickups.create("lon-x", [OrderLine("A", 1, "Apple pie")], customer_id="c1")
    sdk.pickups.arrived(p.id, note="at the door")
    out = capsys.readouterr().err
    assert f"[store lon-x] arrived: pickup {p.id}: 1x Apple pie — at the door" in out
    path = tmp_path / "alerts.jsonl"
    sdk2 = make_sdk(plugin_config={"console": {"path": str(path)}})
    q = sdk2.pickups.create("lon-x", [OrderLine("A", 1)], customer_id="c2")
    sdk2.pickups.arrived(q.id)
    lines = [json.loads(x) for x in path.read_text().splitlines() if '"type"' in x]
    assert [x["type"] for x in lines] == ["pickup.placed", "pickup.arrived"] and lines[-1]["pickup_id"] == q.id

"""Analytics sinks: the signed webhook stream (a real HTTP server on loopback) and GA4 (respx)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import o2o_analytics_webhook as eventhook
import o2o_ga4 as ga4
import pytest
import respx

from o2o_sdk import Discount, JournalEvent, OrderEvent, OrderKind
from o2o_sdk.money import Money

SECRET = "hook-secret"


class _Collector:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0


@pytest.fixture
def collector() -> Iterator[tuple[str, _Collector]]:
    seen = _Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if seen.fail_next:
                seen.fail_next -= 1
                self.send_response(503)
                self.send_header("Retry-After", "0")
                self.end_headers()
                return
            seen.requests.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/o2o/events", seen
    server.shutdown()
    server.server_close()


def _events(seen: _Collector) -> list[dict[str, Any]]:
    return [e for _, body in seen.requests for e in json.loads(body)["events"]]


def test_webhook_streams_signed_batches_at_least_once(make_sdk, collector) -> None:  # type: ignore[no-untyped-def]
    url, seen = collector
    before = make_sdk()
    before.journal.append("issued", customer_id="old")  # history before the sink: not replayed
    sdk = make_sdk(plugin_config={"eventhook": {"url": url, "secret": SECRET}})
    offer = sdk.offers.create("Spring", Discount.percent_off(10))
    sdk.offers.issue(offer, "c1")
    sdk.journal.append("voucher_viewed", customer_id="c1")
    got = _events(seen)
    assert [e["type"] for e in got] == ["issued", "voucher_viewed"] and got[0]["customer_id"] == "c1"
    headers, body = seen.requests[0]
    assert eventhook.verify_signature(SECRET.encode(), headers["X-O2O-Timestamp"], body, headers["X-O2O-Signature"])
    assert not eventhook.verify_signature(b"wrong", headers["X-O2O-Timestamp"], body, headers["X-O2O-Signature"])
    assert len({e["id"] for e in got}) == 2 and all(e["id"].endswith(f":{e['seq']}") for e in got)
    # the endpoint fails: the append still succeeds, the event stays pending and is sent later
    seen.fail_next = 2
    sdk.journal.append("checked_in", customer_id="c1", store_id="lon-soho")
    assert [e["type"] for e in _events(seen)] == ["issued", "voucher_viewed"]
    assert eventhook.flush(sdk) == 1
    assert [e["type"] for e in _events(seen)] == ["issued", "voucher_viewed", "checked_in"]
    assert eventhook.flush(sdk) == 0


def test_webhook_type_filter_and_unconfigured_noop(make_sdk, collector) -> None:  # type: ignore[no-untyped-def]
    url, seen = collector
    sdk = make_sdk(plugin_config={"eventhook": {"url": url, "secret": SECRET, "types": "redeemed,order_online"}})
    sdk.journal.append("issued", customer_id="c1")
    sdk.journal.append("order_online", customer_id="c1", data={"total_minor": 100})
    assert [e["type"] for e in _events(seen)] == ["order_online"]
    plain = make_sdk()
    plain.journal.append("order_online", customer_id="c2")
    assert eventhook.flush(plain) == 0 and len(seen.requests) == 1


GA4_URL = "https://www.google-analytics.com/mp/collect"


@respx.mock
def test_ga4_measurement_protocol(make_sdk, clock) -> None:  # type: ignore[no-untyped-def]
    route = respx.post(GA4_URL).mock(return_value=httpx.Response(204))
    sdk = make_sdk(plugin_config={"ga4": {"measurement_id": "G-TEST1", "api_secret": "s3cret"}})
    offer = sdk.offers.create("Spring", Discount.percent_off(10))
    sdk.offers.issue(offer, "c1")
    sdk.orders.record(OrderEvent("shop", "1001", OrderKind.ONLINE, clock.now(), Money(4250, "EUR"), customer_id="c1"))
    sdk.journal.append("validated", customer_id="c1")  # not forwarded
    calls = [json.loads(c.request.content) for c in route.calls]
    assert all(c.request.url.params["measurement_id"] == "G-TEST1" and c.request.url.params["api_secret"] == "s3cret"
               for c in route.calls)  # fmt: skip
    names = [e["name"] for body in calls for e in body["events"]]
    assert names == ["o2o_voucher_issued", "purchase"]
    purchase = calls[1]["events"][0]
    assert purchase["params"] == {"engagement_time_msec": 1, "transaction_id": "shop:1001", "affiliation": "online",
                                  "value": 42.5, "currency": "EUR"}  # fmt: skip
    assert purchase["timestamp_micros"] == int(clock.now().timestamp() * 1_000_000)
    assert calls[0]["client_id"] == calls[1]["client_id"] and "c1" not in json.dumps(calls) and "user_id" not in calls[0]
    # cancelled on the platform afterwards: a refund of the same transaction takes the revenue back
    sdk.orders.record(OrderEvent("shop", "1001", OrderKind.ONLINE, clock.now(), cancelled=True))
    [refund] = json.loads(route.calls[-1].request.content)["events"]
    assert refund["name"] == "refund" and refund["params"] == {"engagement_time_msec": 1, "transaction_id": "shop:1001",
                                                                "affiliation": "online", "value": 42.5, "currency": "EUR"}  # fmt: skip
    assert json.loads(route.calls[-1].request.content)["client_id"] == calls[1]["client_id"]


@respx.mock
def test_ga4_failure_keeps_events_and_batches_of_25(make_sdk, clock) -> None:  # type: ignore[no-untyped-def]
    route = respx.post(GA4_URL).mock(side_effect=[httpx.Response(500), httpx.Response(500)] + [httpx.Response(204)] * 10)
    sdk = make_sdk(plugin_config={"ga4": {"measurement_id": "G-TEST1", "api_secret": "s", "send_user_id": "1"}})
    sdk.journal.append("checked_in", customer_id="c1", store_id="lon-soho", data={"method": "code"})
    assert route.call_count == 2  # one retry, then left pending
    sdk.storage.append_events([JournalEvent("store_searched", clock.now() - timedelta(days=5), customer_id="c1")] * 30)
    assert ga4.flush(sdk) == 31
    bodies = [json.loads(c.request.content) for c in route.calls[2:]]
    assert [len(b["events"]) for b in bodies] == [25, 6] and bodies[0]["user_id"] == "c1"
    assert bodies[0]["events"][0] == {"name": "o2o_check_in", "params": {"engagement_time_msec": 1, "store_id": "lon-soho",
                                      "method": "code"}, "timestamp_micros": int(clock.now().timestamp() * 1e6)}  # fmt: skip
    assert "timestamp_micros" not in bodies[0]["events"][1]  # older than 72 h

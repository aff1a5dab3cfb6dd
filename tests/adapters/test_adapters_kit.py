"""o2o_sdk.testing: the shipped pytest plugin, and the conformance suite failing for a broken adapter."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

# In-process pytester runs restore sys.modules afterwards; numpy refuses to be imported a
# second time in one process, so load the locator's optional accelerators before any run.
try:
    import numpy  # noqa: F401
    import scipy.spatial  # noqa: F401
except ImportError:  # pragma: no cover - the fast extra is not installed
    pass

ADAPTER_MODULE = '''
import hashlib, hmac, json
from o2o_sdk import (AdapterBase, Capability, Money, OrderEvent, OrderKind, PlatformCustomer, PlatformDiscount,
                     Store, WebhookRejected, WebhookRequest, hookimpl)
from o2o_sdk.testing.conformance import PlatformScenario

SECRET = b"memory-secret"

class MemoryPlatform:
    """An in-memory platform: two locations, two SKUs, one customer, counted calls."""
    def __init__(self):
        self.calls = 0
        self.stock = {"L1": {"A": 2, "B": 0}, "L2": {"B": 5}}
        self.codes = {}

class MemoryAdapter(AdapterBase):
    name = "memory"
    capabilities = frozenset(Capability) - {Capability.PICKUPS, Capability.INVENTORY_HOLDS}
    BROKEN = set()

    def __init__(self, platform):
        self.platform = platform

    @hookimpl
    def o2o_register_stores(self, sdk, register):
        self.platform.calls += 1
        for i, loc in enumerate(["L1", "L2"]):
            sid = f"mem-{loc}" if "unstable_ids" not in self.BROKEN else f"mem-{loc}-{self.platform.calls}"
            register(Store(sid, loc, "UTC", 10.0 + i, 10.0, external_ids={"memory": loc}))

    @hookimpl
    def o2o_check_inventory(self, sdk, stores, skus):
        out = {}
        for store in stores:
            loc = store.external_ids.get("memory")
            if loc is None:
                continue
            if "per_store_calls" in self.BROKEN:
                for _ in skus:
                    self.platform.calls += 1
            out[store.id] = {sku: self.platform.stock.get(loc, {}).get(sku, 0) + (1 if "wrong_stock" in self.BROKEN else 0)
                             for sku in skus}
        self.platform.calls += 1
        return out

    def mirror_offer(self, sdk, offer, code):
        self.platform.calls += 1
        self.platform.codes[code] = f"d-{len(self.platform.codes)}"
        return PlatformDiscount(self.platform.codes[code], code)

    def discount_usage(self, sdk, mirror):
        self.platform.calls += 1
        return 3

    def lookup_customer(self, sdk, email):
        self.platform.calls += 1
        if email.lower() == "ada@example.com" or "fuzzy_customers" in self.BROKEN:
            return PlatformCustomer("memory", "C-1", "ada@example.com")
        return None

    def parse_webhook(self, sdk, request):
        expected = hmac.new(SECRET, request.body, hashlib.sha256).hexdigest()
        if "no_verification" not in self.BROKEN and not hmac.compare_digest(expected, request.header("x-sig") or ""):
            raise WebhookRejected("bad signature", code="bad_signature")
        data = json.loads(request.body)
        return [OrderEvent("memory", data["id"], OrderKind(data["kind"]), sdk.clock.now(),
                           Money(data["total"], data["currency"]), location_id=data["location"],
                           customer_email=data["email"], discount_codes=tuple(data["codes"]),
                           delivery_id=None if "no_delivery_id" in self.BROKEN else request.header("x-delivery"))]

def scenario(platform):
    def webhook(kind, *, order_id, delivery_id, location_id, codes, total, customer_email, signed=True):
        body = json.dumps({"id": order_id, "kind": kind.value, "total": total.minor, "currency": total.currency,
                           "location": location_id, "email": customer_email, "codes": list(codes)}).encode()
        sig = hmac.new(SECRET if signed else b"wrong", body, hashlib.sha256).hexdigest()
        return WebhookRequest(body, {"X-Sig": sig, "X-Delivery": delivery_id}, "https://shop.example/hook")
    return PlatformScenario(location_ids=("L1", "L2"), stock=platform.stock, customer_email="ada@example.com",
                            customer_id="C-1", discount_usage=3, webhook=webhook, calls=lambda: platform.calls)
'''

TEST_MODULE = '''
import pytest
from memory_adapter import MemoryAdapter, MemoryPlatform, scenario
from o2o_sdk.testing.conformance import AdapterConformance

class TestMemoryConformance(AdapterConformance):
    @pytest.fixture
    def o2o_memory(self):
        return MemoryPlatform()

    @pytest.fixture
    def o2o_platform(self, o2o_memory):
        return scenario(o2o_memory)

    @pytest.fixture
    def o2o_adapter(self, o2o_memory):
        adapter = MemoryAdapter(o2o_memory)
        adapter.BROKEN = set(BROKEN)
        return adapter
'''


def run_suite(pytester: pytest.Pytester, broken: set[str]) -> pytest.RunResult:
    pytester.makepyfile(memory_adapter=textwrap.dedent(ADAPTER_MODULE))
    pytester.makepyfile(test_memory=f"BROKEN = {sorted(broken)!r}\n" + textwrap.dedent(TEST_MODULE))
    return pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")


def test_the_suite_passes_for_a_conforming_adapter(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, set())
    result.assert_outcomes(passed=15, skipped=1)  # the adapter declares no pickup capabilities


@pytest.mark.parametrize(("broken", "failing"), [
    ("no_verification", ["test_bad_signature_is_rejected", "test_tampered_body_is_rejected"]),
    ("wrong_stock", ["test_inventory_is_reported_per_store_and_sku"]),
    ("per_store_calls", ["test_inventory_is_batched"]),
    ("unstable_ids", ["test_store_sync_round_trip"]),
    ("fuzzy_customers", ["test_customer_lookup"]),
    ("no_delivery_id", ["test_duplicate_delivery_is_recorded_once"]),
])  # fmt: skip
def test_the_suite_fails_for_a_broken_adapter(pytester: pytest.Pytester, broken: str, failing: list[str]) -> None:
    result = run_suite(pytester, {broken})
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= len(failing), result.stdout.str()
    for name in failing:
        result.stdout.fnmatch_lines([f"*FAILED*{name}*"])


def test_fixtures_are_prefixed_and_a_registered_plugin_lasts_one_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixtures='''
        from o2o_sdk import hookimpl

        class Sink:
            seen = []
            @hookimpl
            def o2o_journal_event(self, sdk, event):
                self.seen.append(event.type)

        SINK = Sink()

        def test_registered(o2o_sdk, o2o_register):
            o2o_register(SINK, "sink")
            o2o_sdk.journal.append("hello")
            assert Sink.seen == ["hello"]
            global SDK
            SDK = o2o_sdk

        def test_gone_afterwards():
            assert not SDK.plugins.pm.has_plugin("sink")

        def test_clock_is_frozen(o2o_sdk, o2o_clock):
            assert o2o_sdk.clock.now() == o2o_clock.now()
            assert o2o_clock.now().isoformat() == "2026-06-15T12:00:00+00:00"
    ''')
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    fixtures = pytester.runpytest_inprocess("--fixtures", "-q", "-p", "no:cacheprovider").stdout.str()
    for name in ("o2o_clock", "o2o_database_url", "o2o_make_sdk", "o2o_sdk", "o2o_register"):
        assert name in fixtures

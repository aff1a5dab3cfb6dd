"""Caps hold under real concurrency: 16 processes, each with its own SDK, redeem at once.

The racers are spawned once per module and reused; for every race each one builds a fresh
``O2O(Config(...))`` on the test's database (a SQLite file, or a PostgreSQL schema), waits at
a shared barrier, then redeems. The failures this guards against shipped elsewhere:
read-modify-write counters that let a 1,000-use coupon be used 1,500 times.
"""

from __future__ import annotations

import multiprocessing
import queue
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import race_worker
from conftest import DEMO_STORES, TEST_KEYS

from o2o_sdk import O2O, Basket, Caps, Discount, EventType, Money, SystemClock

pytestmark = pytest.mark.slow

RACERS = 16
STORE = "lon-soho"


class Racers:
    """Sixteen long-lived processes that redeem on a common start signal."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.barrier = ctx.Barrier(RACERS)
        self.jobs = [ctx.Queue() for _ in range(RACERS)]
        self.results = ctx.Queue()
        self.procs = [
            ctx.Process(target=race_worker.serve, args=(i, self.jobs[i], self.results, self.barrier), daemon=True)
            for i in range(RACERS)
        ]
        for p in self.procs:
            p.start()

    def race(self, url: str, redeem: list[list[tuple[str, str | None]]], basket: Basket | None = None) -> list[str]:
        """Each racer i redeems ``redeem[i]`` (token, customer) in order; returns all outcomes."""
        assert len(redeem) == RACERS
        keys = [(k.kid, k.secret) for k in TEST_KEYS]
        if self.barrier.broken:
            self.barrier.reset()
        for i, q in enumerate(self.jobs):
            q.put({"url": url, "keys": keys, "store": STORE, "redeem": redeem[i], "basket": basket})
        outcomes: list[str] = []
        for _ in range(RACERS):
            try:
                _, result = self.results.get(timeout=180)
            except queue.Empty:
                pytest.fail("a racer did not report within 180 s")
            outcomes += result
        errors = [o for o in outcomes if o.startswith("error")]
        assert errors == [], errors[0] if errors else ""
        return outcomes

    def stop(self) -> None:
        for q in self.jobs:
            q.put(None)
        for p in self.procs:
            p.join(timeout=15)
            if p.is_alive():  # pragma: no cover - only when a racer hangs
                p.terminate()


@pytest.fixture(scope="module")
def racers() -> Iterator[Racers]:
    tests_dir = str(Path(__file__).resolve().parent)
    with pytest.MonkeyPatch.context() as mp:
        if tests_dir not in sys.path:  # children import race_worker by name
            mp.syspath_prepend(tests_dir)
        pool = Racers()
        try:
            yield pool
        finally:
            pool.stop()


@pytest.fixture
def shop(make_sdk: Callable[..., O2O]) -> O2O:
    """The back office: issues the vouchers on the real clock, then inspects the result."""
    sdk = make_sdk(clock=SystemClock())
    sdk.stores.add(DEMO_STORES)
    return sdk


def deal(tokens: list[str], customer: Callable[[int], str | None] = lambda _: None) -> list[list[tuple[str, str | None]]]:
    """Share ``tokens`` round-robin among the racers."""
    return [[(t, customer(n)) for n, t in enumerate(tokens) if n % RACERS == i] for i in range(RACERS)]


def race_counts(outcomes: list[str]) -> dict[str, Any]:
    return dict(Counter(outcomes))


def test_one_single_use_voucher_redeemed_by_16_tills_at_once_is_used_once(
    racers: Racers, shop: O2O, database_url: str
) -> None:
    offer = shop.offers.create("Welcome gift", Discount.amount_off(Money(500, "EUR")))
    voucher = shop.offers.issue(offer)
    outcomes = racers.race(database_url, [[(voucher.token, None)] for _ in range(RACERS)])
    assert race_counts(outcomes) == {"ok": 1, "already_redeemed": RACERS - 1}
    assert len(shop.storage.list_redemptions(offer.id)) == 1
    assert shop.offers.usage(offer.id).redeemed == 1
    assert shop.journal.counts().get(EventType.REDEEMED) == 1
    assert shop.journal.counts().get(EventType.REFUSED) == RACERS - 1


def test_a_total_cap_of_100_holds_when_16_tills_redeem_160_vouchers(racers: Racers, shop: O2O, database_url: str) -> None:
    offer = shop.offers.create("First 100", Discount.percent_off(10), caps=Caps(total=100))
    tokens = [v.token for v in shop.offers.issue_many(offer, 160)]
    outcomes = racers.race(database_url, deal(tokens))
    assert race_counts(outcomes) == {"ok": 100, "cap_reached": 60}
    assert shop.offers.usage(offer.id).redeemed == 100
    assert len(shop.storage.list_redemptions(offer.id)) == 100
    assert shop.journal.counts().get(EventType.REDEEMED) == 100


def test_a_money_budget_holds_when_16_tills_redeem_160_vouchers(racers: Racers, shop: O2O, database_url: str) -> None:
    offer = shop.offers.create("5 EUR off", Discount.amount_off(Money(500, "EUR")), caps=Caps(budget=Money(25_000, "EUR")))
    tokens = [v.token for v in shop.offers.issue_many(offer, 160)]
    outcomes = racers.race(database_url, deal(tokens), basket=Basket(Money(2_000, "EUR")))
    assert race_counts(outcomes) == {"ok": 50, "budget_exhausted": 110}
    usage = shop.offers.usage(offer.id)
    assert (usage.redeemed, usage.spent_minor) == (50, 25_000)


def test_a_per_customer_cap_holds_when_one_customer_races_16_tills(racers: Racers, shop: O2O, database_url: str) -> None:
    offer = shop.offers.create("Twice per customer", Discount.percent_off(10), caps=Caps(per_customer=2))
    tokens = [v.token for v in shop.offers.issue_many(offer, ["alice"] * RACERS)]
    outcomes = racers.race(database_url, deal(tokens))
    assert race_counts(outcomes) == {"ok": 2, "customer_cap_reached": RACERS - 2}

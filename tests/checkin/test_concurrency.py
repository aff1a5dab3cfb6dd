"""One check-in per customer, store and window under real concurrency: 16 processes at once.

Each racer builds its own ``O2O(Config(...))`` on the test's database (a SQLite file, or a
PostgreSQL schema), waits at a shared barrier, then checks the same customer in at the same
store. The database's unique constraints decide — not the callers.
"""

from __future__ import annotations

import multiprocessing
import queue
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEYS

from o2o_sdk import O2O, EventType

from . import checkin_racer

pytestmark = pytest.mark.slow

RACERS = 16
STORE = "lon-soho"  # 51.5136, -0.1365, check-in radius 100 m


class Racers:
    """Sixteen long-lived processes that check in on a common start signal."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.barrier = ctx.Barrier(RACERS)
        self.jobs = [ctx.Queue() for _ in range(RACERS)]
        self.results = ctx.Queue()
        self.procs = [
            ctx.Process(target=checkin_racer.serve, args=(i, self.jobs[i], self.results, self.barrier), daemon=True)
            for i in range(RACERS)
        ]
        for p in self.procs:
            p.start()

    def race(self, job: dict[str, Any]) -> list[str]:
        if self.barrier.broken:
            self.barrier.reset()
        job = {**job, "keys": [(k.kid, k.secret) for k in TEST_KEYS], "store": STORE}
        for q in self.jobs:
            q.put(job)
        outcomes = []
        for _ in range(RACERS):
            try:
                outcomes.append(self.results.get(timeout=180)[1])
            except queue.Empty:
                pytest.fail("a racer did not report within 180 s")
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
    tests_dir = str(Path(__file__).resolve().parents[1])
    with pytest.MonkeyPatch.context() as mp:
        if tests_dir not in sys.path:  # children import tests.checkin.checkin_racer's package root
            mp.syspath_prepend(tests_dir)
        pool = Racers()
        try:
            yield pool
        finally:
            pool.stop()


def test_sixteen_concurrent_location_check_ins_create_exactly_one(sdk: O2O, database_url: str, racers: Racers) -> None:
    outcomes = racers.race({"url": database_url, "customer": "ada", "position": (51.5136, -0.1365, 10.0)})

    assert all(o.startswith("id:") for o in outcomes), outcomes
    ids = {o.split(":")[1] for o in outcomes}
    assert len(ids) == 1, "every caller gets the same check-in"
    assert Counter(o.split(":")[2] for o in outcomes) == {"True": 1, "False": RACERS - 1}
    [checkin] = sdk.checkins.list(customer_id="ada")
    assert checkin.id in ids
    assert sdk.journal.counts().get(EventType.CHECKED_IN) == 1


def test_sixteen_concurrent_uses_of_one_code_by_one_customer_succeed_once(
    sdk: O2O, database_url: str, racers: Racers
) -> None:
    # The racers use the real clock: make the code now, so that it is current for them.
    from o2o_sdk import SystemClock

    sdk.clock = SystemClock()
    code = sdk.checkins.current_code(STORE).code

    outcomes = racers.race({"url": database_url, "customer": "ada", "code": code})

    assert Counter(o.split(":")[0] for o in outcomes) == {"id": 1, "refused": RACERS - 1}
    assert {o for o in outcomes if o.startswith("refused")} == {"refused:code_reused"}
    assert len(sdk.checkins.list(customer_id="ada")) == 1

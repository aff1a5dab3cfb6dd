"""SdkRunner: SDK calls on the event loop, in worker threads, and batched per hand-off."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest

from o2o_sdk import O2O, InvalidInput
from o2o_sdk.web import _threads
from o2o_sdk.web._threads import SdkRunner


@pytest.fixture
def handoffs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch handed to a worker thread, in order."""
    sizes: list[int] = []
    real = _threads._run_all

    def counting(jobs: list[Any]) -> None:
        sizes.append(len(jobs))
        real(jobs)

    monkeypatch.setattr(_threads, "_run_all", counting)
    return sizes


def run(main: Callable[[], Any]) -> Any:
    """``anyio.run(main)`` in a thread of its own: the session's browser (Playwright's sync API)
    keeps an event loop running in the main thread."""

    async def guarded() -> Any:
        with anyio.fail_after(10):  # a lost worker would leave callers waiting for ever
            return await main()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, guarded).result()


def test_inline_runs_on_the_event_loop_thread() -> None:
    async def main() -> None:
        runner = SdkRunner(0)
        loop_thread = threading.get_ident()
        assert await runner.run(threading.get_ident) == loop_thread
        assert await runner.run_batched(threading.get_ident) == loop_thread

    run(main)


def test_calls_waiting_for_a_busy_worker_go_over_together_in_arrival_order(handoffs: list[int]) -> None:
    release = threading.Event()
    order: list[int] = []

    def blocker() -> str:
        release.wait(5)
        return "first"

    def call(i: int) -> int:
        order.append(i)
        return i * i

    async def main() -> None:
        runner = SdkRunner(1, batch=4)
        results: dict[int, Any] = {}

        async def one(i: int) -> None:
            results[i] = await runner.run_batched(call, i)

        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: _store(results, -1, runner.run_batched(blocker)))
            await anyio.sleep(0.05)  # the blocker holds the only worker
            for i in range(10):
                tg.start_soon(one, i)
            await anyio.sleep(0.05)  # all ten are queued
            release.set()
        assert results == {-1: "first", **{i: i * i for i in range(10)}}

    run(main)
    assert order == list(range(10))
    assert handoffs == [1, 4, 4, 2]  # ten calls in three hand-offs of at most four


async def _store(into: dict[int, Any], key: int, call: Any) -> None:
    into[key] = await call


def test_each_caller_gets_its_own_result_or_its_own_exception(handoffs: list[int]) -> None:
    def work(i: int) -> int:
        if i % 7 == 3:
            raise InvalidInput(f"bad {i}")
        return i + 1000

    async def main() -> None:
        runner = SdkRunner(2, batch=8)
        outcomes: dict[int, Any] = {}

        async def one(i: int) -> None:
            try:
                outcomes[i] = await runner.run_batched(work, i)
            except InvalidInput as exc:
                outcomes[i] = str(exc)

        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(one, i)
        assert outcomes == {i: (f"bad {i}" if i % 7 == 3 else i + 1000) for i in range(200)}
        assert runner._free == 2 and not runner._queue  # every worker came back

    run(main)
    assert sum(handoffs) == 200
    assert len(handoffs) < 200  # some went over together
    assert max(handoffs) <= 8


def test_a_caller_cancelled_while_queued_is_dropped_and_the_worker_is_not_lost(handoffs: list[int]) -> None:
    release = threading.Event()
    ran: list[str] = []

    def blocker() -> None:
        release.wait(5)
        ran.append("blocker")

    def call(name: str) -> str:
        ran.append(name)
        return name

    async def main() -> None:
        runner = SdkRunner(1, batch=16)
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner.run_batched, blocker)
            await anyio.sleep(0.05)
            with anyio.move_on_after(0.05):  # gives up while queued behind the blocker
                await runner.run_batched(call, "cancelled")
            release.set()
        assert await runner.run_batched(call, "after") == "after"
        assert runner._free == 1 and not runner._queue

    run(main)
    assert ran == ["blocker", "after"]


def test_a_leader_cancelled_mid_batch_lets_it_finish_and_the_next_call_still_runs() -> None:
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def slow() -> str:
        started.set()
        release.wait(5)
        ran.append("slow")
        return "slow"

    def quick() -> str:
        ran.append("quick")
        return "quick"

    async def main() -> None:
        runner = SdkRunner(1, batch=16)
        results: dict[str, Any] = {}
        scopes: list[anyio.CancelScope] = []

        async def leader() -> None:
            with anyio.CancelScope() as scope:
                scopes.append(scope)
                await runner.run_batched(slow)

        async def follower() -> None:
            results["quick"] = await runner.run_batched(quick)

        async with anyio.create_task_group() as tg:
            tg.start_soon(leader)
            await anyio.to_thread.run_sync(started.wait, 5)
            tg.start_soon(follower)  # waits for the only worker
            await anyio.sleep(0.02)
            scopes[0].cancel()  # the leader's request goes away mid-batch
            await anyio.sleep(0.02)
            release.set()
        assert results == {"quick": "quick"}
        assert runner._free == 1 and not runner._queue

    run(main)
    assert ran == ["slow", "quick"]  # the batch ran to its end, once


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        SdkRunner(-1)
    with pytest.raises(ValueError):
        SdkRunner(2, batch=0)


def test_create_app_refuses_bad_thread_settings(o2o_sdk: O2O) -> None:
    from o2o_sdk.web import create_app

    settings: list[dict[str, Any]] = [{"sdk_threads": -1}, {"sdk_batch": 0}]
    for kwargs in settings:
        with pytest.raises(InvalidInput):
            create_app(o2o_sdk, secret_key=b"0123456789abcdef0123", **kwargs)


@pytest.mark.parametrize("capped", [False, True], ids=["uncapped", "capped"])
def test_batched_pos_redemptions_over_http_redeem_each_voucher_exactly_once(
    shop: O2O, keys: Callable[[str], str], capped: bool
) -> None:
    """Real HTTP on loopback, two worker threads taking up to eight calls per hand-off: every
    voucher sent by two tills (and some requests retried under the same key) ends redeemed once."""
    import asyncio
    import random

    import httpx

    from o2o_sdk import Caps
    from o2o_sdk.web import create_app

    from .conftest import LiveServer, london_offer

    offer = london_offer(shop, caps=Caps(total=1000)) if capped else london_offer(shop)
    tokens = [v.token for v in shop.offers.issue_many(offer, 24)]
    key = keys("ldn-soho")
    calls = [(t, f"till{n}-{i}") for i, t in enumerate(tokens) for n in range(2)]
    calls += [(t, f"till0-{i}") for i, t in enumerate(tokens[:8])]  # retries
    random.Random(7).shuffle(calls)

    async def main() -> list[tuple[str, str, int, Any]]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

            async def redeem(token: str, idem: str) -> tuple[str, str, int, Any]:
                r = await client.post("/api/pos/v1/redeem", json={"token": token},
                                      headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem})  # fmt: skip
                return token, idem, r.status_code, r.json()

            return list(await asyncio.gather(*(redeem(t, k) for t, k in calls)))

    with LiveServer(create_app(shop, sdk_threads=2, sdk_batch=8)) as server:
        results = run(main)
    winners: dict[str, set[str]] = {}
    for token, _, status, body in results:
        if status == 201:
            winners.setdefault(token, set()).add(body["id"])
        else:
            assert (status, [r["code"] for r in body["error"]["refusals"]]) == (409, ["already_redeemed"])
    assert sorted(winners) == sorted(tokens) and all(len(ids) == 1 for ids in winners.values())
    assert shop.offers.usage(offer.id).redeemed == 24

"""How the web app runs the SDK's blocking calls: on the event loop, or in worker threads, where
the busy POS calls go several to a hand-off.

A hand-off to a worker thread and back costs the server process more CPU than a PostgreSQL
redemption's own Python work: the futex wake-ups and the GIL changing hands several times
(docs/benchmarks.md, Web). :class:`SdkRunner` therefore lets calls that arrive while every worker
is busy wait in a queue; the request that finds a worker free takes its own call and up to
``batch - 1`` waiting ones to the thread in one hand-off, and they run there one after another.
No background task is needed: when a batch is done, its leader hands the worker to the oldest
call still waiting, whose request then leads the next batch.

The price is that calls in one batch wait for each other: a plugin hook that blocks (network
I/O) delays the calls batched after it. ``batch=1`` gives every call its own hand-off.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

__all__ = ["SdkRunner"]

T = TypeVar("T")


class _Job:
    """One waiting call: its outcome, and two signals for the request that made it."""

    __slots__ = ("error", "finished", "func", "has_worker", "queued", "value", "woken")

    def __init__(self, func: Callable[[], Any]) -> None:
        self.func = func
        self.value: Any = None
        self.error: BaseException | None = None
        self.queued = False
        self.has_worker = False  # handed a free worker: its request leads the next batch
        self.woken = anyio.Event()  # finished, or handed a worker
        self.finished = anyio.Event()

    def run(self) -> None:
        try:
            self.value = self.func()
        except BaseException as exc:  # handed to the request that made the call
            self.error = exc

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def _run_all(jobs: list[_Job]) -> None:
    for job in jobs:
        job.run()


class SdkRunner:
    """Runs blocking calls for one app: ``threads=0`` on the event loop, else in that many
    worker threads, with batched calls (:meth:`run_batched`) up to ``batch`` per hand-off."""

    def __init__(self, threads: int, batch: int = 16) -> None:
        if threads < 0 or batch < 1:
            raise ValueError("threads must be 0 or more and batch 1 or more")
        self.inline = threads == 0
        self.threads = max(1, threads)
        self.batch = batch
        self._limiter = anyio.CapacityLimiter(self.threads)
        self._free = self.threads  # workers no batch holds
        self._queue: deque[_Job] = deque()

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one call in a worker thread of its own (or inline)."""
        if self.inline:
            return func(*args, **kwargs)
        return await anyio.to_thread.run_sync(partial(func, *args, **kwargs), limiter=self._limiter)

    async def run_batched(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a short call, batched with others waiting for a worker (see the module's text)."""
        if self.inline:
            return func(*args, **kwargs)
        job = _Job(partial(func, *args, **kwargs))
        if self._free:
            self._free -= 1
            await self._lead(job)
        else:
            job.queued = True
            self._queue.append(job)
            try:
                await job.woken.wait()
            except BaseException:  # cancelled while waiting: give up the place and any worker
                if job.queued:
                    job.queued = False
                    self._queue.remove(job)
                if job.has_worker:
                    self._release()
                raise
            if job.has_worker:
                if job.queued:  # not taken by another batch meanwhile: lead one
                    job.queued = False
                    self._queue.remove(job)
                    await self._lead(job)
                else:
                    self._release()
            await job.finished.wait()
        result: T = job.outcome()
        return result

    async def _lead(self, job: _Job) -> None:
        """Run ``job`` and the oldest waiting calls in one hand-off, then pass the worker on."""
        batch = [job]
        queue = self._queue
        while queue and len(batch) < self.batch:
            waiting = queue.popleft()
            if waiting.has_worker:  # about to lead a batch of its own: leave it its place
                queue.appendleft(waiting)
                break
            waiting.queued = False
            batch.append(waiting)
        try:
            # Shielded: other requests' calls are in the batch, so it runs to its end even if
            # this request is cancelled (which is then raised here, afterwards).
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_run_all, batch, limiter=self._limiter)
        finally:
            for done in batch:
                done.finished.set()
                done.woken.set()
            self._release()

    def _release(self) -> None:
        """A worker is free: hand it to the oldest waiting call that has none, or keep it."""
        for waiting in self._queue:
            if not waiting.has_worker:
                waiting.has_worker = True
                waiting.woken.set()
                return
        self._free += 1

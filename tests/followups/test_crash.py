"""Workers in real processes: kill -9 after the receiver accepted, kill -9 mid-batch, and four
workers in parallel on PostgreSQL — every follow-up reaches the receiver; after dropping
repeated idempotency keys, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TEST_KEYS

from o2o_sdk import O2O, Config, FollowUpPlan, FollowUpStatus, SystemClock

from .conftest import Sink

WORKER = Path(__file__).with_name("worker_proc.py")
pytestmark = pytest.mark.slow


def _outbox(make_sdk: Callable[..., O2O], n: int) -> O2O:
    sdk = make_sdk(clock=SystemClock())
    for i in range(n):
        sdk.followups.contacts.upsert(f"c{i}", email=f"c{i}@example.com")
        sdk.followups.add(FollowUpPlan("test", "webhook", "ping", f"c{i}", f"ping:{i}"))
    return sdk


def _worker(url: str, sink: Sink, batch: int, lease: float, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, sink.url, str(batch), str(lease)],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _kill_when_paused(proc: subprocess.Popen[str], marker: Path) -> None:
    deadline = time.monotonic() + 30
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early: {proc.stderr.read() if proc.stderr else ''}")
        assert time.monotonic() < deadline, "the worker never reached the pause"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


def _finish(url: str, sink: Sink) -> None:
    time.sleep(1.2)  # let the killed worker's lease (1 s) run out
    proc = _worker(url, sink, 10, 1.0)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


@pytest.mark.parametrize(("n", "batch", "pause_after"), [(6, 1, 1), (20, 10, 4)], ids=["after-accept", "mid-batch"])
def test_a_worker_killed_after_the_receiver_accepted_loses_nothing(
    make_sdk: Callable[..., O2O], database_url: str, sink: Sink, tmp_path: Path, n: int, batch: int, pause_after: int
) -> None:
    sdk = _outbox(make_sdk, n)
    marker = tmp_path / "paused"
    victim = _worker(database_url, sink, batch, 1.0, O2O_TEST_PAUSE_AFTER=str(pause_after), O2O_TEST_MARKER=str(marker))
    _kill_when_paused(victim, marker)
    assert len(sink.keys) == pause_after
    assert sdk.followups.counts().get("claimed") == batch  # held by the dead worker until its lease ends
    _finish(database_url, sink)
    rows = sdk.followups.list()
    assert {f.status for f in rows} == {FollowUpStatus.SENT}
    assert sorted(set(sink.keys)) == sorted(f.idempotency_key for f in rows)  # each one arrived
    assert len(sink.keys) == n + pause_after  # raw: the accepted-but-unrecorded ones arrived twice
    assert sdk.followups.sends() == n  # the SDK's own ledger: once each


@pytest.mark.postgres
def test_four_workers_on_postgresql_deliver_each_follow_up_once(pg_url: str, sink: Sink) -> None:
    n = 200
    sdk = O2O(Config(database_url=pg_url, secret_keys=TEST_KEYS, auto_migrate=True))
    for i in range(n):
        sdk.followups.contacts.upsert(f"c{i}", email=f"c{i}@example.com")
    for i in range(n):
        sdk.followups.add(FollowUpPlan("test", "webhook", "ping", f"c{i}", f"ping:{i}"))
    workers = [_worker(pg_url, sink, 10, 60.0) for _ in range(4)]
    for proc in workers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert len(sink.keys) == n and len(set(sink.keys)) == n  # no double send, not even raw
    assert sdk.followups.counts() == {"sent": n}
    assert sdk.followups.sends() == n
    assert len({f.worker_id for f in sdk.followups.list()}) >= 2  # the work was actually shared
    sdk.close()

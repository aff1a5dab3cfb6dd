"""A racing phone: a process that builds its own SDK and checks in on a shared start signal.

Lives outside the test module so that ``spawn`` children import only this and o2o_sdk.
"""

from __future__ import annotations

import traceback
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from o2o_sdk import O2O, CheckinRefused, Config, SigningKey


def serve(index: int, jobs: Queue[Any], results: Queue[Any], barrier: Barrier) -> None:
    """Run jobs until ``None``: ``{"url", "keys", "store", "customer", "code" | "position"}``.

    Reports ``(index, "id:<check-in id>:<created>")`` or ``(index, "refused:<reason>")``.
    """
    while (job := jobs.get()) is not None:
        try:
            config = Config(
                database_url=job["url"],
                secret_keys=tuple(SigningKey(kid, secret) for kid, secret in job["keys"]),
                auto_migrate=False,
            )
            sdk = O2O(config)
        except Exception:
            barrier.abort()
            results.put((index, f"error: {traceback.format_exc()}"))
            continue
        try:
            barrier.wait(timeout=120)
            try:
                if "code" in job:
                    result = sdk.checkins.with_code(job["code"], customer_id=job["customer"])
                else:
                    lat, lon, accuracy = job["position"]
                    result = sdk.checkins.with_location(job["store"], lat, lon, accuracy, customer_id=job["customer"])
                outcome = f"id:{result.checkin.id}:{result.created}"
            except CheckinRefused as exc:
                outcome = f"refused:{exc.reason}"
        except Exception:
            outcome = f"error: {traceback.format_exc()}"
        finally:
            sdk.close()
        results.put((index, outcome))

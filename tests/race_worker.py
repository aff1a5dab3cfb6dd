"""A racing till: a process that builds its own SDK and redeems tokens on a shared start signal.

Lives outside the test module so that ``spawn`` children import only this and o2o_sdk.
"""

from __future__ import annotations

import traceback
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from o2o_sdk import O2O, Config, RedemptionRefused, SigningKey


def serve(index: int, jobs: Queue[Any], results: Queue[Any], barrier: Barrier) -> None:
    """Run jobs until ``None``: ``{"url", "keys", "store", "redeem": [(token, customer), ...]}``."""
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
            results.put((index, [f"error: {traceback.format_exc()}"]))
            continue
        outcomes: list[str] = []
        try:
            barrier.wait(timeout=120)
            for token, customer in job["redeem"]:
                try:
                    sdk.offers.redeem(token, job["store"], customer_id=customer, basket=job.get("basket"))
                    outcomes.append("ok")
                except RedemptionRefused as exc:
                    outcomes.append(exc.reasons[0].value)
        except Exception:
            outcomes.append(f"error: {traceback.format_exc()}")
        finally:
            sdk.close()
        results.put((index, outcomes))

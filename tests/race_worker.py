"""A racing till: a process that builds its own SDK and redeems tokens on a shared start signal.

Lives outside the test module so that ``spawn`` children import only this and o2o_sdk.
"""

from __future__ import annotations

import traceback
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from o2o_sdk import O2O, Config, IdempotencyConflict, RedemptionRefused, SigningKey


def serve(index: int, jobs: Queue[Any], results: Queue[Any], barrier: Barrier) -> None:
    """Run jobs until ``None``: ``{"url", "keys", "store", "redeem": [item, ...]}``.

    An item is ``(token, customer)`` — redeem, outcome ``"ok"`` — or a dict naming the
    operation, whose success outcome carries the id: ``{"op": "redeem", "token", "customer"?,
    "key"?}`` → ``"ok:<redemption id>"``, ``{"op": "reserve", "token"}`` → ``"ok:<reservation
    id>"``, ``{"op": "void", "redemption"}`` → ``"ok:<redemption id>"``. A refusal is its first
    reason's code, an idempotency conflict ``"idempotency_conflict"``, anything else an error.
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
            results.put((index, [f"error: {traceback.format_exc()}"]))
            continue
        outcomes: list[str] = []
        try:
            barrier.wait(timeout=120)
            for item in job["redeem"]:
                try:
                    outcomes.append(_run(sdk, job, item))
                except RedemptionRefused as exc:
                    outcomes.append(exc.reasons[0].value)
                except IdempotencyConflict:
                    outcomes.append("idempotency_conflict")
        except Exception:
            outcomes.append(f"error: {traceback.format_exc()}")
        finally:
            sdk.close()
        results.put((index, outcomes))


def _run(sdk: O2O, job: dict[str, Any], item: Any) -> str:
    if not isinstance(item, dict):
        token, customer = item
        sdk.offers.redeem(token, job["store"], customer_id=customer, basket=job.get("basket"))
        return "ok"
    op = item["op"]
    if op == "redeem":
        red = sdk.offers.redeem(item["token"], job["store"], customer_id=item.get("customer"), basket=job.get("basket"),
                                idempotency_key=item.get("key"))  # fmt: skip
        return f"ok:{red.id}"
    if op == "reserve":
        return f"ok:{sdk.offers.reserve(item['token'], job['store'], basket=job.get('basket')).id}"
    if op == "void":
        return f"ok:{sdk.offers.void(item['redemption'], 'refund').id}"
    raise ValueError(f"unknown operation {op!r}")

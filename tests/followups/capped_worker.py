"""A follow-up worker in its own process, with frequency caps on, for the parallel-caps test.

    python capped_worker.py DATABASE_URL OUT_FILE GO_FILE CAP_PER_DAY BATCH LATENCY_S

Delivers through the real console channel (o2o-console), which appends one JSON line per
message to OUT_FILE, after LATENCY_S seconds (a provider's round trip: it lets the workers'
transactions interleave as they do in production, rather than one worker draining the outbox
while the others wait for SQLite's write lock). Builds its SDK, waits until GO_FILE exists (so that all workers start
together), runs ``run_once`` and prints its counts as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta

from o2o_console import ConsoleChannel

from o2o_sdk import O2O, Config, DeliveryResult, FollowupSettings, FollowUpTemplate, OutboundMessage, SigningKey

TEMPLATE = FollowUpTemplate("ping", "Ping $customer_id", "Hello $customer_id")
KEYS = (SigningKey("b", b"test-secret-newest-0123456789"), SigningKey("a", b"test-secret-older-0123456789"))


class Console(ConsoleChannel):
    def __init__(self, path: str, latency: float) -> None:
        super().__init__(path=path)
        self.latency = latency

    def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
        time.sleep(self.latency)
        return super().send(message, idempotency_key)


def main() -> None:
    url, out, go, cap, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    latency = float(sys.argv[6])
    settings = FollowupSettings(quiet_hours=None, cap_per_day=cap, cap_per_week=None, batch_size=batch,
                                lease=timedelta(seconds=60))  # fmt: skip
    config = Config(database_url=url, secret_keys=KEYS, base_url="https://shop.example", followups=settings)
    with O2O(config) as sdk:
        sdk.followups.add_template(TEMPLATE)
        sdk.followups.channels.add(Console(out, latency))
        sdk.followups.counts()  # connections open before the start
        deadline = time.monotonic() + 60
        while not os.path.exists(go):
            if time.monotonic() > deadline:
                raise SystemExit("no start signal within 60 s")
            time.sleep(0.002)
        counts = sdk.followups.run_once(plan=False)
        print(json.dumps(counts.as_dict()), flush=True)


if __name__ == "__main__":
    main()

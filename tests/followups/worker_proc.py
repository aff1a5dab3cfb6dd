"""A follow-up worker in its own process, for the kill -9 and parallel-worker tests.

    python worker_proc.py DATABASE_URL SINK_URL BATCH LEASE_S

Delivers through the real webhook channel (o2o-webhook) to SINK_URL. With
``O2O_TEST_PAUSE_AFTER=N`` it stops after the N-th message the sink accepted — before the
batch is recorded — touches ``O2O_TEST_MARKER`` and sleeps, waiting to be killed.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from o2o_webhook import WebhookChannel

from o2o_sdk import O2O, Config, DeliveryResult, FollowupSettings, FollowUpTemplate, OutboundMessage, SigningKey

TEMPLATE = FollowUpTemplate("ping", "Ping $customer_id", "Hello $customer_id")
KEYS = (SigningKey("b", b"test-secret-newest-0123456789"), SigningKey("a", b"test-secret-older-0123456789"))


class PausingWebhook(WebhookChannel):
    def __init__(self, url: str, pause_after: int, marker: str) -> None:
        super().__init__(url, "test-secret")
        self.accepted = 0
        self.pause_after = pause_after
        self.marker = marker

    def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
        result = super().send(message, idempotency_key)
        self.accepted += 1
        if self.accepted == self.pause_after:
            Path(self.marker).write_text(str(os.getpid()))
            time.sleep(600)  # accepted by the receiver, not yet recorded: kill me here
        return result


def main() -> None:
    url, sink, batch, lease = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    settings = FollowupSettings(quiet_hours=None, cap_per_day=None, cap_per_week=None, lease=timedelta(seconds=lease),
                                batch_size=batch)  # fmt: skip
    config = Config(database_url=url, secret_keys=KEYS, base_url="https://shop.example", followups=settings)
    with O2O(config) as sdk:
        sdk.followups.add_template(TEMPLATE)
        pause = int(os.environ.get("O2O_TEST_PAUSE_AFTER", "0"))
        sdk.followups.channels.add(PausingWebhook(sink, pause, os.environ.get("O2O_TEST_MARKER", "")))
        counts = sdk.followups.run_once(plan=False)
        print(counts.as_dict(), flush=True)


if __name__ == "__main__":
    main()

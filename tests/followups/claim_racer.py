"""A process that only claims (never sends, never completes), for the claim-race test.

    python claim_racer.py DATABASE_URL GO_FILE WORKER_ID

Builds its SDK, waits until GO_FILE exists, then claims one row at a time until a claim comes
back empty, and prints the ``[id, customer_id]`` pairs it claimed as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta

from o2o_sdk import O2O, Config, SigningKey

KEYS = (SigningKey("b", b"test-secret-newest-0123456789"),)


def main() -> None:
    url, go, worker_id = sys.argv[1], sys.argv[2], sys.argv[3]
    with O2O(Config(database_url=url, secret_keys=KEYS)) as sdk:
        outbox = sdk.followups._outbox
        sdk.followups.counts()  # connections open before the start
        deadline = time.monotonic() + 60
        while not os.path.exists(go):
            if time.monotonic() > deadline:
                raise SystemExit("no start signal within 60 s")
            time.sleep(0.002)
        claimed: list[tuple[str, str]] = []
        while True:
            now = sdk.clock.now()
            batch = outbox.claim(worker_id, now, 1, now + timedelta(minutes=5))
            if not batch:
                break
            claimed += [(f.id, f.customer_id) for f in batch]
        print(json.dumps(claimed), flush=True)


if __name__ == "__main__":
    main()

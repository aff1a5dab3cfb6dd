"""``o2o followups``: list the outbox, run a worker, retry dead follow-ups, cancel pending ones."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..models import FollowUpStatus
from ._util import print_json

if TYPE_CHECKING:
    from ..followups import RunCounts
    from ..sdk import O2O


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fu = sub.add_parser("followups", help="follow-ups: the outbox and its workers")
    fsub = fu.add_subparsers(dest="followups_command", metavar="COMMAND", required=True)

    p = fsub.add_parser("list", help="follow-ups in the outbox, with counts per status")
    p.add_argument("--status", choices=[s.value for s in FollowUpStatus])
    p.add_argument("--customer")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)

    p = fsub.add_parser("run", help="plan and deliver follow-ups (a worker; several may run in parallel)")
    p.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    p.add_argument("--batch", type=int, help="follow-ups claimed per batch (default from the settings)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds to sleep when idle (default 1)")
    p.add_argument("--worker-id", help="name of this worker (default host:pid:random)")
    p.add_argument("--no-plan", action="store_true", help="only deliver; leave planning to other workers")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true", help="print the final counts as JSON")
    p.set_defaults(func=_run)

    p = fsub.add_parser("retry", help="make dead follow-ups due again (all, or the ids given)")
    p.add_argument("ids", nargs="*")
    p.add_argument("--all-dead", action="store_true", help="every dead follow-up")
    p.set_defaults(func=_retry)

    p = fsub.add_parser("cancel", help="cancel pending follow-ups by id, or all of a customer")
    p.add_argument("ids", nargs="*")
    p.add_argument("--customer")
    p.add_argument("--channel")
    p.add_argument("--reason", default="cancelled by the shop")
    p.set_defaults(func=_cancel)


def _list(sdk: O2O, args: argparse.Namespace) -> int:
    rows = sdk.followups.list(status=args.status, customer_id=args.customer, limit=args.limit)
    counts = sdk.followups.counts()
    if args.json:
        print_json(sdk.converter, {"counts": counts, "followups": rows})
        return 0
    print("  ".join(f"{status} {n}" for status, n in counts.items()) or "the outbox is empty")
    for f in rows:
        when = f.sent_at or f.finished_at or f.due_at
        line = f"{f.id}  {f.status.value:<9} {f.flow:<16} {f.channel:<8} {f.customer_id:<16} {when:%Y-%m-%d %H:%M} UTC  attempts {f.attempts}"
        if f.last_error:
            line += f"  ({f.last_error})"
        print(line)
    return 0


class _Ticker:
    """Progress on stderr: a line per second at most, with the delivery rate."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, counts: RunCounts, final: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or (not final and now - self.last < 1.0):
            return
        self.last = now
        rate = counts.sent / max(now - self.start, 1e-9)
        print(f"followups: {counts} ({rate:,.0f} sent/s)", file=sys.stderr, flush=True)


def _run(sdk: O2O, args: argparse.Namespace) -> int:
    if args.batch is not None and args.batch < 1:
        raise InvalidInput("--batch must be at least 1.")
    ticker = _Ticker(args.quiet)
    if args.once:
        counts = sdk.followups.run_once(worker_id=args.worker_id, batch_size=args.batch, plan=not args.no_plan, progress=ticker)
    else:
        stop = threading.Event()

        def _stop(signum: int, frame: Any) -> None:  # finish the current batch, then exit
            stop.set()

        previous = signal.signal(signal.SIGTERM, _stop)
        try:
            counts = sdk.followups.run(worker_id=args.worker_id, batch_size=args.batch, poll_interval=args.interval,
                                       plan_interval=1.0 if not args.no_plan else float("inf"), stop=stop, progress=ticker)  # fmt: skip
        except KeyboardInterrupt:
            stop.set()
            return 130
        finally:
            signal.signal(signal.SIGTERM, previous)
    ticker(counts, final=True)
    if args.json:
        print_json(sdk.converter, counts.as_dict())
    return 0


def _retry(sdk: O2O, args: argparse.Namespace) -> int:
    if not args.ids and not args.all_dead:
        raise InvalidInput("Give follow-up ids, or --all-dead.")
    n = sdk.followups.retry(None if args.all_dead else args.ids)
    print(f"{n} follow-up{'s' if n != 1 else ''} due again")
    return 0


def _cancel(sdk: O2O, args: argparse.Namespace) -> int:
    if not args.ids and not args.customer:
        raise InvalidInput("Give follow-up ids, or --customer.")
    n = sdk.followups.cancel(args.ids or None, customer_id=args.customer, channel=args.channel, reason=args.reason)
    print(f"{n} follow-up{'s' if n != 1 else ''} cancelled")
    return 0

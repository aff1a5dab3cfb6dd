"""The O2O2O funnel, counted in the database.

Semantics (also in ``docs/measurement.md``): an ordered, per-customer funnel. A customer
enters at their first step-1 event in the period; they reach step *k* at their first step-*k*
event at or after the moment they reached step *k-1*. Their store is the store of the event
that reached the first step with ``has_store`` (the first by ``seq`` at that time).

How it is counted (measured on 1M events in ``docs/benchmarks.md``):

1. **One aggregate pass** over the journal grouped by customer (SQLite reads the covering
   ``(customer_id, type, at, offer_id, store_id)`` index in order; PostgreSQL hash-aggregates
   a parallel scan) gives each entering customer's first time at every step (``MIN(at)
   FILTER (WHERE`` the step's types and scope ``)``) and a sortable (time, ``seq``, store) key
   of their first store-step event, into a temporary table. Most customers meet the steps in
   order: while each first time is at or after the previous one, the first times *are* the
   step times. A customer whose first step-K event comes before they reached step K-1 (a
   store search before the voucher, an order at the till before the follow-up click) is
   marked ``r = -K``.
2. **Resume rounds** for the marked customers only: the same pass over their events at or
   after step K-1's time, where the first step-K event is the step-K time, and so on. Each
   round settles at least one more step of each, so there are at most as many rounds as
   steps (usually one).
3. One ``GROUP BY`` (day, store) and ``percentile_cont`` on PostgreSQL; SQLite, which has no
   percentile function, fetches the compact rows (one per customer) and counts in Python.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from itertools import islice
from operator import itemgetter, sub
from typing import Any

import attrs

from ..errors import InvalidInput
from ..storage import Storage
from . import _db
from ._events import EventNames

__all__ = ["FunnelStep", "count_funnel", "default_steps"]


@attrs.frozen
class FunnelStep:
    """One step: its name, a label for people, and the journal event types that reach it."""

    name: str
    label: str
    types: tuple[str, ...]
    #: With an offer filter, only events of that offer count for this step.
    offer_scoped: bool = False
    #: The first step with ``has_store`` gives a customer's store (per-store breakdowns).
    has_store: bool = False


def default_steps(names: EventNames) -> tuple[FunnelStep, ...]:
    """issued → viewed → store searched → checked in → redeemed → follow-up delivered →
    follow-up clicked → returned (an order online or in store)."""
    return (
        FunnelStep("issued", "Voucher issued", (names.issued,), offer_scoped=True),
        FunnelStep("viewed", "Voucher viewed", (names.viewed,), offer_scoped=True),
        FunnelStep("searched", "Store searched", (names.searched,)),
        FunnelStep("checked_in", "Checked in", (names.checked_in,), has_store=True),
        FunnelStep("redeemed", "Redeemed", (names.redeemed,), offer_scoped=True, has_store=True),
        FunnelStep("followup_delivered", "Follow-up delivered", (names.followup_delivered,)),
        FunnelStep("followup_clicked", "Follow-up clicked", (names.followup_clicked,)),
        FunnelStep("returned", "Returned", names.orders),
    )


@attrs.frozen
class RawFunnel:
    """What the database counted: per (day, store) customers reaching each step, and medians."""

    #: ``(day, store_id or None, counts per step)``.
    groups: list[tuple[str, str | None, tuple[int, ...]]]
    #: Median seconds from step k-1 to step k (index k; index 0 is ``None``).
    medians: list[float | None]


#: The per-customer table: ``c`` customer, ``r`` steps reached (``-K``: right up to step K-1,
#: step K to be settled by a resume round), ``t0``… the time each step was reached (meaningful
#: for ``k < |r|``), ``store`` (meaningful once the store step is reached).
_TABLE = "o2o_funnel_tmp"
#: A resume round's rows, before they replace the marked ones.
_NEXT = "o2o_funnel_next"
#: PostgreSQL memory for the one aggregate pass (per sort or hash; a 1M-event journal needs ~50 MB).
_PG_WORK_MEM = "64MB"


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


@attrs.frozen
class _Scope:
    """One funnel query: the steps and the filters that decide which events count."""

    steps: tuple[FunnelStep, ...]
    store_step: int | None
    offer: str | None
    since: datetime | None
    until: datetime | None

    def scoped(self, k: int) -> bool:
        return self.offer is not None and self.steps[k].offer_scoped

    def step_condition(self, k: int) -> tuple[str, list[Any]]:
        """SQL: this journal row is a step-``k`` event (the time window is applied apart)."""
        types = self.steps[k].types
        cond = "type = ?" if len(types) == 1 else f"type IN ({_marks(types)})"
        params: list[Any] = list(types)
        if self.scoped(k):
            cond += " AND offer_id = ?"
            params.append(self.offer)
        return cond, params

    def window(self, sql: _db.Sql) -> tuple[str, list[Any]]:
        """SQL: the journal row is in the period."""
        where, params = "", []
        if self.since is not None:
            where += " AND at >= ?"
            params.append(sql.ts(self.since))
        if self.until is not None:
            where += " AND at < ?"
            params.append(sql.ts(self.until))
        return where, params


def count_funnel(storage: Storage, steps: Sequence[FunnelStep], *, offer: str | None = None, store: str | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> RawFunnel:  # fmt: skip
    """Count ``steps`` in the database (see the module docstring for the semantics)."""
    if not steps:
        raise InvalidInput("A funnel needs at least one step.")
    if any(not s.types for s in steps):
        raise InvalidInput("Every funnel step needs at least one event type.")
    store_step = next((i for i, s in enumerate(steps) if s.has_store), None)
    if store is not None and store_step is None:
        raise InvalidInput("None of the funnel's steps carries a store; cannot filter by store.")
    scope = _Scope(tuple(steps), store_step, offer, since, until)
    with _db.read(storage, consistent=True) as sql:
        if sql.postgres:  # compiling a report-sized statement costs more than it saves; hash, don't spill
            sql.execute("SET LOCAL jit = off")
            sql.execute(f"SET LOCAL work_mem = '{_PG_WORK_MEM}'")
        # PostgreSQL drops them with the transaction (also when a statement fails)
        temp = "TEMP TABLE {} ON COMMIT DROP" if sql.postgres else "TEMP TABLE {}"
        if not sql.postgres:
            _drop_sqlite_tables(sql)
        try:
            select, params = _first_times(sql, scope)
            sql.execute(f"CREATE {temp.format(_TABLE)} AS {select}", params)
            # each round settles at least one more step of every marked customer
            for round_ in range(len(steps)):
                marked = [-int(row[0]) for row in sql.all(f"SELECT DISTINCT r FROM {_TABLE} WHERE r < 0")]
                if not marked:
                    break
                if sql.postgres and round_ == 0:  # without statistics it probes the journal per customer
                    sql.execute(f"ANALYZE {_TABLE}")
                # PostgreSQL hashes the journal once for all of them; SQLite seeks only the
                # types that matter to each group
                groups = [sorted(marked)] if sql.postgres else [[k] for k in sorted(marked)]
                for i, resume in enumerate(groups):
                    select, params = _first_times(sql, scope, resume=resume)
                    sql.execute(f"CREATE {temp.format(_NEXT)} AS {select}" if i == 0 else f"INSERT INTO {_NEXT} {select}", params)
                sql.execute(f"DELETE FROM {_TABLE} WHERE r < 0")
                sql.execute(f"INSERT INTO {_TABLE} SELECT * FROM {_NEXT}")
                sql.execute(f"DROP TABLE {_NEXT}")
            return (_count_postgres if sql.postgres else _count_sqlite)(sql, scope, store)
        finally:
            if not sql.postgres:
                _drop_sqlite_tables(sql)


def _drop_sqlite_tables(sql: _db.Sql) -> None:
    for table in (_NEXT, _TABLE):
        sql.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _store_key(sql: _db.Sql) -> tuple[str, int]:
    """SQL for a text key of a journal row that sorts by (time, seq) and ends with ``=store``
    (nothing when the row has no store); and the key's length before the ``=``."""
    if sql.postgres:
        at, width = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')", 26
        seq = "lpad(seq::text, 20, '0')"
    else:  # SQLite stores fixed-width UTC text (the storage's ts_in), 32 characters
        at, width, seq = "at", 32, "printf('%020d', seq)"
    return f"{at} || {seq} || COALESCE('=' || store_id, '')", width + 20


def _first_times(sql: _db.Sql, scope: _Scope, *, resume: Sequence[int] = ()) -> tuple[str, list[Any]]:
    """The statement giving per-customer rows from one aggregate pass over the journal.

    Without ``resume``: every entering customer. With ``resume``: the customers marked
    ``r = -K`` in the table for each K in it, whose times are right up to step K-1; the pass
    reads their events of steps K-1… at or after that time (so the first step-K event is the
    step-K time) and goes on in the same way.
    """
    n = len(scope.steps)
    low = min(resume, default=0)
    params: list[Any] = []
    aggregates = []
    for k in range(low, n):
        cond, p = scope.step_condition(k)
        aggregates.append(f"MIN(at) FILTER (WHERE {cond}) AS m{k}")
        params += p
    store = "CAST(NULL AS TEXT)"
    s = scope.store_step
    if s is not None and s >= low:
        key, width = _store_key(sql)
        cond, p = scope.step_condition(s)
        aggregates.append(f"MIN({key}) FILTER (WHERE {cond}) AS sk")
        params += p
        # the store of the first store-step event read: the customer's store if they reach that step
        store = f"CASE WHEN length(sk) > {width} THEN substr(sk, {width + 2}) END"

    def chain(k: int) -> str:
        """Steps reached when the steps before k were reached at their first times m…: the
        first step-k time too if it is not earlier, else ``-k`` (settled by another pass)."""
        if k == n:
            return str(n)
        return f"CASE WHEN m{k} >= m{k - 1} THEN {chain(k + 1)} WHEN m{k} IS NULL THEN {k} ELSE -{k} END"

    where, p = scope.window(sql)
    # resuming: with step K-1's types, the event that reached it keeps every customer in the pass
    types = sorted({t for step in scope.steps[max(low - 1, 0):] for t in step.types})
    params += [*types, *p]
    if not resume:
        if p or scope.scoped(0):
            # a filter leaves fewer customers: read only theirs (SQLite seeks each one's range)
            cond, cp = scope.step_condition(0)
            where += f" AND customer_id IN (SELECT customer_id FROM journal WHERE {cond}{where})"
            params += [*cp, *p]
        times = ", ".join(f"m{k} AS t{k}" for k in range(n))
        return (
            f"SELECT c, {chain(1)} AS r, {times}, {store} AS store FROM (SELECT customer_id AS c,"
            f" {', '.join(aggregates)} FROM journal WHERE customer_id IS NOT NULL AND type IN ({_marks(types)}){where}"
            " GROUP BY customer_id) g WHERE m0 IS NOT NULL"
        ), params
    # step K is reached at m_K (every event read is at or after step K-1), then the chain goes on
    reached = "CASE g.r " + " ".join(f"WHEN -{k} THEN CASE WHEN m{k} IS NULL THEN {k} ELSE {chain(k + 1)} END" for k in resume) + " END"
    high = max(resume)
    times = ", ".join((f"g.t{k}" if k < low else f"CASE WHEN -g.r > {k} THEN g.t{k} ELSE m{k} END" if k < high else f"m{k}")
                      + f" AS t{k}" for k in range(n))  # fmt: skip
    if s is not None:
        store = "g.store" if s < low else f"CASE WHEN -g.r > {s} THEN g.store ELSE {store} END"
    start = "CASE t.r " + " ".join(f"WHEN -{k} THEN t.t{k - 1}" for k in resume) + " END"
    # MIN() of the table's columns: each is one value per customer
    known = ", ".join(f"MIN(t.{col}) AS {col}" for col in ("r", *(f"t{k}" for k in range(high)), "store"))
    marked = ", ".join(f"-{k}" for k in resume)
    # CROSS JOIN: SQLite reads each marked customer's index range in table order, so grouping
    # by rowid needs no sort (PostgreSQL hashes)
    group = "t.c" if sql.postgres else "t.rowid"
    return (
        f"SELECT g.c AS c, {reached} AS r, {times}, {store} AS store FROM (SELECT t.c AS c, {known}, {', '.join(aggregates)}"
        f" FROM {_TABLE} t CROSS JOIN journal WHERE t.r IN ({marked}) AND customer_id = t.c AND type IN ({_marks(types)})"
        f" AND at >= {start}{where} GROUP BY {group}) g"
    ), params


def _store_filter(scope: _Scope, store: str | None) -> tuple[str, list[Any]]:
    """SQL: the customer's store (``NULL`` until they reach the store step), and a ``WHERE``
    keeping one store's customers."""
    if scope.store_step is None:
        return "CAST(NULL AS TEXT)", []
    column = f"CASE WHEN r > {scope.store_step} THEN store END"
    return column, ([] if store is None else [store])


def _count_postgres(sql: _db.Sql, scope: _Scope, store: str | None) -> RawFunnel:
    """PostgreSQL: one ``GROUP BY`` (day, store) and one ``percentile_cont`` per step."""
    n = len(scope.steps)
    column, fparams = _store_filter(scope, store)
    filt = f" WHERE r > {scope.store_step} AND store = ?" if fparams else ""
    counts = ", ".join(["COUNT(*)", *(f"COUNT(CASE WHEN r > {k} THEN 1 END)" for k in range(1, n))])
    rows = sql.all(f"SELECT {sql.day_of('t0')}, {column}, {counts} FROM {_TABLE}{filt} GROUP BY 1, 2 ORDER BY 1, 2", fparams)
    groups = [(str(r[0]), r[1], tuple(int(x) for x in r[2:])) for r in rows]
    medians: list[float | None] = [None] * n
    if n > 1:
        parts = ", ".join(
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM t{k} - t{k - 1})::float8)"
            f" FILTER (WHERE r > {k})" for k in range(1, n)
        )
        row = sql.one(f"SELECT {parts} FROM {_TABLE}{filt}", fparams)
        for k in range(1, n):
            medians[k] = None if row[k - 1] is None else round(float(row[k - 1]), 3)
    return RawFunnel(groups, medians)


def _count_sqlite(sql: _db.Sql, scope: _Scope, store: str | None) -> RawFunnel:
    """SQLite (no percentile function; its sorts are slow here): fetch the compact table, one
    row per customer with its times in microseconds since the epoch, and count and take exact
    medians column by column."""
    n = len(scope.steps)
    column, fparams = _store_filter(scope, store)
    filt = f" WHERE r > {scope.store_step} AND store = ?" if fparams else ""
    # SQLite stores fixed-width UTC text: the day is its first ten characters, the
    # microseconds characters 21-26
    epoch = "unixepoch({})" if sqlite3.sqlite_version_info >= (3, 38) else "CAST(strftime('%s', {}) AS INTEGER)"
    micros = ", ".join(f"{epoch.format(f't{k}')} * 1000000 + CAST(substr(t{k}, 21, 6) AS INTEGER)" for k in range(n))
    rows = sql.all(f"SELECT r, {column}, substr(t0, 1, 10), {micros} FROM {_TABLE}{filt}", fparams)
    if not rows:
        return RawFunnel([], [None] * n)
    # most steps first: the customers who reached step k are then a prefix of the rows
    rows.sort(key=itemgetter(0), reverse=True)
    reached = list(map(itemgetter(0), rows))
    # customers per (day of entry, store, steps reached), then per step
    per_group: dict[tuple[str, str | None], list[int]] = {}
    for (day, shop, r), count in Counter(map(itemgetter(2, 1, 0), rows)).items():
        counts = per_group.setdefault((day, shop), [0] * n)
        for k in range(r):
            counts[k] += count
    medians: list[float | None] = [None] * n
    prev: list[int] = []
    for k in range(n):
        size = _prefix_above(reached, k)
        if size == 0:
            break
        cur = list(map(itemgetter(k + 3), islice(rows, size)))
        if k:
            medians[k] = round(statistics.median(list(map(sub, cur, prev))) / 1e6, 3)
        prev = cur
    return RawFunnel([(day, shop, tuple(counts)) for (day, shop), counts in per_group.items()], medians)


def _prefix_above(values_desc: Sequence[int], k: int) -> int:
    """How many of ``values_desc`` (sorted descending) are greater than ``k``."""
    lo, hi = 0, len(values_desc)
    while lo < hi:
        mid = (lo + hi) // 2
        if values_desc[mid] > k:
            lo = mid + 1
        else:
            hi = mid
    return lo

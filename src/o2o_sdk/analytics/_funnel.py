"""The O2O2O funnel, counted in SQL.

Semantics (also in ``docs/measurement.md``): an ordered, per-customer funnel. A customer
enters at their first step-1 event in the period; they reach step *k* at their first step-*k*
event at or after the moment they reached step *k-1*.

Everything is counted in the database, in one statement per backend that fills a temporary
per-customer table of step times (a layer per step: SQLite probes the ``(type, customer_id,
at)`` index once per customer, PostgreSQL hash-joins each layer with the step's events), then
one ``GROUP BY`` (day, store) and one median query over that table. Measured on 1M events in
``docs/benchmarks.md``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from datetime import datetime
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


_TABLE = "o2o_funnel_tmp"


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def count_funnel(storage: Storage, steps: Sequence[FunnelStep], *, offer: str | None = None, store: str | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> RawFunnel:  # fmt: skip
    """Count ``steps`` in the database (see the module docstring for the semantics)."""
    if not steps:
        raise InvalidInput("A funnel needs at least one step.")
    store_step = next((i for i, s in enumerate(steps) if s.has_store), None)
    if store is not None and store_step is None:
        raise InvalidInput("None of the funnel's steps carries a store; cannot filter by store.")
    n = len(steps)
    cols = [f"a{i}" for i in range(n)]
    with _db.read(storage) as sql:

        def scope(step: FunnelStep, alias: str) -> tuple[str, list[Any]]:
            where, params = "", []
            if offer is not None and step.offer_scoped:
                where += f" AND {alias}offer_id = ?"
                params.append(offer)
            if since is not None:
                where += f" AND {alias}at >= ?"
                params.append(sql.ts(since))
            if until is not None:
                where += f" AND {alias}at < ?"
                params.append(sql.ts(until))
            return where, params

        ctes, params = (_postgres_ctes if sql.postgres else _sqlite_ctes)(steps, store_step, scope)
        sql.execute(f"DROP TABLE IF EXISTS {_TABLE}")
        try:
            if sql.postgres:  # grouped CTEs are estimated at 200 rows: nested loops would probe per customer
                sql.execute("SET enable_nestloop = off")
            try:
                sql.execute(f"CREATE TEMP TABLE {_TABLE} AS {ctes}", params)
            finally:
                if sql.postgres:
                    sql.execute("RESET enable_nestloop")
            filt, fparams = (" WHERE store = ?", [store]) if store is not None else ("", [])
            counts = ", ".join(f"COUNT({c})" for c in cols)
            rows = sql.all(f"SELECT {sql.day_of('a0')}, store, {counts} FROM {_TABLE}{filt} GROUP BY 1, 2 ORDER BY 1, 2", fparams)
            groups = [(str(r[0]), r[1], tuple(int(x) for x in r[2:])) for r in rows]
            medians: list[float | None] = [None] * n
            if n > 1:
                for k, value in _medians(sql, cols, filt, fparams):
                    medians[k] = None if value is None else round(float(value), 3)
        finally:
            sql.execute(f"DROP TABLE IF EXISTS {_TABLE}")
    return RawFunnel(groups, medians)


Scope = Callable[[FunnelStep, str], tuple[str, list[Any]]]


def _sqlite_ctes(steps: Sequence[FunnelStep], store_step: int | None, scope: Scope) -> tuple[str, list[Any]]:
    """SQLite: each layer adds one step's time with an index seek per customer (``MIN()`` over
    the ``(type, customer_id, at)`` index is one probe); layers are materialised so that no
    expression is evaluated twice."""
    first = steps[0]
    where, params = scope(first, "")
    layers = [f"l0 AS MATERIALIZED (SELECT customer_id AS c, MIN(at) AS a0, NULL AS store FROM journal"
              f" WHERE type IN ({_marks(first.types)}) AND customer_id IS NOT NULL{where} GROUP BY customer_id)"]  # fmt: skip
    params = [*first.types, *params]
    for k in range(1, len(steps)):
        step = steps[k]
        probes = []
        for t in step.types:
            where, extra = scope(step, "j.")
            probes.append(f"(SELECT MIN(j.at) FROM journal j WHERE j.type = ? AND j.customer_id = p.c AND j.at >= p.a{k - 1}{where})")
            params += [t, *extra]
        value = probes[0] if len(probes) == 1 else (
            "NULLIF(MIN(" + ", ".join(f"COALESCE({x}, '9999')" for x in probes) + "), '9999')"  # scalar MIN() is NULL if any is
        )  # fmt: skip
        store = "p.store"
        if k == store_step:
            store = (f"(SELECT j.store_id FROM journal j WHERE j.type IN ({_marks(step.types)}) AND j.customer_id = p.c"
                     f" AND j.at = x.v ORDER BY j.seq LIMIT 1)")  # fmt: skip
        prev = ", ".join(f"p.a{i}" for i in range(k))
        inner = f"SELECT p.c, {prev}, CASE WHEN p.a{k - 1} IS NULL THEN NULL ELSE {value} END AS v, p.store FROM l{k - 1} p"
        if k == store_step:
            params += list(step.types)
            layers.append(f"l{k} AS MATERIALIZED (SELECT x.c, {', '.join(f'x.a{i}' for i in range(k))}, x.v AS a{k},"
                          f" CASE WHEN x.v IS NULL THEN NULL ELSE {store.replace('p.c', 'x.c')} END AS store FROM ({inner}) x)")  # fmt: skip
        else:
            layers.append(f"l{k} AS MATERIALIZED (SELECT x.c, {', '.join(f'x.a{i}' for i in range(k))}, x.v AS a{k}, x.store"
                          f" FROM ({inner}) x)")  # fmt: skip
    return f"WITH {', '.join(layers)} SELECT * FROM l{len(steps) - 1}", params


def _postgres_ctes(steps: Sequence[FunnelStep], store_step: int | None, scope: Scope) -> tuple[str, list[Any]]:
    """PostgreSQL: each layer is a hash join of the previous layer's customers with the step's
    events and a grouped ``MIN()`` (``DISTINCT ON`` for the step that gives the store)."""
    first = steps[0]
    where, params = scope(first, "")
    layers = [f"s0 AS MATERIALIZED (SELECT customer_id AS c, MIN(at) AS t FROM journal"
              f" WHERE type IN ({_marks(first.types)}) AND customer_id IS NOT NULL{where} GROUP BY customer_id)"]  # fmt: skip
    params = [*first.types, *params]
    for k in range(1, len(steps)):
        step = steps[k]
        where, extra = scope(step, "j.")
        join = (f"FROM s{k - 1} p JOIN journal j ON j.customer_id = p.c AND j.type IN ({_marks(step.types)})"
                f" AND j.at >= p.t{where}")  # fmt: skip
        if k == store_step:
            layers.append(f"s{k} AS MATERIALIZED (SELECT DISTINCT ON (p.c) p.c, j.at AS t, j.store_id AS store {join}"
                          " ORDER BY p.c, j.at, j.seq)")  # fmt: skip
        else:
            layers.append(f"s{k} AS MATERIALIZED (SELECT p.c, MIN(j.at) AS t {join} GROUP BY p.c)")
        params += [*step.types, *extra]
    store = f"s{store_step}.store" if store_step is not None else "CAST(NULL AS TEXT)"
    select = ", ".join(f"s{k}.t AS a{k}" for k in range(len(steps)))
    joins = " ".join(f"LEFT JOIN s{k} ON s{k}.c = s0.c" for k in range(1, len(steps)))
    return f"WITH {', '.join(layers)} SELECT s0.c, {select}, {store} AS store FROM s0 {joins}", params


def _medians(sql: _db.Sql, cols: Sequence[str], filt: str, fparams: list[Any]) -> list[tuple[int, Any]]:
    """Median seconds between consecutive steps, computed in the database."""
    if sql.postgres:
        parts = ", ".join(
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM {cols[k]} - {cols[k - 1]})::float8)"
            f" FILTER (WHERE {cols[k]} IS NOT NULL)" for k in range(1, len(cols))
        )
        row = sql.one(f"SELECT {parts} FROM {_TABLE}{filt}", fparams)
        return [(k, row[k - 1]) for k in range(1, len(cols))]
    # SQLite has no percentile function and its window sort is slow here: fetch the compact
    # per-customer times (one row per customer) and take exact medians.
    rows = sql.all(f"SELECT {', '.join(cols)} FROM {_TABLE}{filt}", fparams)
    deltas: list[list[float]] = [[] for _ in cols]
    parse = datetime.fromisoformat
    for row in rows:
        prev = parse(row[0]).timestamp()
        for k in range(1, len(cols)):
            value = row[k]
            if value is None:
                break
            cur = parse(value).timestamp()
            deltas[k].append(cur - prev)
            prev = cur
    return [(k, statistics.median(deltas[k]) if deltas[k] else None) for k in range(1, len(cols))]

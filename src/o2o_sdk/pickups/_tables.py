"""All SQL of pickups: the pickups, slot bookings and the SDK's own inventory holds.

A step of a pickup is one write transaction: the row is read with ``FOR UPDATE`` (PostgreSQL)
or under SQLite's single write lock (``BEGIN IMMEDIATE``), checked, and written back with
``version = version + 1 WHERE version = <read>``, so two staff members handing over the same
order produce exactly one handover.

Booking a slot is one conditional statement in the pickup's insert transaction::

    INSERT INTO pickup_slots (store_id, slot_start, booked) VALUES (?, ?, 0) ON CONFLICT DO NOTHING;
    UPDATE pickup_slots SET booked = booked + 1 WHERE store_id = ? AND slot_start = ? AND booked < ?

On PostgreSQL concurrent updates of the slot row queue on its row lock and re-check
``booked < capacity`` after the one before them commits, so N concurrent bookings of a slot
of capacity C succeed exactly min(N, C) times.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..models import OrderLine, Pickup, PickupState

if TYPE_CHECKING:
    import cattrs

    from ..storage import Storage
    from ..storage._sql import SQLStorage, SQLTransaction

__all__ = ["PickupTables"]

_COLS = "id, kind, store_id, state, customer_id, platform, order_id, deadline, slot_start, version, created_at, updated_at, data"


class PickupTables:
    """The pickup tables of one SQL storage (the built-in SQLite and PostgreSQL backends)."""

    def __init__(self, storage: Storage, converter: cattrs.Converter) -> None:
        from ..storage._sql import SQLStorage

        if not isinstance(storage, SQLStorage):
            raise ConfigurationError(f"Pickups need one of the built-in SQL storages; {type(storage).__name__} is not one.")
        self._s: SQLStorage = storage
        self._d = storage.dialect
        self._converter = converter

    # ------------------------------------------------------------------ plumbing
    def _q(self, sql: str) -> str:
        return self._d.q(sql)

    def transaction(self) -> AbstractContextManager[SQLTransaction]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        return self._s.atomic()

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._s._read() as cur:
            return list(cur.execute(self._q(sql), params).fetchall())

    def _row(self, r: Sequence[Any]) -> Pickup:
        return self._converter.structure(json.loads(r[12]), Pickup)

    def _params(self, p: Pickup) -> tuple[Any, ...]:
        ts = self._d.ts_in
        data = json.dumps(self._converter.unstructure(p), separators=(",", ":"), sort_keys=True, default=str)
        return (
            p.id, p.kind.value, p.store_id, p.state.value, p.customer_id, p.platform, p.order_id, ts(p.deadline),
            ts(p.slot_start), p.version, ts(p.created_at), ts(p.updated_at), data,
        )  # fmt: skip

    # ------------------------------------------------------------------ pickups
    def insert(self, tx: SQLTransaction, pickup: Pickup) -> bool:
        """Insert; ``False`` when a pickup of the same platform order exists (nothing written)."""
        cur = tx.cur.execute(
            self._q(f"INSERT INTO pickups ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
            self._params(pickup),
        )
        return int(cur.rowcount) == 1

    def lock(self, tx: SQLTransaction, pickup_id: str) -> Pickup | None:
        row = tx.cur.execute(self._q(f"SELECT {_COLS} FROM pickups WHERE id = ?" + self._d.for_update), (pickup_id,)).fetchone()
        return None if row is None else self._row(row)

    def update(self, tx: SQLTransaction, pickup: Pickup, read_version: int) -> bool:
        """Write a step back; ``False`` if another transaction changed the row since it was read."""
        params = self._params(pickup)
        cur = tx.cur.execute(
            self._q(
                "UPDATE pickups SET state = ?, customer_id = ?, deadline = ?, slot_start = ?, version = ?,"
                " updated_at = ?, data = ? WHERE id = ? AND version = ?"
            ),
            (params[3], params[4], params[7], params[8], params[9], params[11], params[12], pickup.id, read_version),
        )
        return int(cur.rowcount) == 1

    def get(self, pickup_id: str) -> Pickup | None:
        rows = self._all(f"SELECT {_COLS} FROM pickups WHERE id = ?", (pickup_id,))
        return self._row(rows[0]) if rows else None

    def by_order(self, platform: str, order_id: str) -> Pickup | None:
        rows = self._all(f"SELECT {_COLS} FROM pickups WHERE platform = ? AND order_id = ?", (platform, order_id))
        return self._row(rows[0]) if rows else None

    def select(self, *, store_id: str | None = None, states: Iterable[PickupState] = (), customer_id: str | None = None,
             limit: int = 1000) -> list[Pickup]:  # fmt: skip
        where, params = [], []
        if store_id is not None:
            where.append("store_id = ?")
            params.append(store_id)
        wanted = [s.value for s in states]
        if wanted:
            where.append(f"state IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if customer_id is not None:
            where.append("customer_id = ?")
            params.append(customer_id)
        sql = f"SELECT {_COLS} FROM pickups" + (" WHERE " + " AND ".join(where) if where else "")
        return [self._row(r) for r in self._all(sql + " ORDER BY created_at, id LIMIT ?", (*params, int(limit)))]

    def past_deadline(self, now: datetime, states: Iterable[PickupState], limit: int) -> list[str]:
        wanted = [s.value for s in states]
        rows = self._all(
            f"SELECT id FROM pickups WHERE state IN ({', '.join('?' * len(wanted))}) AND deadline IS NOT NULL"
            " AND deadline <= ? ORDER BY deadline, id LIMIT ?",
            (*wanted, self._d.ts_in(now), int(limit)),
        )
        return [str(r[0]) for r in rows]

    # ------------------------------------------------------------------ slots
    def book_slot(self, tx: SQLTransaction, store_id: str, slot_start: datetime, capacity: int) -> bool:
        at = self._d.ts_in(slot_start)
        tx.cur.execute(
            self._q("INSERT INTO pickup_slots (store_id, slot_start, booked) VALUES (?, ?, 0) ON CONFLICT DO NOTHING"),
            (store_id, at),
        )
        cur = tx.cur.execute(
            self._q("UPDATE pickup_slots SET booked = booked + 1 WHERE store_id = ? AND slot_start = ? AND booked < ?"),
            (store_id, at, int(capacity)),
        )
        return int(cur.rowcount) == 1

    def free_slot(self, tx: SQLTransaction, store_id: str, slot_start: datetime) -> None:
        tx.cur.execute(
            self._q("UPDATE pickup_slots SET booked = booked - 1 WHERE store_id = ? AND slot_start = ? AND booked > 0"),
            (store_id, self._d.ts_in(slot_start)),
        )

    def booked(self, store_id: str, start: datetime, end: datetime) -> dict[datetime, int]:
        rows = self._all(
            "SELECT slot_start, booked FROM pickup_slots WHERE store_id = ? AND slot_start >= ? AND slot_start < ?",
            (store_id, self._d.ts_in(start), self._d.ts_in(end)),
        )
        out: dict[datetime, int] = {}
        for r in rows:
            at = self._d.ts_out(r[0])
            assert at is not None
            out[at] = int(r[1])
        return out

    # ------------------------------------------------------------------ the SDK's own inventory holds
    def hold(self, tx: SQLTransaction, pickup_id: str, store_id: str, items: Sequence[OrderLine], at: datetime) -> None:
        per_sku: dict[str, int] = {}
        for line in items:
            per_sku[line.sku] = per_sku.get(line.sku, 0) + line.quantity
        for sku, qty in per_sku.items():
            tx.cur.execute(
                self._q(
                    "INSERT INTO inventory_holds (pickup_id, store_id, sku, quantity, created_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING"
                ),
                (pickup_id, store_id, sku, qty, self._d.ts_in(at)),
            )

    def release(self, tx: SQLTransaction, pickup_id: str, at: datetime) -> int:
        cur = tx.cur.execute(
            self._q("UPDATE inventory_holds SET released_at = ? WHERE pickup_id = ? AND released_at IS NULL"),
            (self._d.ts_in(at), pickup_id),
        )
        return int(cur.rowcount)

    def held(self, store_ids: Sequence[str], skus: Sequence[str]) -> dict[str, dict[str, int]]:
        """Quantities held by open holds: ``{store_id: {sku: quantity}}``."""
        if not store_ids or not skus:
            return {}
        out: dict[str, dict[str, int]] = {}
        stores, wanted = list(dict.fromkeys(store_ids)), list(dict.fromkeys(skus))
        for i in range(0, len(stores), 500):
            chunk = stores[i : i + 500]
            rows = self._all(
                f"SELECT store_id, sku, SUM(quantity) FROM inventory_holds WHERE released_at IS NULL"
                f" AND store_id IN ({', '.join('?' * len(chunk))}) AND sku IN ({', '.join('?' * len(wanted))})"
                " GROUP BY store_id, sku",
                (*chunk, *wanted),
            )
            for store_id, sku, qty in rows:
                out.setdefault(str(store_id), {})[str(sku)] = int(qty)
        return out

    def any_open_holds(self) -> bool:
        return bool(self._all("SELECT 1 FROM inventory_holds WHERE released_at IS NULL LIMIT 1"))

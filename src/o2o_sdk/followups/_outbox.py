"""All SQL of the follow-up engine: contacts, suppressions, the outbox, its send ledger, cursors.

**Claiming** takes due rows (pending, or claimed with a lease that ran out) in one write
transaction, and never a row of a customer who has another row under a live claim — one
worker at a time works on a customer, so two workers never race for the same customer's
frequency cap::

    candidates: SELECT id, customer_id FROM followups WHERE status IN ('pending', 'claimed') AND due_at <= now
                AND customer_id NOT IN (customers with a row claimed and lease_until > now)
                ORDER BY due_at LIMIT n [FOR UPDATE SKIP LOCKED]
    claim:      UPDATE followups SET status = 'claimed', worker_id, attempts + 1, lease_until, due_at = lease end
                WHERE id IN (candidates) [AND customer_id NOT IN (… the same, checked again)] RETURNING …

On SQLite the transaction is ``BEGIN IMMEDIATE`` (one writer at a time), so the two steps
are one statement and nothing can slip between them. On PostgreSQL ``FOR UPDATE SKIP
LOCKED`` gives parallel workers disjoint rows without waiting, but two of them can still pick
different rows of one customer; so the claim takes a transaction-scoped advisory lock per
candidate customer (``pg_try_advisory_xact_lock`` on a hash of the id; never waiting: a
customer another claim holds now is passed over, and the claim looks further down the queue
to fill its batch), then claims in a new statement — a new snapshot, which sees every claim
committed before the lock was granted — checking again that nobody claimed the customer
meanwhile.

A claimed row's ``due_at`` is its lease end: a worker that dies leaves rows that become due
again when the lease runs out; a live worker extends the lease of its batch past half of it.

**Caps**: a claimed row counts against its customer's caps from the moment it is claimed —
claiming is taking the cap slot. :meth:`Outbox.cap_usage` reads, in one statement, the
customer's recorded sends and every row of theirs claimed by another worker; with the claim
rule above there is none in normal operation, so the count is exact, and after a worker's
lease ran out mid-send its row still counts (conservatively: as sent now) until it is
recorded, so a rescuer of the same customer cannot exceed the cap either. A row goes from
claimed to sent in the transaction that writes its ledger entry, so it is always counted once.

The send ledger (``followup_sends``, primary key = follow-up id) is written in the same
transaction that marks a row sent; a rescued row whose send was already recorded is marked
sent without calling the channel again, and a second recording is counted as a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConfigurationError, NotFound
from ..models import Consent, Contact, FollowUp, FollowUpStatus, JournalEvent, Voucher

if TYPE_CHECKING:
    import cattrs

    from ..storage import Storage
    from ..storage._sql import SQLStorage, SQLTransaction

__all__ = ["Completion", "Outbox"]

_COLS = (
    "id, dedupe_key, flow, channel, template, customer_id, status, due_at, created_at, trigger_at,"
    " idempotency_key, attempts, max_attempts, exit_on, offer_id, voucher_id, transactional, data,"
    " source_seq, lease_until, worker_id, last_error, sent_at, finished_at, provider_id"
)
_CONTACT_COLS = "customer_id, timezone, email, phone, name, consents, last_visit_at"
_LIVE = ("pending", "claimed")
#: How many times a claim looks again when every customer it chose was claimed by another worker
#: meanwhile (PostgreSQL; each time means another claim succeeded, so this bounds nothing in practice).
_CLAIM_TRIES = 100
#: Not a customer with a row under a live claim. (``NOT IN`` rather than a correlated ``NOT
#: EXISTS``: PostgreSQL hashes the few claimed customers once, whatever its statistics say.)
_CUSTOMER_FREE = "customer_id NOT IN (SELECT customer_id FROM followups WHERE status = 'claimed' AND lease_until > ?)"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def customer_lock_key(customer_id: str) -> int:
    """The PostgreSQL advisory-lock key of a customer's follow-ups: a signed 64-bit hash of the
    id (a collision only makes two customers wait for each other)."""
    digest = hashlib.blake2b(customer_id.encode(), digest_size=8, person=b"o2o-followups").digest()
    return int.from_bytes(digest, "big", signed=True)


@attrs.frozen
class Completion:
    """How a worker finished one claimed row (written in one transaction per batch)."""

    followup: FollowUp
    #: ``sent``, ``retry``, ``dead``, ``skipped``, ``postponed`` or ``released``.
    outcome: str
    at: datetime
    due_at: datetime | None = None
    error: str | None = None
    provider_id: str | None = None
    voucher_id: str | None = None


class Outbox:
    """The follow-up tables of one SQL storage (the built-in SQLite and PostgreSQL backends)."""

    def __init__(self, storage: Storage, converter: cattrs.Converter) -> None:
        from ..storage._sql import SQLStorage

        if not isinstance(storage, SQLStorage):
            raise ConfigurationError(
                f"Follow-ups need one of the built-in SQL storages; {type(storage).__name__} is not one."
            )
        self._s: SQLStorage = storage
        self._d = storage.dialect
        self._converter = converter
        self._pg = storage.dialect_name == "postgresql"
        self._for_update = self._d.for_update

    # ------------------------------------------------------------------ plumbing
    def _q(self, sql: str) -> str:
        return self._d.q(sql)

    @contextmanager
    def transaction(self) -> Iterator[SQLTransaction]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        with self._s.atomic() as tx:
            yield tx

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._s._read() as cur:
            return list(cur.execute(self._q(sql), params).fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._s._read() as cur:
            return cur.execute(self._q(sql), params).fetchone()

    def _row(self, r: Sequence[Any]) -> FollowUp:
        ts = self._d.ts_out
        return FollowUp(
            id=r[0], dedupe_key=r[1], flow=r[2], channel=r[3], template=r[4], customer_id=r[5],
            status=FollowUpStatus(r[6]), due_at=ts(r[7]), created_at=ts(r[8]), trigger_at=ts(r[9]),  # type: ignore[arg-type]
            idempotency_key=r[10], attempts=int(r[11]), max_attempts=int(r[12]),
            exit_on=tuple(x for x in (r[13] or "").split(",") if x), offer_id=r[14], voucher_id=r[15],
            transactional=bool(r[16]), data=json.loads(r[17]) if r[17] else {},
            source_seq=int(r[18]) if r[18] is not None else None, lease_until=ts(r[19]), worker_id=r[20],
            last_error=r[21], sent_at=ts(r[22]), finished_at=ts(r[23]), provider_id=r[24],
        )  # fmt: skip

    def _params(self, f: FollowUp) -> tuple[Any, ...]:
        ts = self._d.ts_in
        return (
            f.id, f.dedupe_key, f.flow, f.channel, f.template, f.customer_id, f.status.value, ts(f.due_at),
            ts(f.created_at), ts(f.trigger_at), f.idempotency_key, f.attempts, f.max_attempts, ",".join(f.exit_on),
            f.offer_id, f.voucher_id, int(f.transactional), _dumps(f.data) if f.data else None, f.source_seq,
            ts(f.lease_until), f.worker_id, f.last_error, ts(f.sent_at), ts(f.finished_at), f.provider_id,
        )  # fmt: skip

    # ------------------------------------------------------------------ cursors
    def cursor(self, name: str) -> str | None:
        row = self._one("SELECT value FROM followup_cursors WHERE name = ?", (name,))
        return None if row is None else (str(row[0]) or None)

    def lock_cursor(self, tx: SQLTransaction, name: str) -> str | None:
        """Read a cursor inside ``tx``, locking it until commit (PostgreSQL; SQLite holds the write lock)."""
        tx.cur.execute(self._q("INSERT INTO followup_cursors (name, value) VALUES (?, '') ON CONFLICT (name) DO NOTHING"), (name,))
        row = tx.cur.execute(self._q("SELECT value FROM followup_cursors WHERE name = ?" + self._for_update), (name,)).fetchone()
        value = str(row[0])
        return value or None

    def set_cursor(self, tx: SQLTransaction, name: str, value: str) -> None:
        tx.cur.execute(self._q("UPDATE followup_cursors SET value = ? WHERE name = ?"), (value, name))

    # ------------------------------------------------------------------ planning
    def insert_many(self, tx: SQLTransaction, followups: Iterable[FollowUp]) -> int:
        """Insert follow-ups whose dedupe key is new; returns how many were new."""
        sql = self._q(f"INSERT INTO followups ({_COLS}) VALUES ({', '.join('?' * 25)}) ON CONFLICT (dedupe_key) DO NOTHING")
        added = 0
        for f in followups:
            added += int(tx.cur.execute(sql, self._params(f)).rowcount)
        return added

    def visits_seen(self, tx: SQLTransaction, visits: dict[str, datetime]) -> None:
        """Move contacts' ``last_visit_at`` forward (never back)."""
        sql = self._q(
            "UPDATE followup_contacts SET last_visit_at = ? WHERE customer_id = ? AND (last_visit_at IS NULL OR last_visit_at < ?)"
        )
        for customer_id, at in visits.items():
            tx.cur.execute(sql, (self._d.ts_in(at), customer_id, self._d.ts_in(at)))

    def expiring_vouchers(self, after: datetime, until: datetime) -> list[tuple[str, str, str, datetime]]:
        """Active customer vouchers with ``after < expires_at <= until``: (id, offer, customer, expiry)."""
        rows = self._all(
            "SELECT id, offer_id, customer_id, expires_at FROM vouchers WHERE status = 'active'"
            " AND customer_id IS NOT NULL AND expires_at > ? AND expires_at <= ? ORDER BY expires_at",
            (self._d.ts_in(after), self._d.ts_in(until)),
        )
        return [(r[0], r[1], r[2], self._d.ts_out(r[3])) for r in rows]  # type: ignore[misc]

    def lapsed_contacts(self, after: datetime | None, until: datetime) -> list[tuple[str, datetime]]:
        """Contacts whose last visit is in ``(after, until]``."""
        if after is None:
            rows = self._all("SELECT customer_id, last_visit_at FROM followup_contacts WHERE last_visit_at <= ?",
                             (self._d.ts_in(until),))  # fmt: skip
        else:
            rows = self._all(
                "SELECT customer_id, last_visit_at FROM followup_contacts WHERE last_visit_at > ? AND last_visit_at <= ?",
                (self._d.ts_in(after), self._d.ts_in(until)),
            )
        return [(r[0], self._d.ts_out(r[1])) for r in rows]  # type: ignore[misc]

    # ------------------------------------------------------------------ claiming and completing
    def claim(self, worker_id: str, now: datetime, limit: int, lease_until: datetime) -> list[FollowUp]:
        """Take up to ``limit`` due rows (pending, or claimed with an expired lease) for ``worker_id``,
        skipping customers who have a row under another live claim."""
        ts = self._d.ts_in
        update = (
            "UPDATE followups SET status = 'claimed', worker_id = ?, attempts = attempts + 1, lease_until = ?, due_at = ?"
            " WHERE id IN ({ids}){extra} RETURNING " + _COLS
        )
        candidates = (
            "SELECT id{more} FROM followups WHERE status IN ('pending', 'claimed') AND due_at <= ?"
            f" AND {_CUSTOMER_FREE}{{extra}} ORDER BY due_at LIMIT ?"
        )
        if not self._pg:
            # BEGIN IMMEDIATE: no other claim can run between the check and the update.
            sql = self._q(update.format(ids=candidates.format(more="", extra=""), extra=""))
            with self.transaction() as tx:
                rows = tx.cur.execute(sql, (worker_id, ts(lease_until), ts(lease_until), ts(now), ts(now), limit)).fetchall()
            return self._claimed(rows)
        pick = self._q(
            candidates.format(more=", customer_id", extra=" AND id <> ALL(?::text[]) AND customer_id <> ALL(?::text[])")
            + " FOR UPDATE SKIP LOCKED"
        )
        take = self._q(update.format(ids="SELECT unnest(?::text[])", extra=f" AND {_CUSTOMER_FREE}"))
        for _ in range(_CLAIM_TRIES):
            with self.transaction() as tx:
                cur: Any = tx.cur
                chosen: list[str] = []
                contended: set[str] = set()
                held: set[int] = set()
                while len(chosen) < limit:
                    found = cur.execute(pick, (ts(now), ts(now), chosen, sorted(contended), limit - len(chosen))).fetchall()
                    if not found:
                        break
                    keys = {customer_lock_key(c) for _, c in found} - held
                    # Never waits: a customer another claim holds right now is left for a later claim.
                    held |= {int(r[0]) for r in cur.execute(
                        "SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_xact_lock(k)", (sorted(keys),)
                    ).fetchall()}  # fmt: skip
                    chosen += [i for i, c in found if customer_lock_key(c) in held]
                    # Customers other claims hold: look further down the queue for the rest of the batch.
                    contended |= {c for _, c in found if customer_lock_key(c) not in held}
                # A new statement, a new snapshot: it sees claims committed before our locks were granted.
                rows = cur.execute(take, (worker_id, ts(lease_until), ts(lease_until), chosen, ts(now))).fetchall() if chosen else []
            if rows or not chosen:  # else every chosen customer was claimed just before we locked it: look again
                return self._claimed(rows)
        return []

    def _claimed(self, rows: Sequence[Any]) -> list[FollowUp]:
        return sorted((self._row(r) for r in rows), key=lambda f: (f.created_at, f.id))

    def extend_lease(self, worker_id: str, ids: Sequence[str], lease_until: datetime) -> set[str]:
        """Extend this worker's claim on ``ids`` to ``lease_until``; returns the ids it still held."""
        if not ids:
            return set()
        marks = ", ".join("?" for _ in ids)
        with self.transaction() as tx:
            rows = tx.cur.execute(
                self._q(f"UPDATE followups SET lease_until = ?, due_at = ? WHERE id IN ({marks}) AND worker_id = ?"
                        " AND status = 'claimed' RETURNING id"),
                (self._d.ts_in(lease_until), self._d.ts_in(lease_until), *ids, worker_id),
            ).fetchall()  # fmt: skip
        return {r[0] for r in rows}

    def cap_usage(self, customer_ids: Sequence[str], batch: Sequence[str], since: datetime,
                  now: datetime) -> dict[str, list[datetime]]:  # fmt: skip
        """What counts against each customer's caps, oldest first: the recorded non-transactional
        sends since ``since``, and every non-transactional row of theirs claimed outside ``batch``
        (this worker's batch), dated ``now`` — another worker may be sending it right now.

        One statement, so one snapshot: a row moving from claimed to sent (ledger entry and status
        in one transaction) is seen once, either way. Read after this worker's own claim is
        committed, it sees the rows of every worker that decided before it.
        """
        out: dict[str, list[datetime]] = {c: [] for c in customer_ids}
        if not customer_ids:
            return out
        marks = ", ".join("?" for _ in customer_ids)
        mine = ", ".join("?" for _ in batch) or "''"
        rows = self._all(
            f"SELECT followup_id, customer_id, sent_at, 1 FROM followup_sends WHERE customer_id IN ({marks})"
            " AND transactional = 0 AND sent_at > ?"
            f" UNION ALL SELECT id, customer_id, due_at, 0 FROM followups WHERE customer_id IN ({marks})"
            f" AND status = 'claimed' AND transactional = 0 AND id NOT IN ({mine})",
            (*customer_ids, self._d.ts_in(since), *customer_ids, *batch),
        )
        seen: set[str] = set()
        for followup_id, customer_id, at, recorded in sorted(rows, key=lambda r: -int(r[3])):  # ledger first
            if followup_id not in seen:
                seen.add(followup_id)
                out[customer_id].append(self._d.ts_out(at) if recorded else now)  # type: ignore[arg-type]
        for times in out.values():
            times.sort()
        return out

    def issue_voucher(self, followup_id: str, voucher: Voucher, event: JournalEvent) -> tuple[str, list[JournalEvent]]:
        """Insert ``voucher`` (and its ``issued`` event) and remember it on the follow-up, in one
        transaction — unless the follow-up has a voucher already. Returns the follow-up's voucher
        id and the committed events (none when the existing voucher was kept)."""
        with self.transaction() as tx:
            cur: Any = tx.cur
            done = cur.execute(
                self._q("UPDATE followups SET voucher_id = ? WHERE id = ? AND voucher_id IS NULL"), (voucher.id, followup_id)
            ).rowcount
            if not done:
                row = cur.execute(self._q("SELECT voucher_id FROM followups WHERE id = ?"), (followup_id,)).fetchone()
                if row is not None and row[0]:
                    return str(row[0]), []
                raise NotFound(f"Follow-up {followup_id} is gone; no voucher was issued for it.")
            tx.insert_vouchers([voucher])
            return voucher.id, tx.append_events([event])

    def already_sent(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are in the send ledger."""
        if not ids:
            return set()
        marks = ", ".join("?" for _ in ids)
        return {r[0] for r in self._all(f"SELECT followup_id FROM followup_sends WHERE followup_id IN ({marks})", tuple(ids))}

    def complete(self, worker_id: str, done: Sequence[Completion], events: Sequence[JournalEvent]) -> tuple[list[JournalEvent], int]:
        """Record a batch's outcomes and journal events in one transaction.

        Returns the committed events and how many sends were already in the ledger
        (duplicates: a rescued row sent twice). A sent row is marked sent whoever holds it
        now; other outcomes apply only while this worker still holds the claim.
        """
        ts = self._d.ts_in
        sent, recovered, pending, final = [], [], [], []
        for c in done:
            f = c.followup
            if c.outcome == "sent":
                sent.append(c)
            elif c.outcome == "recovered":
                recovered.append((ts(c.at), f.id, f.id))
            elif c.outcome in ("retry", "postponed", "released"):
                undo = 0 if c.outcome == "retry" else 1  # a postponement or release was no attempt
                pending.append((ts(c.due_at), undo, c.error, c.voucher_id, f.id, worker_id))
            else:  # dead, skipped
                final.append((c.outcome, ts(c.at), c.error, c.voucher_id, f.id, worker_id))
        with self.transaction() as tx:
            cur: Any = tx.cur
            duplicates = 0
            if sent:
                before = self._ledger_hits(cur, [c.followup.id for c in sent])
                cur.executemany(
                    self._q(
                        "INSERT INTO followup_sends (followup_id, idempotency_key, customer_id, channel, transactional,"
                        " sent_at, worker_id, provider_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (followup_id) DO NOTHING"
                    ),
                    [(c.followup.id, c.followup.idempotency_key, c.followup.customer_id, c.followup.channel,
                      int(c.followup.transactional), ts(c.at), worker_id, c.provider_id) for c in sent],
                )  # fmt: skip
                duplicates = before
                cur.executemany(
                    self._q(
                        "UPDATE followups SET status = 'sent', sent_at = ?, finished_at = ?, provider_id = ?, lease_until = NULL,"
                        " last_error = NULL, voucher_id = COALESCE(voucher_id, ?) WHERE id = ? AND status IN ('pending', 'claimed')"
                    ),
                    [(ts(c.at), ts(c.at), c.provider_id, c.voucher_id, c.followup.id) for c in sent],
                )
            if recovered:
                cur.executemany(
                    self._q(
                        "UPDATE followups SET status = 'sent', finished_at = ?, lease_until = NULL,"
                        " sent_at = (SELECT sent_at FROM followup_sends WHERE followup_id = ?)"
                        " WHERE id = ? AND status IN ('pending', 'claimed')"
                    ),
                    recovered,
                )
            if pending:
                cur.executemany(
                    self._q(
                        "UPDATE followups SET status = 'pending', due_at = ?, lease_until = NULL, worker_id = NULL,"
                        " attempts = attempts - ?, last_error = COALESCE(?, last_error), voucher_id = COALESCE(voucher_id, ?)"
                        " WHERE id = ? AND worker_id = ? AND status = 'claimed'"
                    ),
                    pending,
                )
            if final:
                cur.executemany(
                    self._q(
                        "UPDATE followups SET status = ?, finished_at = ?, lease_until = NULL, last_error = ?,"
                        " voucher_id = COALESCE(voucher_id, ?) WHERE id = ? AND worker_id = ? AND status = 'claimed'"
                    ),
                    final,
                )
            committed = self._append_events(cur, events)
        return committed, duplicates

    def _append_events(self, cur: Any, events: Sequence[JournalEvent]) -> list[JournalEvent]:
        """Append a batch's journal events with one multi-row INSERT (not one round trip each)."""
        out: list[JournalEvent] = []
        for start in range(0, len(events), 500):  # SQLite allows 32,766 parameters per statement
            chunk = events[start : start + 500]
            marks = ", ".join("(?, ?, ?, ?, ?, ?, ?)" for _ in chunk)
            params = [p for e in chunk for p in self._s._event_params(e)]
            rows = cur.execute(
                self._q(f"INSERT INTO journal (at, type, offer_id, voucher_id, store_id, customer_id, data) VALUES {marks} RETURNING seq"),
                params,
            ).fetchall()
            # Sequence values are drawn in VALUES order; RETURNING's row order is not promised.
            seqs = sorted(int(r[0]) for r in rows)
            out += [attrs.evolve(e, seq=seq) for e, seq in zip(chunk, seqs, strict=True)]
        return out

    def _ledger_hits(self, cur: Any, ids: Sequence[str]) -> int:
        """How many of ``ids`` the ledger has already (inside the completing transaction)."""
        marks = ", ".join("?" for _ in ids)
        return int(cur.execute(self._q(f"SELECT COUNT(*) FROM followup_sends WHERE followup_id IN ({marks})"), tuple(ids)).fetchone()[0])

    # ------------------------------------------------------------------ shop operations
    def get(self, followup_id: str) -> FollowUp | None:
        row = self._one(f"SELECT {_COLS} FROM followups WHERE id = ?", (followup_id,))
        return None if row is None else self._row(row)

    def get_by_key(self, dedupe_key: str) -> FollowUp | None:
        row = self._one(f"SELECT {_COLS} FROM followups WHERE dedupe_key = ?", (dedupe_key,))
        return None if row is None else self._row(row)

    def list_rows(self, status: str | None, customer_id: str | None, limit: int) -> list[FollowUp]:
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if customer_id is not None:
            where.append("customer_id = ?")
            params.append(customer_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._all(f"SELECT {_COLS} FROM followups{clause} ORDER BY created_at, id LIMIT ?", (*params, limit))
        return [self._row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        return {str(s): int(n) for s, n in self._all("SELECT status, COUNT(*) FROM followups GROUP BY status ORDER BY status")}

    def ledger_count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM followup_sends")[0])

    def retry(self, ids: Sequence[str] | None, now: datetime) -> int:
        """Dead (or skipped, when named) rows back to pending, due now, attempts reset."""
        with self.transaction() as tx:
            if ids is None:
                done = tx.cur.execute(
                    self._q("UPDATE followups SET status = 'pending', due_at = ?, attempts = 0, finished_at = NULL WHERE status = 'dead'"),
                    (self._d.ts_in(now),),
                )
                return int(done.rowcount)
            n = 0
            for fid in ids:
                n += int(tx.cur.execute(
                    self._q("UPDATE followups SET status = 'pending', due_at = ?, attempts = 0, finished_at = NULL"
                            " WHERE id = ? AND status IN ('dead', 'skipped', 'cancelled')"),
                    (self._d.ts_in(now), fid),
                ).rowcount)  # fmt: skip
            return n

    def cancel(self, ids: Sequence[str] | None, customer_id: str | None, channel: str | None, now: datetime, reason: str) -> int:
        """Cancel pending (and claimed) rows by id, or all of a customer's (on a channel)."""
        ts = self._d.ts_in
        with self.transaction() as tx:
            if ids is not None:
                n = 0
                for fid in ids:
                    n += int(tx.cur.execute(
                        self._q("UPDATE followups SET status = 'cancelled', finished_at = ?, last_error = ?"
                                " WHERE id = ? AND status IN ('pending', 'claimed')"),
                        (ts(now), reason, fid),
                    ).rowcount)  # fmt: skip
                return n
            sql = "UPDATE followups SET status = 'cancelled', finished_at = ?, last_error = ? WHERE customer_id = ? AND status IN ('pending', 'claimed')"
            params: tuple[Any, ...] = (ts(now), reason, customer_id)
            if channel is not None:
                sql += " AND channel = ?"
                params += (channel,)
            return int(tx.cur.execute(self._q(sql), params).rowcount)

    def journal_has(self, customer_id: str, types: Sequence[str], after: datetime) -> bool:
        """Whether the journal has an event of ``types`` for the customer after ``after`` (exit conditions)."""
        marks = ", ".join("?" for _ in types)
        row = self._one(
            f"SELECT 1 FROM journal WHERE customer_id = ? AND type IN ({marks}) AND at > ? LIMIT 1",
            (customer_id, *types, self._d.ts_in(after)),
        )
        return row is not None

    # ------------------------------------------------------------------ contacts and suppressions
    def _contact(self, r: Sequence[Any]) -> Contact:
        raw = json.loads(r[5]) if r[5] else {}
        consents = {ch: Consent(bool(v["granted"]), self._d.ts_out(v["at"]), v.get("source", "")) for ch, v in raw.items()}  # type: ignore[arg-type]
        return Contact(customer_id=r[0], timezone=r[1], email=r[2], phone=r[3], name=r[4], consents=consents,
                       last_visit_at=self._d.ts_out(r[6]))  # fmt: skip

    def get_contact(self, customer_id: str) -> Contact | None:
        row = self._one(f"SELECT {_CONTACT_COLS} FROM followup_contacts WHERE customer_id = ?", (customer_id,))
        return None if row is None else self._contact(row)

    def contacts(self, customer_ids: Sequence[str]) -> dict[str, Contact]:
        if not customer_ids:
            return {}
        marks = ", ".join("?" for _ in customer_ids)
        rows = self._all(f"SELECT {_CONTACT_COLS} FROM followup_contacts WHERE customer_id IN ({marks})", tuple(customer_ids))
        return {r[0]: self._contact(r) for r in rows}

    def list_contacts(self, limit: int) -> list[Contact]:
        return [self._contact(r) for r in self._all(f"SELECT {_CONTACT_COLS} FROM followup_contacts ORDER BY customer_id LIMIT ?", (limit,))]

    def _consents_json(self, consents: dict[str, Consent]) -> str:
        return _dumps({ch: {"granted": c.granted, "at": self._d.ts_in(c.at), "source": c.source} for ch, c in consents.items()})

    def save_contact(self, tx: SQLTransaction, contact: Contact, now: datetime) -> None:
        tx.cur.execute(
            self._q(
                f"INSERT INTO followup_contacts ({_CONTACT_COLS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (customer_id) DO UPDATE SET timezone = excluded.timezone, email = excluded.email,"
                " phone = excluded.phone, name = excluded.name, consents = excluded.consents,"
                " last_visit_at = excluded.last_visit_at, updated_at = excluded.updated_at"
            ),
            (contact.customer_id, contact.timezone, contact.email, contact.phone, contact.name,
             self._consents_json(contact.consents), self._d.ts_in(contact.last_visit_at), self._d.ts_in(now)),
        )  # fmt: skip

    def lock_contact(self, tx: SQLTransaction, customer_id: str) -> Contact | None:
        row = tx.cur.execute(
            self._q(f"SELECT {_CONTACT_COLS} FROM followup_contacts WHERE customer_id = ?" + self._for_update), (customer_id,)
        ).fetchone()
        return None if row is None else self._contact(row)

    def suppress(self, tx: SQLTransaction, channel: str, address: str, now: datetime, reason: str) -> bool:
        done = tx.cur.execute(
            self._q("INSERT INTO followup_suppressions (channel, address, at, reason) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
            (channel, address, self._d.ts_in(now), reason),
        )
        return int(done.rowcount) == 1

    def suppressed(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which ``(channel, address)`` pairs are on the suppression list."""
        pairs = list(set(pairs))
        if not pairs:
            return set()
        where = " OR ".join("(channel = ? AND address = ?)" for _ in pairs)
        params = [x for pair in pairs for x in pair]
        return {(r[0], r[1]) for r in self._all(f"SELECT channel, address FROM followup_suppressions WHERE {where}", params)}

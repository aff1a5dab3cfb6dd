"""Erasing personal data while keeping anonymous aggregates.

A forgotten customer's id is replaced, in every table, by one fresh random id
(``anon_<16 hex>``) that is not derived from the original: counts, funnels and attributed
revenue stay the same, and nothing links the rows back to the person. E-mail addresses,
phone numbers and names are removed from the JSON payloads (journal, orders, idempotency
results, check-in evidence) and e-mail columns are emptied.

The tables and columns handled are listed here: a test scans the final schema and fails
when a table gains a customer or e-mail column that is not listed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from ..storage import Storage
from . import _db

__all__ = ["EMAIL_COLUMNS", "ID_COLUMNS", "JSON_COLUMNS", "NOT_PERSONAL", "DELETED_TABLES", "ForgetReport", "forget", "purge"]

#: Columns holding a customer id: replaced by the anonymous id. With the table's time column (purge).
ID_COLUMNS: dict[tuple[str, str], str | None] = {
    ("journal", "customer_id"): "at",
    ("vouchers", "customer_id"): "issued_at",
    ("redemptions", "customer_id"): "redeemed_at",
    ("reservations", "customer_id"): "created_at",
    ("checkins", "customer_id"): "at",
    ("checkin_used_codes", "customer_id"): "used_at",
    ("platform_orders", "customer_id"): "occurred_at",
    ("attributions", "customer_id"): "at",
    ("followups", "customer_id"): "created_at",
    ("followup_sends", "customer_id"): "sent_at",
    ("pickups", "customer_id"): "created_at",
}
#: Tables whose rows are only personal data (contact details): deleted, by customer column and
#: time column. The follow-up suppression list is kept on purpose: it is what stops messages
#: to an address that objected (``docs/measurement.md``).
DELETED_TABLES: dict[str, tuple[str, str]] = {
    "followup_contacts": ("customer_id", "updated_at"),
}
#: Columns holding an e-mail address: emptied.
EMAIL_COLUMNS: dict[tuple[str, str], str | None] = {}
#: JSON text columns that may carry personal data, with the columns that identify a row.
JSON_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("journal", "data"): ("seq",),
    ("platform_orders", "data"): ("platform", "order_id"),
    ("idempotency_keys", "result"): ("key",),
    ("checkins", "evidence"): ("id",),
    ("followups", "data"): ("id",),
    ("pickups", "data"): ("id",),
}
#: Columns whose names look personal but are not (checked by the schema test).
NOT_PERSONAL: frozenset[tuple[str, str]] = frozenset()
#: JSON keys whose values are personal data: removed wherever they appear.
PII_KEYS = frozenset({"customer_email", "email", "phone", "name", "first_name", "last_name", "full_name", "address", "to", "arrival_note"})

ANON_PREFIX = "anon_"


@attrs.frozen
class ForgetReport:
    """What :meth:`Analytics.forget` changed: the anonymous id and rows changed per table."""

    anonymous_id: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def new_anonymous_id() -> str:
    return ANON_PREFIX + secrets.token_hex(8)


def _scrub(value: Any, mapping: dict[str, str], emails: set[str]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in PII_KEYS and not isinstance(v, (dict, list)):
                out[k] = None
            else:
                out[k] = _scrub(v, mapping, emails)
        return out
    if isinstance(value, list):
        return [_scrub(v, mapping, emails) for v in value]
    if isinstance(value, str):
        if value in mapping:
            return mapping[value]
        if value.casefold() in emails:
            return None
    return value


def _tables(sql: _db.Sql) -> set[str]:
    if sql.postgres:
        rows = sql.all("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    else:
        rows = sql.all("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {str(r[0]) for r in rows}


def schema_columns(storage: Storage) -> set[tuple[str, str]]:
    """Every ``(table, column)`` of the database."""
    with _db.read(storage) as sql:
        if sql.postgres:
            rows = sql.all("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()")
            return {(str(t), str(c)) for t, c in rows}
        out = set()
        for table in _tables(sql):
            for r in sql.all(f"PRAGMA table_info({table})"):
                out.add((table, str(r[1])))
        return out


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _rewrite_json(sql: _db.Sql, table: str, column: str, keys: tuple[str, ...], where: str, params: list[Any],
                  mapping: dict[str, str], emails: set[str]) -> int:  # fmt: skip
    changed = 0
    rows = sql.all(f"SELECT {', '.join(keys)}, {column} FROM {table} WHERE {column} IS NOT NULL AND ({where})", params)
    for *pk, text in rows:
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            continue
        new = _scrub(value, mapping, emails)
        if new != value:
            sql.execute(
                f"UPDATE {table} SET {column} = ? WHERE {' AND '.join(f'{k} = ?' for k in keys)}",
                (json.dumps(new, separators=(",", ":"), sort_keys=True, default=str), *pk),
            )
            changed += 1
    return changed


def forget(storage: Storage, customer_id: str, emails: Iterable[str], now: datetime) -> ForgetReport:
    """Replace ``customer_id`` (and the platform ids and e-mails found with it) everywhere."""
    anon = new_anonymous_id()
    rows: dict[str, int] = {}
    with _db.write(storage) as sql:
        tables = _tables(sql)
        # the platform's ids and e-mails of this customer, as recorded with their orders
        ids = {customer_id}
        mails = {e.casefold() for e in emails if e}
        for (text,) in sql.all("SELECT data FROM journal WHERE customer_id = ? AND data IS NOT NULL", (customer_id,)):
            data = json.loads(text)
            if isinstance(data, dict):
                if isinstance(data.get("platform_customer_id"), str):
                    ids.add(data["platform_customer_id"])
                if isinstance(data.get("customer_email"), str):
                    mails.add(data["customer_email"].casefold())
        if "followup_contacts" in tables:  # addresses the follow-ups used: scrubbed from payloads too
            for row in sql.all("SELECT email, phone FROM followup_contacts WHERE customer_id = ?", (customer_id,)):
                mails.update(str(x).casefold() for x in row if x)
        mapping = dict.fromkeys(ids, anon)
        for (table, column) in ID_COLUMNS:
            if table in tables:
                marks = ", ".join("?" for _ in ids)
                done = sql.execute(f"UPDATE {table} SET {column} = ? WHERE {column} IN ({marks})", (anon, *sorted(ids)))
                rows[table] = rows.get(table, 0) + max(int(done.rowcount), 0)
        for (table, column) in EMAIL_COLUMNS:
            if table in tables and mails:
                marks = ", ".join("?" for _ in mails)
                done = sql.execute(f"UPDATE {table} SET {column} = NULL WHERE lower({column}) IN ({marks})", sorted(mails))
                rows[table] = rows.get(table, 0) + max(int(done.rowcount), 0)
        for table, (column, _) in DELETED_TABLES.items():
            if table in tables:
                marks = ", ".join("?" for _ in ids)
                done = sql.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", sorted(ids))
                rows[table] = rows.get(table, 0) + max(int(done.rowcount), 0)
        needles = sorted(ids | mails)
        for (table, column), keys in JSON_COLUMNS.items():
            if table not in tables:
                continue
            where = " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for _ in needles)
            n = _rewrite_json(sql, table, column, keys, where, [_like(x) for x in needles], mapping, mails)
            rows[table] = rows.get(table, 0) + n
        sql.execute(
            "INSERT INTO journal (at, type, data) VALUES (?, ?, ?)",
            (sql.ts(now), "customer_forgotten", json.dumps({"anonymous_id": anon})),
        )
    return ForgetReport(anon, {k: v for k, v in sorted(rows.items()) if v})


def purge(storage: Storage, before: datetime) -> ForgetReport:
    """Anonymise personal data recorded before ``before`` (a fresh anonymous id per customer)."""
    rows: dict[str, int] = {}
    with _db.write(storage) as sql:
        tables = _tables(sql)
        found: set[str] = set()
        for (table, column), at in ID_COLUMNS.items():
            if table in tables and at is not None:
                for (cid,) in sql.all(
                    f"SELECT DISTINCT {column} FROM {table} WHERE {at} < ? AND {column} IS NOT NULL"
                    f" AND {column} NOT LIKE ? ESCAPE '\\'",
                    (sql.ts(before), ANON_PREFIX.replace("_", "\\_") + "%"),
                ):
                    found.add(str(cid))
        mapping = {cid: new_anonymous_id() for cid in sorted(found)}
        pairs = sorted(mapping.items())
        for (table, column), at in ID_COLUMNS.items():
            if table not in tables or at is None or not pairs:
                continue
            n = 0
            for start in range(0, len(pairs), 500):
                chunk = pairs[start : start + 500]
                case = " ".join("WHEN ? THEN ?" for _ in chunk)
                marks = ", ".join("?" for _ in chunk)
                flat = [x for pair in chunk for x in pair]
                done = sql.execute(
                    f"UPDATE {table} SET {column} = CASE {column} {case} END WHERE {at} < ? AND {column} IN ({marks})",
                    (*flat, sql.ts(before), *(c for c, _ in chunk)),
                )
                n += max(int(done.rowcount), 0)
            rows[table] = rows.get(table, 0) + n
        for (table, column), at in EMAIL_COLUMNS.items():
            if table in tables and at is not None:
                done = sql.execute(f"UPDATE {table} SET {column} = NULL WHERE {at} < ? AND {column} IS NOT NULL", (sql.ts(before),))
                rows[table] = rows.get(table, 0) + max(int(done.rowcount), 0)
        times = {t: at for (t, _), at in ID_COLUMNS.items()}
        for (table, column), keys in JSON_COLUMNS.items():
            at = times.get(table)
            if table not in tables or at is None:
                continue
            n = _rewrite_json(sql, table, column, keys, f"{at} < ?", [sql.ts(before)], mapping, set())
            rows[table] = rows.get(table, 0) + n
        for table, (_, at) in DELETED_TABLES.items():
            if table in tables:
                done = sql.execute(f"DELETE FROM {table} WHERE {at} < ?", (sql.ts(before),))
                rows[table] = rows.get(table, 0) + max(int(done.rowcount), 0)
        if "idempotency_keys" in tables:  # replay cache: old results are of no use, and hold customer ids
            done = sql.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (sql.ts(before),))
            rows["idempotency_keys"] = rows.get("idempotency_keys", 0) + max(int(done.rowcount), 0)
    return ForgetReport("", {k: v for k, v in sorted(rows.items()) if v})

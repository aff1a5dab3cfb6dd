"""Schema migrations, oldest first. Never edit a released one: append a new one.

Portable type names, mapped per dialect: ``TS`` (timestamp), ``FLOAT8``, ``SERIAL_PK``.
Statements are split on ``;``: never put a semicolon inside a statement (defaults, comments).
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: stores, offers, vouchers, redemptions, reservations, idempotency keys, journal
    """
    CREATE TABLE stores (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL,
        latitude FLOAT8 NOT NULL,
        longitude FLOAT8 NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE offers (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at TS,
        redeemed_count BIGINT NOT NULL DEFAULT 0,
        spent_minor BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE vouchers (
        id TEXT PRIMARY KEY,
        offer_id TEXT NOT NULL REFERENCES offers (id),
        token TEXT NOT NULL,
        issued_at TS NOT NULL,
        expires_at TS NOT NULL,
        customer_id TEXT,
        status TEXT NOT NULL
    );
    CREATE INDEX vouchers_offer ON vouchers (offer_id);
    CREATE INDEX vouchers_customer ON vouchers (customer_id);
    CREATE TABLE redemptions (
        id TEXT PRIMARY KEY,
        voucher_id TEXT NOT NULL REFERENCES vouchers (id),
        offer_id TEXT NOT NULL REFERENCES offers (id),
        store_id TEXT NOT NULL,
        customer_id TEXT,
        discount TEXT NOT NULL,
        amount_minor BIGINT NOT NULL DEFAULT 0,
        redeemed_at TS NOT NULL,
        basket_minor BIGINT,
        currency TEXT,
        idempotency_key TEXT,
        reservation_id TEXT,
        voided_at TS,
        void_reason TEXT
    );
    CREATE UNIQUE INDEX redemptions_one_live_per_voucher ON redemptions (voucher_id) WHERE voided_at IS NULL;
    CREATE INDEX redemptions_offer_customer ON redemptions (offer_id, customer_id);
    CREATE TABLE reservations (
        id TEXT PRIMARY KEY,
        voucher_id TEXT NOT NULL REFERENCES vouchers (id),
        offer_id TEXT NOT NULL REFERENCES offers (id),
        store_id TEXT NOT NULL,
        customer_id TEXT,
        created_at TS NOT NULL,
        expires_at TS NOT NULL,
        status TEXT NOT NULL,
        amount_minor BIGINT,
        currency TEXT
    );
    CREATE UNIQUE INDEX reservations_one_active_per_voucher ON reservations (voucher_id) WHERE status = 'active';
    CREATE INDEX reservations_offer_status ON reservations (offer_id, status, expires_at);
    CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        operation TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        result TEXT NOT NULL,
        created_at TS NOT NULL
    );
    CREATE TABLE journal (
        seq SERIAL_PK,
        at TS NOT NULL,
        type TEXT NOT NULL,
        offer_id TEXT,
        voucher_id TEXT,
        store_id TEXT,
        customer_id TEXT,
        data TEXT
    );
    CREATE INDEX journal_type_at ON journal (type, at);
    CREATE INDEX journal_customer ON journal (customer_id);
    CREATE INDEX journal_offer ON journal (offer_id)
    """,
    # 2: check-ins, one per customer, store and window; single-use check-in evidence (code steps)
    """
    CREATE TABLE checkins (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        store_id TEXT NOT NULL,
        window_start TS NOT NULL,
        at TS NOT NULL,
        method TEXT NOT NULL,
        trust TEXT NOT NULL,
        evidence TEXT,
        upgraded_at TS,
        CONSTRAINT checkins_one_per_window UNIQUE (customer_id, store_id, window_start)
    );
    CREATE INDEX checkins_store_at ON checkins (store_id, at);
    CREATE TABLE checkin_used_codes (
        store_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        nonce TEXT NOT NULL,
        used_at TS NOT NULL,
        checkin_id TEXT NOT NULL,
        PRIMARY KEY (store_id, customer_id, nonce)
    );
    CREATE INDEX checkin_used_codes_used_at ON checkin_used_codes (used_at)
    """,
]

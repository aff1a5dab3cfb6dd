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
    # 3: store-scoped API keys for the POS / staff web API (only SHA-256 digests are kept)
    """
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL,
        store_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at TS NOT NULL,
        revoked_at TS
    );
    CREATE INDEX api_keys_store ON api_keys (store_id)
    """,
    # 4: platform orders from adapters (deduped by order and by delivery), offers mirrored as discount codes
    """
    CREATE TABLE platform_orders (
        platform TEXT NOT NULL,
        order_id TEXT NOT NULL,
        delivery_id TEXT,
        kind TEXT NOT NULL,
        store_id TEXT,
        customer_id TEXT,
        offer_id TEXT,
        voucher_id TEXT,
        total_minor BIGINT,
        currency TEXT,
        occurred_at TS NOT NULL,
        recorded_at TS NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (platform, order_id)
    );
    CREATE UNIQUE INDEX platform_orders_delivery ON platform_orders (platform, delivery_id) WHERE delivery_id IS NOT NULL;
    CREATE INDEX platform_orders_occurred ON platform_orders (occurred_at);
    CREATE TABLE offer_mirrors (
        offer_id TEXT NOT NULL REFERENCES offers (id),
        platform TEXT NOT NULL,
        discount_id TEXT NOT NULL,
        code TEXT NOT NULL,
        code_key TEXT NOT NULL,
        created_at TS NOT NULL,
        usage_count BIGINT NOT NULL DEFAULT 0,
        synced_at TS,
        PRIMARY KEY (offer_id, platform)
    );
    CREATE UNIQUE INDEX offer_mirrors_code ON offer_mirrors (platform, code_key)
    """,
    # 5: measurement: attributed orders (one row per order event, computed incrementally from the
    # journal), and the journal by (type, customer, time) for funnel steps per customer
    """
    CREATE TABLE attributions (
        order_seq BIGINT PRIMARY KEY,
        at TS NOT NULL,
        kind TEXT NOT NULL,
        platform TEXT,
        order_id TEXT,
        customer_id TEXT,
        store_id TEXT,
        offer_id TEXT,
        voucher_id TEXT,
        model TEXT NOT NULL,
        touch_type TEXT,
        touch_seq BIGINT,
        touch_store_id TEXT,
        first_touch_type TEXT,
        first_touch_seq BIGINT,
        followup_id TEXT,
        followup_seq BIGINT,
        first_followup_seq BIGINT,
        amount_minor BIGINT,
        currency TEXT,
        computed_at TS NOT NULL
    );
    CREATE INDEX attributions_at ON attributions (at);
    CREATE INDEX attributions_customer ON attributions (customer_id);
    CREATE INDEX journal_type_customer_at ON journal (type, customer_id, at)
    """,
    # follow-ups: contacts with consent per channel, suppression list, the outbox, its send ledger, planner cursors
    """
    CREATE TABLE followup_contacts (
        customer_id TEXT PRIMARY KEY,
        email TEXT,
        phone TEXT,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL,
        consents TEXT NOT NULL,
        last_visit_at TS,
        updated_at TS NOT NULL
    );
    CREATE INDEX followup_contacts_last_visit ON followup_contacts (last_visit_at);
    CREATE TABLE followup_suppressions (
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        at TS NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (channel, address)
    );
    CREATE TABLE followups (
        id TEXT PRIMARY KEY,
        dedupe_key TEXT NOT NULL,
        flow TEXT NOT NULL,
        channel TEXT NOT NULL,
        template TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        status TEXT NOT NULL,
        due_at TS NOT NULL,
        created_at TS NOT NULL,
        trigger_at TS NOT NULL,
        source_seq BIGINT,
        idempotency_key TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        lease_until TS,
        worker_id TEXT,
        last_error TEXT,
        sent_at TS,
        finished_at TS,
        provider_id TEXT,
        offer_id TEXT,
        voucher_id TEXT,
        transactional INTEGER NOT NULL,
        exit_on TEXT NOT NULL,
        data TEXT,
        CONSTRAINT followups_dedupe UNIQUE (dedupe_key)
    );
    CREATE INDEX followups_due ON followups (status, due_at);
    CREATE INDEX followups_customer ON followups (customer_id, status);
    CREATE TABLE followup_sends (
        followup_id TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        transactional INTEGER NOT NULL,
        sent_at TS NOT NULL,
        worker_id TEXT NOT NULL,
        provider_id TEXT
    );
    CREATE INDEX followup_sends_customer ON followup_sends (customer_id, sent_at);
    CREATE TABLE followup_cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
    # 7: pickups and reservations (sdk.pickups), slot bookings, the SDK's own inventory holds
    """
    CREATE TABLE pickups (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        store_id TEXT NOT NULL,
        state TEXT NOT NULL,
        customer_id TEXT,
        platform TEXT,
        order_id TEXT,
        deadline TS,
        slot_start TS,
        version INTEGER NOT NULL,
        created_at TS NOT NULL,
        updated_at TS NOT NULL,
        data TEXT NOT NULL
    );
    CREATE UNIQUE INDEX pickups_order ON pickups (platform, order_id) WHERE order_id IS NOT NULL;
    CREATE INDEX pickups_store_state ON pickups (store_id, state);
    CREATE INDEX pickups_state_deadline ON pickups (state, deadline);
    CREATE INDEX pickups_customer ON pickups (customer_id, state);
    CREATE TABLE pickup_slots (
        store_id TEXT NOT NULL,
        slot_start TS NOT NULL,
        booked INTEGER NOT NULL,
        PRIMARY KEY (store_id, slot_start)
    );
    CREATE TABLE inventory_holds (
        pickup_id TEXT NOT NULL,
        store_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        created_at TS NOT NULL,
        released_at TS,
        PRIMARY KEY (pickup_id, sku)
    );
    CREATE INDEX inventory_holds_open ON inventory_holds (store_id, sku, released_at)
    """,
    # measurement: the journal by (customer, type, time), covering the funnel's one pass per
    # customer (offer and store included); it replaces the (customer) and (type, customer, time)
    # indexes, whose lookups it serves as well
    """
    CREATE INDEX journal_customer_type_at ON journal (customer_id, type, at, offer_id, store_id);
    DROP INDEX journal_customer;
    DROP INDEX journal_type_customer_at
    """,
    # 9: a voucher's active hold also on its own row (the hold's expiry, NULL when not held), so
    # that one conditional UPDATE of the voucher decides "active and not held" under the row's
    # lock — a redemption of an offer without caps is then a single statement
    """
    ALTER TABLE vouchers ADD COLUMN held_until TS;
    UPDATE vouchers SET held_until = (
        SELECT r.expires_at FROM reservations r WHERE r.voucher_id = vouchers.id AND r.status = 'active'
    ) WHERE id IN (SELECT voucher_id FROM reservations WHERE status = 'active')
    """,
    # 10: orders the platform cancelled after they were recorded: when (attributed revenue leaves
    # them out); the partial index keeps that anti-join small
    """
    ALTER TABLE platform_orders ADD COLUMN cancelled_at TS;
    CREATE INDEX platform_orders_cancelled ON platform_orders (platform, order_id) WHERE cancelled_at IS NOT NULL
    """,
    # 11: redemption counters in shards beside the offer's row: PostgreSQL's redemptions without
    # caps add to one of a few rows per offer (chosen by connection) instead of all queueing on the
    # offer's row lock until their commit; an offer's usage is its row plus its shards
    """
    CREATE TABLE offer_usage_shards (
        offer_id TEXT NOT NULL REFERENCES offers (id),
        shard INTEGER NOT NULL,
        redeemed_count BIGINT NOT NULL DEFAULT 0,
        spent_minor BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (offer_id, shard)
    )
    """,
]

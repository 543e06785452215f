"""The index schema in PostgreSQL, one entry per version (applied by migrations.py).

It mirrors storage/sqlite/schema.py table for table and column for column, so the two
store implementations return the same rows:

- times stay unix seconds as `double precision` (SQLite's REAL), not timestamptz: the
  store contract passes floats, and both implementations then compare the same numbers;
- counters, sizes, uids and epochs are `bigint`; sealed key material is `bytea`;
- flags that SQLite keeps as 0/1 are `boolean`; JSON values stay `text` as in SQLite
  (the store parses them; nothing in SQL looks inside);
- `messages.path` holds the object key in the object store (the relative file path in
  the file store): the key derives from the message id, which a row reserves first.

Each version's SQL is run once, in its own transaction; a released version is never
edited: a change is a new version (ALTER TABLE ... / CREATE ...).
"""

from __future__ import annotations

# Version 1: the tables of storage/sqlite/schema.py, with passphrase_set_at from the start.
V1_INDEX = r"""
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE domains (
    name text PRIMARY KEY,
    created double precision NOT NULL
);
CREATE TABLE mailboxes (
    id text PRIMARY KEY,
    domain text NOT NULL REFERENCES domains(name),
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    status text NOT NULL,
    quota bigint NOT NULL DEFAULT 0,
    allowed_networks text NOT NULL DEFAULT '[]',
    protocols text NOT NULL DEFAULT '["pop3","imap"]',
    settings text NOT NULL DEFAULT '{}',
    uidvalidity bigint NOT NULL,
    next_uid bigint NOT NULL DEFAULT 1,
    message_count bigint NOT NULL DEFAULT 0,
    stored_bytes bigint NOT NULL DEFAULT 0,
    created double precision NOT NULL,
    last_login double precision,
    passphrase_set_at double precision
);
CREATE TABLE addresses (
    address text PRIMARY KEY,
    mailbox_id text NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    is_primary boolean NOT NULL DEFAULT false
);
CREATE INDEX addresses_mailbox ON addresses(mailbox_id);
CREATE TABLE epochs (
    mailbox_id text NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    epoch bigint NOT NULL,
    kind text NOT NULL,
    recipient text NOT NULL,
    state text NOT NULL,
    salt bytea NOT NULL,
    nonce bytea NOT NULL,
    sealed_seed bytea NOT NULL,
    kdf_memory_kib bigint NOT NULL,
    kdf_iterations bigint NOT NULL,
    kdf_lanes bigint NOT NULL,
    created double precision NOT NULL,
    PRIMARY KEY (mailbox_id, epoch)
);
CREATE TABLE messages (
    id text PRIMARY KEY,
    mailbox_id text NOT NULL REFERENCES mailboxes(id),
    uid bigint NOT NULL,
    epoch bigint NOT NULL,
    size bigint NOT NULL,
    stored_size bigint NOT NULL,
    received double precision NOT NULL,
    flags text NOT NULL DEFAULT '',
    encoding text NOT NULL,
    path text NOT NULL,
    sha256 text NOT NULL,
    UNIQUE (mailbox_id, uid)
);
CREATE TABLE admins (
    name text PRIMARY KEY,
    role text NOT NULL,
    password_hash text NOT NULL,
    domains text NOT NULL DEFAULT '[]',
    disabled boolean NOT NULL DEFAULT false,
    totp_secret text,
    recovery_codes text NOT NULL DEFAULT '[]',
    language text NOT NULL DEFAULT 'en',
    created double precision NOT NULL
);
CREATE TABLE audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time double precision NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL DEFAULT '',
    detail text NOT NULL DEFAULT '',
    source text NOT NULL DEFAULT ''
);
CREATE INDEX audit_time ON audit(time);
CREATE TABLE admin_sessions (
    hash text PRIMARY KEY,
    id text NOT NULL UNIQUE,
    admin text NOT NULL REFERENCES admins(name) ON DELETE CASCADE ON UPDATE CASCADE,
    created double precision NOT NULL,
    last_seen double precision NOT NULL,
    source text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    data text NOT NULL DEFAULT '{}'
);
CREATE INDEX admin_sessions_admin ON admin_sessions(admin);
CREATE TABLE api_tokens (
    hash text PRIMARY KEY,
    id text NOT NULL UNIQUE,
    admin text NOT NULL REFERENCES admins(name) ON DELETE CASCADE ON UPDATE CASCADE,
    name text NOT NULL,
    created double precision NOT NULL,
    last_used double precision
);
-- When a message was retrieved (\Seen set), for retention rules; kept by the trigger
-- below whatever code path changes the flags, and gone with its message.
CREATE TABLE message_seen (
    message_id text PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    seen_at double precision NOT NULL
);
CREATE TABLE login_clients (
    mailbox_id text NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    address text NOT NULL,
    last_ok double precision NOT NULL,
    PRIMARY KEY (mailbox_id, address)
);
CREATE FUNCTION message_seen_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF '\Seen' = ANY (string_to_array(NEW.flags, ' ')) THEN
        IF NOT '\Seen' = ANY (string_to_array(OLD.flags, ' ')) THEN
            INSERT INTO message_seen (message_id, seen_at)
            VALUES (NEW.id, extract(epoch FROM clock_timestamp()))
            ON CONFLICT (message_id) DO UPDATE SET seen_at = EXCLUDED.seen_at;
        END IF;
    ELSE
        DELETE FROM message_seen WHERE message_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER message_seen_track AFTER UPDATE OF flags ON messages
    FOR EACH ROW EXECUTE FUNCTION message_seen_track();
"""

# Version 2: what several gateway nodes share instead of one process's memory.
V2_MULTI_NODE = r"""
-- Time-limited exclusive holds: 'pop3:<mailbox id>' ([IN-USE]), 'fetch:<source id>'.
-- A holder renews before `expires`; a crashed node's lease simply runs out.
CREATE TABLE leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    acquired double precision NOT NULL,
    expires double precision NOT NULL
);
CREATE INDEX leases_expires ON leases(expires);
-- Keys every node must agree on: console session signing, CSRF (random bytes).
CREATE TABLE web_secrets (
    name text PRIMARY KEY,
    value bytea NOT NULL,
    created double precision NOT NULL
);
-- Failed logins in the sliding window (key: mailbox or client address), so a guesser
-- spreading attempts over nodes meets the same delay as on one.
CREATE TABLE login_failures (
    key text NOT NULL,
    at double precision NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures(key, at);
CREATE INDEX login_failures_at ON login_failures(at);
"""

# Version 3: what the SQLite index gained for worker processes (storage/sqlite/schema.py):
# leases shaped as there (name, owner, expires), and the per-mailbox change feed that
# IMAP IDLE follows, bumped by triggers in the same transaction as the change.
V3_WORKERS = """
ALTER TABLE leases RENAME COLUMN holder TO owner;
ALTER TABLE leases DROP COLUMN acquired;
CREATE TABLE mailbox_changes (
    mailbox_id text PRIMARY KEY,
    seq bigint NOT NULL
);
CREATE FUNCTION bump_mailbox_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD.mailbox_id;
    ELSE
        changed := NEW.mailbox_id;
    END IF;
    INSERT INTO mailbox_changes(mailbox_id, seq) VALUES (changed, 1)
    ON CONFLICT (mailbox_id) DO UPDATE SET seq = mailbox_changes.seq + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER mailbox_change_insert AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION bump_mailbox_change();
CREATE TRIGGER mailbox_change_flags AFTER UPDATE OF flags ON messages
    FOR EACH ROW EXECUTE FUNCTION bump_mailbox_change();
CREATE TRIGGER mailbox_change_delete AFTER DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION bump_mailbox_change();
CREATE FUNCTION forget_mailbox_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM mailbox_changes WHERE mailbox_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER mailbox_change_forget AFTER DELETE ON mailboxes
    FOR EACH ROW EXECUTE FUNCTION forget_mailbox_changes();
"""

# Version 4: relay copies (storage/sqlite/schema.py): each mailbox's relay targets, and
# the keyed tags of copies already relayed (a sender's retry skips those targets).
V4_RELAYS = """
CREATE TABLE relay_targets (
    mailbox_id text NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    address text NOT NULL,
    policy text NOT NULL,
    created_by text NOT NULL,
    created double precision NOT NULL,
    PRIMARY KEY (mailbox_id, address)
);
CREATE TABLE relay_sent (
    tag text PRIMARY KEY,
    expires double precision NOT NULL
);
CREATE INDEX relay_sent_expires ON relay_sent(expires);
"""

# Version 5: fetch sources (storage/contract/sources.py) as in storage/sqlite/schema.py:
# each source's settings (JSON text) and sealed credentials (text, "sealed:v1:..."), its
# last run, and per folder the UIDVALIDITY and the keys already fetched or skipped.
V5_SOURCES = """
CREATE TABLE sources (
    id text PRIMARY KEY,
    mailbox_id text NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    name text NOT NULL,
    settings text NOT NULL,
    secret text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    comment text NOT NULL DEFAULT '',
    created double precision NOT NULL,
    last_run double precision,
    last_count bigint NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT '',
    failing boolean NOT NULL DEFAULT false,
    failures bigint NOT NULL DEFAULT 0,
    last_success double precision,
    UNIQUE (mailbox_id, name)
);
CREATE TABLE source_folders (
    source_id text NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    folder text NOT NULL,
    uidvalidity bigint NOT NULL,
    PRIMARY KEY (source_id, folder)
);
CREATE TABLE source_fetched (
    source_id text NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    folder text NOT NULL,
    key text NOT NULL,
    message_id text,
    skip_reason text NOT NULL DEFAULT '',
    size bigint NOT NULL DEFAULT 0,
    at double precision NOT NULL,
    PRIMARY KEY (source_id, folder, key)
);
"""

# Version 6: mail robots (auto-replies) and their reply memory (keyed sender digests).
V6_ROBOTS = """
CREATE TABLE robots (
    mailbox_id text PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
    subject text NOT NULL,
    body text NOT NULL,
    starts double precision,
    ends double precision,
    copy_to text NOT NULL DEFAULT '',
    interval_days bigint NOT NULL,
    updated double precision NOT NULL
);
CREATE TABLE robot_replies (
    mailbox_id text NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    sender_mac text NOT NULL,
    sent double precision NOT NULL,
    PRIMARY KEY (mailbox_id, sender_mac)
);
"""

# Version 7: built-in ACME state shared by every node (storage/sqlite/certificates.py).
V7_ACME = r"""
CREATE TABLE acme_account (
    name text PRIMARY KEY,
    sealed_key text NOT NULL,
    created double precision NOT NULL
);
CREATE TABLE acme_certificates (
    name text PRIMARY KEY,
    chain text NOT NULL,
    sealed_key text NOT NULL,
    sha256 text NOT NULL,
    directory text NOT NULL,
    stored double precision NOT NULL
);
CREATE TABLE acme_status (
    name text PRIMARY KEY,
    document text NOT NULL,
    updated double precision NOT NULL
);
CREATE TABLE acme_challenges (
    token text PRIMARY KEY,
    key_authorization text NOT NULL,
    expires double precision NOT NULL
);
"""

# Version 8: the store's own needs. The change feed's triggers also NOTIFY (delivered at
# commit), so IMAP IDLE on any node wakes at once (storage/postgres/changes.py); the
# indexes the SQLite index has for the mailbox list and the received-in-24-h counts.
V8_STORE = """
CREATE OR REPLACE FUNCTION bump_mailbox_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD.mailbox_id;
    ELSE
        changed := NEW.mailbox_id;
    END IF;
    INSERT INTO mailbox_changes(mailbox_id, seq) VALUES (changed, 1)
    ON CONFLICT (mailbox_id) DO UPDATE SET seq = mailbox_changes.seq + 1;
    PERFORM pg_notify('mailbox_changes', changed);
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION forget_mailbox_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM mailbox_changes WHERE mailbox_id = OLD.id;
    PERFORM pg_notify('mailbox_changes', OLD.id);
    RETURN NULL;
END $$;
CREATE INDEX messages_mailbox_received ON messages(mailbox_id, received);
CREATE INDEX mailboxes_domain ON mailboxes(domain, name);
CREATE INDEX messages_path ON messages(path);
"""

# Version 9: delivery reservations (storage/sqlite/reservations.py): a delivery's message
# id is reserved before its object is written, so reconciliation on any node leaves the
# object of a live reservation alone (S3 blobs shared by every node).
V9_RESERVATIONS = """
CREATE TABLE delivery_reservations (
    message_id text PRIMARY KEY,
    mailbox_id text NOT NULL,
    started double precision NOT NULL,
    expires double precision NOT NULL
);
CREATE INDEX delivery_reservations_expires ON delivery_reservations(expires);
"""

# (version, name, SQL), oldest first; versions are 1, 2, 3, ... without gaps.
VERSIONS: tuple[tuple[int, str, str], ...] = (
    (1, "index tables of storage/sqlite/schema.py", V1_INDEX),
    (2, "multi-node: leases, web_secrets, login_failures", V2_MULTI_NODE),
    (3, "workers: leases as in SQLite, the mailbox change feed", V3_WORKERS),
    (4, "relay copies: relay_targets, relay_sent", V4_RELAYS),
    (5, "fetch sources: settings, sealed credentials, what was fetched", V5_SOURCES),
    (6, "mail robots and their reply memory", V6_ROBOTS),
    (7, "built-in ACME: account, live certificate, status, challenges", V7_ACME),
    (8, "store: change notifications, list indexes", V8_STORE),
    (9, "delivery reservations", V9_RESERVATIONS),
)

# Every table the latest version has (tests compare it with storage/sqlite/schema.py).
TABLES = (
    "meta domains mailboxes addresses epochs messages admins audit admin_sessions api_tokens"
    " message_seen login_clients leases web_secrets login_failures mailbox_changes"
    " relay_targets relay_sent"
    " sources source_folders source_fetched delivery_reservations"
    " robots robot_replies"
    " acme_account acme_certificates acme_status acme_challenges"
).split()

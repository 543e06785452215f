"""The index schema. Everything here is metadata; message content lives only in blobs."""

SCHEMA_VERSION = 1
APPLICATION_ID = 0x4A475731  # "JGW1": marks a gateway.db as ours

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS domains (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS mailboxes (
    id TEXT PRIMARY KEY,
    domain TEXT NOT NULL REFERENCES domains(name),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    quota INTEGER NOT NULL DEFAULT 0,
    allowed_networks TEXT NOT NULL DEFAULT '[]',
    protocols TEXT NOT NULL DEFAULT '["pop3","imap"]',
    settings TEXT NOT NULL DEFAULT '{}',
    uidvalidity INTEGER NOT NULL,
    next_uid INTEGER NOT NULL DEFAULT 1,
    message_count INTEGER NOT NULL DEFAULT 0,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    last_login REAL,
    passphrase_set_at REAL
);
CREATE TABLE IF NOT EXISTS addresses (
    address TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    is_primary INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS addresses_mailbox ON addresses(mailbox_id);
CREATE TABLE IF NOT EXISTS epochs (
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    state TEXT NOT NULL,
    salt BLOB NOT NULL,
    nonce BLOB NOT NULL,
    sealed_seed BLOB NOT NULL,
    kdf_memory_kib INTEGER NOT NULL,
    kdf_iterations INTEGER NOT NULL,
    kdf_lanes INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (mailbox_id, epoch)
);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id),
    uid INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    size INTEGER NOT NULL,
    stored_size INTEGER NOT NULL,
    received REAL NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    encoding TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    UNIQUE (mailbox_id, uid)
);
CREATE INDEX IF NOT EXISTS messages_mailbox_uid ON messages(mailbox_id, uid);
CREATE INDEX IF NOT EXISTS messages_mailbox_received ON messages(mailbox_id, received);
CREATE INDEX IF NOT EXISTS mailboxes_domain ON mailboxes(domain, name);
CREATE TABLE IF NOT EXISTS admins (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    domains TEXT NOT NULL DEFAULT '[]',
    disabled INTEGER NOT NULL DEFAULT 0,
    totp_secret TEXT,
    recovery_codes TEXT NOT NULL DEFAULT '[]',
    language TEXT NOT NULL DEFAULT 'en',
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);
CREATE TABLE IF NOT EXISTS admin_sessions (
    hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    admin TEXT NOT NULL REFERENCES admins(name) ON DELETE CASCADE ON UPDATE CASCADE,
    created REAL NOT NULL,
    last_seen REAL NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS admin_sessions_admin ON admin_sessions(admin);
CREATE TABLE IF NOT EXISTS api_tokens (
    hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    admin TEXT NOT NULL REFERENCES admins(name) ON DELETE CASCADE ON UPDATE CASCADE,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    last_used REAL
);
CREATE TABLE IF NOT EXISTS message_seen (
    message_id TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS login_clients (
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    last_ok REAL NOT NULL,
    PRIMARY KEY (mailbox_id, address)
);
-- Keys every process must agree on: the console's CSRF signing key (random bytes).
CREATE TABLE IF NOT EXISTS web_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS robots (
    mailbox_id TEXT PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    starts REAL,
    ends REAL,
    copy_to TEXT NOT NULL DEFAULT '',
    interval_days INTEGER NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS robot_replies (
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    sender_mac TEXT NOT NULL,
    sent REAL NOT NULL,
    PRIMARY KEY (mailbox_id, sender_mac)
);
CREATE TABLE IF NOT EXISTS mailbox_changes (
    mailbox_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS relay_targets (
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    policy TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (mailbox_id, address)
);
CREATE TABLE IF NOT EXISTS relay_sent (
    tag TEXT PRIMARY KEY,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS relay_sent_expires ON relay_sent(expires);
CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    secret TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    comment TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    last_run REAL,
    last_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    failing INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    last_success REAL,
    UNIQUE (mailbox_id, name)
);
CREATE TABLE IF NOT EXISTS source_folders (
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    PRIMARY KEY (source_id, folder)
);
CREATE TABLE IF NOT EXISTS source_fetched (
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    folder TEXT NOT NULL,
    key TEXT NOT NULL,
    message_id TEXT,
    skip_reason TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    at REAL NOT NULL,
    PRIMARY KEY (source_id, folder, key)
);
-- A delivery's message id, reserved before a byte of its blob is written (blobs shared
-- by several nodes: S3), removed by the commit transaction. Reconciliation leaves the
-- blob of a live reservation alone (storage/sqlite/reservations.py).
CREATE TABLE IF NOT EXISTS delivery_reservations (
    message_id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL,
    started REAL NOT NULL,
    expires REAL NOT NULL
);
-- Built-in ACME (storage/sqlite/certificates.py): one row each in acme_account
-- ('default'), acme_certificates ('live') and acme_status ('default'), private keys
-- sealed under the gateway's seal key.
CREATE TABLE IF NOT EXISTS acme_account (
    name TEXT PRIMARY KEY,
    sealed_key TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS acme_certificates (
    name TEXT PRIMARY KEY,
    chain TEXT NOT NULL,
    sealed_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    directory TEXT NOT NULL,
    stored REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS acme_status (
    name TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS acme_challenges (
    token TEXT PRIMARY KEY,
    key_authorization TEXT NOT NULL,
    expires REAL NOT NULL
);
"""

# Columns added to existing tables after release: (table, column, declaration). An index
# made by an older version gains them at open (ALTER TABLE ... ADD COLUMN), then BACKFILL
# gives existing rows a value. New indexes have them from SCHEMA already.
ADDED_COLUMNS = (("mailboxes", "passphrase_set_at", "REAL"),)
BACKFILL = (
    # The passphrase's age of a mailbox made before it was recorded: its newest key epoch.
    "UPDATE mailboxes SET passphrase_set_at = (SELECT max(created) FROM epochs"
    " WHERE epochs.mailbox_id = mailboxes.id) WHERE passphrase_set_at IS NULL",
)

# When a message was retrieved (its \Seen flag set), for retention rules. Triggers record
# it whatever code path changes the flags. They hold ";" inside BEGIN…END, so they are
# kept apart from SCHEMA (which is split on ";"). Additive: older indexes gain them.
TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS message_seen_set AFTER UPDATE OF flags ON messages
    WHEN (' ' || new.flags || ' ') LIKE '% \\Seen %'
     AND (' ' || old.flags || ' ') NOT LIKE '% \\Seen %'
    BEGIN
        INSERT OR REPLACE INTO message_seen(message_id, seen_at)
        VALUES (new.id, (julianday('now') - 2440587.5) * 86400.0);
    END""",
    """CREATE TRIGGER IF NOT EXISTS message_seen_clear AFTER UPDATE OF flags ON messages
    WHEN (' ' || new.flags || ' ') NOT LIKE '% \\Seen %'
    BEGIN
        DELETE FROM message_seen WHERE message_id = new.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS message_seen_forget AFTER DELETE ON messages
    BEGIN
        DELETE FROM message_seen WHERE message_id = old.id;
    END""",
    # The change feed (messages.change_seq): every committed delivery, flag change or
    # expunge bumps its mailbox's number in the same transaction, so a process that did
    # not make the change (another worker, another node) sees it by reading one row.
    """CREATE TRIGGER IF NOT EXISTS mailbox_change_insert AFTER INSERT ON messages
    BEGIN
        INSERT INTO mailbox_changes(mailbox_id, seq) VALUES (new.mailbox_id, 1)
        ON CONFLICT(mailbox_id) DO UPDATE SET seq = seq + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS mailbox_change_flags AFTER UPDATE OF flags ON messages
    BEGIN
        INSERT INTO mailbox_changes(mailbox_id, seq) VALUES (new.mailbox_id, 1)
        ON CONFLICT(mailbox_id) DO UPDATE SET seq = seq + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS mailbox_change_delete AFTER DELETE ON messages
    BEGIN
        INSERT INTO mailbox_changes(mailbox_id, seq) VALUES (old.mailbox_id, 1)
        ON CONFLICT(mailbox_id) DO UPDATE SET seq = seq + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS mailbox_change_forget AFTER DELETE ON mailboxes
    BEGIN
        DELETE FROM mailbox_changes WHERE mailbox_id = old.id;
    END""",
)

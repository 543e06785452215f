"""The index tables that a migration or a PostgreSQL backup copies, parents first.

Both implementations have these tables column for column (storage/postgres/schema.py
mirrors storage/sqlite/schema.py). Left out on purpose: `meta` (each index keeps its own
schema version and seal-key check value), `leases` (held by running processes only),
`mailbox_changes` (kept by triggers as the rows are written), `login_failures`
(a sliding window of a few minutes), `delivery_reservations` (ids reserved by
deliveries in flight) and `acme_challenges` (answers to a CA's challenge under way).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]  # the primary key's columns


COPIED_TABLES: tuple[Table, ...] = (
    Table("domains", ("name",)),
    Table("mailboxes", ("id",)),
    Table("addresses", ("address",)),
    Table("epochs", ("mailbox_id", "epoch")),
    Table("messages", ("id",)),
    Table("message_seen", ("message_id",)),
    Table("admins", ("name",)),
    Table("admin_sessions", ("hash",)),
    Table("api_tokens", ("hash",)),
    Table("audit", ("id",)),
    Table("login_clients", ("mailbox_id", "address")),
    Table("web_secrets", ("name",)),
    Table("relay_targets", ("mailbox_id", "address")),
    Table("relay_sent", ("tag",)),
    Table("sources", ("id",)),
    Table("source_folders", ("source_id", "folder")),
    Table("source_fetched", ("source_id", "folder", "key")),
    Table("robots", ("mailbox_id",)),
    Table("robot_replies", ("mailbox_id", "sender_mac")),
    Table("acme_account", ("name",)),
    Table("acme_certificates", ("name",)),
    Table("acme_status", ("name",)),
)

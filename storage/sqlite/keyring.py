"""Key epochs and the passphrase lifecycle: unlock, change, reset, recover, purge, export."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections import defaultdict

from .. import keys
from .. import passphrase as passphrases
from ..errors import InvalidInput, WrongPassphrase
from ..keys import SealedSeed
from ..mailbox_key import MailboxKey
from ..models import EpochInfo
from .database import Database
from .epochs import EpochSealer, current_epoch, insert_epoch, sealed_epochs
from .login_clients import forget_login_clients
from .mailboxes import SqliteMailboxes
from .messages import SqliteMessages


class SqliteKeyring:
    def __init__(
        self,
        db: Database,
        epochs: EpochSealer,
        mailboxes: SqliteMailboxes,
        messages: SqliteMessages,
    ) -> None:
        self._db = db
        self._epochs = epochs
        self._mailboxes = mailboxes
        self._messages = messages

    @staticmethod
    def _passphrase_set_now(conn: sqlite3.Connection, mailbox_id: str) -> None:
        """Record when the passphrase was set (for the maximum-age policy)."""
        conn.execute(
            "UPDATE mailboxes SET passphrase_set_at=? WHERE id=?", (time.time(), mailbox_id)
        )

    def _sealed_epochs(self, mailbox_id: str, state: str | None = None) -> list[SealedSeed]:
        return sealed_epochs(self._db, mailbox_id, state)

    def list_epochs(self, ref: str) -> list[EpochInfo]:
        mailbox_id = self._mailboxes.get(ref).id
        counts = dict(
            self._db.conn()
            .execute(
                "SELECT epoch, count(*) FROM messages WHERE mailbox_id=? GROUP BY epoch",
                (mailbox_id,),
            )
            .fetchall()
        )
        cur = self._db.conn().execute(
            "SELECT epoch, kind, recipient, state, created FROM epochs WHERE mailbox_id=?"
            " ORDER BY epoch",
            (mailbox_id,),
        )
        return [
            EpochInfo(
                r["epoch"],
                r["kind"],
                r["recipient"],
                r["state"],
                r["created"],
                counts.get(r["epoch"], 0),
            )
            for r in cur
        ]

    def current_epoch(self, mailbox_id: str) -> SealedSeed:
        return current_epoch(self._db, mailbox_id)

    def sealed_message_count(self, mailbox_id: str) -> int:
        row = (
            self._db.conn()
            .execute(
                "SELECT count(*) FROM messages m JOIN epochs e ON e.mailbox_id=m.mailbox_id AND"
                " e.epoch=m.epoch WHERE m.mailbox_id=? AND e.state='sealed'",
                (mailbox_id,),
            )
            .fetchone()
        )
        return row[0]

    @staticmethod
    def _open_group(group: list[SealedSeed], secret: bytes) -> dict[int, bytes]:
        """Derive the KEK once for epochs sharing a salt and open those it opens."""
        kek = group[0].kdf.derive(secret, group[0].salt)
        opened = {}
        for sealed in group:
            seed = keys.unseal(sealed, kek)
            if seed is not None:
                opened[sealed.epoch] = seed
        return opened

    @staticmethod
    def _groups(sealed: list[SealedSeed]) -> list[list[SealedSeed]]:
        groups: dict[tuple, list[SealedSeed]] = defaultdict(list)
        for item in sealed:
            groups[(item.salt, item.kdf)].append(item)
        return list(groups.values())

    def _normalized(self, passphrase: str) -> bytes:
        try:
            return passphrases.normalize(passphrase)
        except passphrases.InvalidPassphrase:
            raise WrongPassphrase() from None

    def unlock(self, ref: str, passphrase: str) -> MailboxKey:
        """Open the epochs sealed under `passphrase`; WrongPassphrase unless the newest opens."""
        mailbox_id = self._mailboxes.get(ref).id
        secret = self._normalized(passphrase)
        current = self._sealed_epochs(mailbox_id, "current")
        if not current:
            raise WrongPassphrase()
        newest = max(s.epoch for s in current)
        opened: dict[int, bytes] = {}
        for group in self._groups(current):
            opened.update(self._open_group(group, secret))
        if newest not in opened:
            raise WrongPassphrase()
        kinds = {s.epoch: s.kind for s in current}
        return MailboxKey(
            mailbox_id,
            {e: keys.identity_for(kinds[e], seed) for e, seed in opened.items()},
            opened,
            {e: kinds[e] for e in opened},
        )

    def _reseal_all(self, key: MailboxKey, new_passphrase: str) -> list[SealedSeed]:
        salt = keys.new_salt()
        kek = self._epochs.kdf.derive(passphrases.normalize(new_passphrase), salt)
        by_epoch = {s.epoch: s for s in self._sealed_epochs(key.mailbox_id)}
        return [
            keys.seal(
                key.mailbox_id,
                e,
                by_epoch[e].kind,
                by_epoch[e].recipient,
                seed,
                kek,
                salt,
                self._epochs.kdf,
            )
            for e, seed in sorted(key.seeds.items())
        ]

    def change_passphrase(self, ref: str, current: str) -> str:
        """Re-seal every current epoch under a new passphrase, which is returned once."""
        key = self.unlock(ref, current)
        new_passphrase = passphrases.generate()
        resealed = self._reseal_all(key, new_passphrase)
        with self._db.write() as conn:
            for sealed in resealed:
                insert_epoch(conn, sealed, "current")
            self._passphrase_set_now(conn, key.mailbox_id)
        return new_passphrase

    def reset_passphrase(self, ref: str) -> str:
        """Start a new epoch under a new passphrase; older epochs stay sealed under the old one."""
        mailbox_id = self._mailboxes.get(ref).id
        newest = self.current_epoch(mailbox_id).epoch
        new_passphrase = passphrases.generate()
        sealed = self._epochs.new_epoch(mailbox_id, newest + 1, new_passphrase)
        with self._db.write() as conn:
            conn.execute("UPDATE epochs SET state='sealed' WHERE mailbox_id=?", (mailbox_id,))
            insert_epoch(conn, sealed, "current")
            self._passphrase_set_now(conn, mailbox_id)
            forget_login_clients(conn, mailbox_id)
        return new_passphrase

    def recover(self, ref: str, old: str, current: str) -> int:
        """Re-seal the sealed epochs that `old` opens under `current`; returns how many."""
        key = self.unlock(ref, current)
        secret = self._normalized(old)
        found: dict[int, bytes] = {}
        for group in self._groups(self._sealed_epochs(key.mailbox_id, "sealed")):
            found.update(self._open_group(group, secret))
        if not found:
            raise WrongPassphrase("the old passphrase opens no sealed key epoch")
        current_sealed = self._sealed_epochs(key.mailbox_id, "current")
        anchor = max(current_sealed, key=lambda s: s.epoch)
        kek = anchor.kdf.derive(passphrases.normalize(current), anchor.salt)
        by_epoch = {s.epoch: s for s in self._sealed_epochs(key.mailbox_id)}
        with self._db.write() as conn:
            for epoch, seed in found.items():
                old_row = by_epoch[epoch]
                resealed = keys.seal(
                    key.mailbox_id,
                    epoch,
                    old_row.kind,
                    old_row.recipient,
                    seed,
                    kek,
                    anchor.salt,
                    anchor.kdf,
                )
                insert_epoch(conn, resealed, "current")
            self._passphrase_set_now(conn, key.mailbox_id)
        return len(found)

    def purge_sealed(self, ref: str) -> int:
        """Irreversibly destroy sealed epochs and their messages; returns messages destroyed."""
        mailbox_id = self._mailboxes.get(ref).id
        sealed = [s.epoch for s in self._sealed_epochs(mailbox_id, "sealed")]
        if not sealed:
            return 0
        marks = ",".join("?" * len(sealed))
        victims = (
            self._db.conn()
            .execute(
                f"SELECT id FROM messages WHERE mailbox_id=? AND epoch IN ({marks})",  # noqa: S608
                (mailbox_id, *sealed),
            )
            .fetchall()
        )
        self._messages.delete(mailbox_id, [v[0] for v in victims])
        with self._db.write() as conn:
            conn.execute(
                f"DELETE FROM epochs WHERE mailbox_id=? AND epoch IN ({marks})",  # noqa: S608
                (mailbox_id, *sealed),
            )
        return len(victims)

    def export_identity(self, ref: str, passphrase: str) -> str:
        """The opened epochs as a standard age identity file (text)."""
        key = self.unlock(ref, passphrase)
        lines = [f"# Journal Gateway mailbox {key.mailbox_id}"]
        for epoch_info in self.list_epochs(key.mailbox_id):
            seed = key.seeds.get(epoch_info.number)
            if seed is None:
                lines.append(f"# epoch {epoch_info.number}: sealed under another passphrase")
                continue
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_info.created))
            lines.append(f"# epoch {epoch_info.number} created {created}")
            lines.append(f"# recipient: {epoch_info.recipient}")
            lines.append(keys.identity_for(key.kinds[epoch_info.number], seed).encode())
        return "\n".join(lines) + "\n"

    def check_passphrase_shape(self, text: str) -> None:
        if not passphrases.looks_valid(text):
            raise InvalidInput("that is not a 30-character passphrase")

    def key_state(self, mailbox_id: str) -> str:
        """Fingerprint of the epoch rows and login fields (the unlock cache's version)."""
        cur = self._db.conn().execute(
            "SELECT m.status, m.protocols, m.allowed_networks, m.settings, e.epoch, e.state,"
            " e.salt, e.nonce, e.sealed_seed, e.kdf_memory_kib, e.kdf_iterations, e.kdf_lanes"
            " FROM mailboxes m LEFT JOIN epochs e ON e.mailbox_id = m.id WHERE m.id=?"
            " ORDER BY e.epoch",
            (mailbox_id,),
        )
        digest = hashlib.sha256()
        found = False
        for row in cur:
            found = True
            for value in row:
                field = value if isinstance(value, bytes | memoryview) else str(value).encode()
                digest.update(len(field).to_bytes(4, "big") + bytes(field))
        return digest.hexdigest() if found else ""

    def burn_unlock_time(self) -> None:
        """Spend what an unlock costs (one KDF derivation) and open nothing."""
        self._epochs.kdf.derive(secrets.token_bytes(16), keys.new_salt())

"""A session's view of the selected INBOX: sequence numbers, UIDs and what it was told.

The store is the truth; the view is what this client has been told. `sync()` compares
the two and returns the untagged responses that bring the client up to date: EXPUNGE
(only when allowed, RFC 3501 §7.4.1), EXISTS for new mail, FETCH FLAGS for flags
changed by other sessions. Until an expunge is announced the message stays in the
view as a ghost, so sequence numbers never shift under a command that forbids it.
"""

from __future__ import annotations

from storage import MailboxKey, MessageInfo

from .parser import SequenceSet
from .search import in_set
from .wire import flag_list


class MailboxView:
    def __init__(self, mailbox_id: str, key: MailboxKey, read_only: bool) -> None:
        self.mailbox_id = mailbox_id
        self.key = key
        self.read_only = read_only
        self.messages: list[MessageInfo] = []  # in sequence order (ascending UID)
        self.told_flags: dict[int, frozenset[str]] = {}  # uid -> flags the client knows
        self.ghosts: set[int] = set()  # uids expunged elsewhere, not yet announced
        self.dirty = True
        self.change_seq = 0  # the store's change number the messages were listed at

    # --- lookups -------------------------------------------------------------------
    @property
    def exists(self) -> int:
        return len(self.messages)

    @property
    def max_uid(self) -> int:
        return self.messages[-1].uid if self.messages else 0

    def visible(self, listed: list[MessageInfo]) -> list[MessageInfo]:
        """Messages this key can read; mail sealed under an older passphrase is hidden."""
        return [m for m in listed if self.key.can_read(m.epoch) and m.size >= 0]

    def select(self, sequence: SequenceSet, uid: bool) -> list[tuple[int, MessageInfo]]:
        """(sequence number, message) pairs matching a sequence or UID set, in order."""
        if uid:
            largest = self.max_uid
            return [
                (i, m)
                for i, m in enumerate(self.messages, 1)
                if in_set(sequence, m.uid, largest) and m.uid not in self.ghosts
            ]
        return [(i, m) for i, m in enumerate(self.messages, 1) if in_set(sequence, i, self.exists)]

    def seq_range_valid(self, sequence: SequenceSet) -> bool:
        """Numbers beyond EXISTS are an error (RFC 3501 §9); ranges with `*` are not."""
        limit = self.exists
        return all(
            r.first is None or r.last is None or max(r.first, r.last) <= limit for r in sequence
        )

    def first_unseen(self) -> int | None:
        for i, m in enumerate(self.messages, 1):
            if "\\Seen" not in m.flags:
                return i
        return None

    # --- updates -----------------------------------------------------------------------
    def load(self, listed: list[MessageInfo]) -> None:
        self.messages = self.visible(listed)
        self.told_flags = {m.uid: m.flags for m in self.messages}
        self.ghosts = set()
        self.dirty = False

    def update_message(self, info: MessageInfo) -> None:
        """A message's new state, told to the client by the caller (STORE, \\Seen)."""
        for i, m in enumerate(self.messages):
            if m.uid == info.uid:
                self.messages[i] = info
                self.told_flags[info.uid] = info.flags
                return

    def remove(self, uids: set[int]) -> list[bytes]:
        """Drop expunged messages; the EXPUNGE responses, highest sequence first."""
        out = []
        for i in range(len(self.messages) - 1, -1, -1):
            uid = self.messages[i].uid
            if uid in uids:
                del self.messages[i]
                self.told_flags.pop(uid, None)
                self.ghosts.discard(uid)
                out.append(b"* %d EXPUNGE\r\n" % (i + 1))
        return out

    def sync(self, listed: list[MessageInfo], allow_expunge: bool) -> list[bytes]:
        """Untagged responses that bring the client up to date with `listed`."""
        current = {m.uid: m for m in self.visible(listed)}
        out: list[bytes] = []
        gone = {m.uid for m in self.messages if m.uid not in current}
        if allow_expunge:
            out += self.remove(gone)
        else:
            self.ghosts |= gone
        for i, m in enumerate(self.messages):
            fresh = current.get(m.uid)
            if fresh is None:
                continue
            self.messages[i] = fresh
            if self.told_flags.get(m.uid) != fresh.flags:
                self.told_flags[m.uid] = fresh.flags
                out.append(
                    b"* %d FETCH (UID %d FLAGS %s)\r\n" % (i + 1, m.uid, flag_list(fresh.flags))
                )
        known = self.max_uid
        new = [m for uid, m in sorted(current.items()) if uid > known]
        if new:
            self.messages += new
            for m in new:
                self.told_flags[m.uid] = m.flags
            out.append(b"* %d EXISTS\r\n" % self.exists)
        self.dirty = False
        return out

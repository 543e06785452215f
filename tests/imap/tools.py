"""Running Debian's fetchmail, getmail6 and mbsync as real IMAP clients of the test server.

fetchmail and getmail (tests/support/retrievers.py) hand each message to an MDA that
writes stdin to a file unchanged; mbsync writes a Maildir. The tests compare those
bytes with what is stored.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import retrievers
from tests.support.tools import require_tool, run_tool, write_private

from .conftest import ImapServer


def run_fetchmail(imap: ImapServer, ca_pem: Path, tmp_path: Path, keep: bool) -> list[bytes]:
    """One fetchmail poll over IMAP+STARTTLS; returns what it handed to its MDA."""
    result, delivered = retrievers.run_fetchmail(
        tmp_path,
        f"proto IMAP port {imap.port}",
        imap.alias,
        imap.passphrase,
        f"{'keep' if keep else 'nokeep'} fetchall",
        ca_pem,
    )
    log = result.stdout + result.stderr
    assert re.search(r"^fetchmail: IMAP> A\d+ STARTTLS$", log, re.M), log
    return delivered


def run_getmail(imap: ImapServer, ca_pem: Path, tmp_path: Path, delete: bool) -> list[bytes]:
    """One getmail run over IMAPS (getmail has no IMAP STARTTLS)."""
    return retrievers.run_getmail(
        tmp_path,
        'SimpleIMAPSSLRetriever\nmailboxes = ("INBOX",)\nrecord_mailbox = false',
        imap.imaps_port,
        imap.mailbox_id,
        imap.passphrase,
        ca_pem,
        delete,
    )


# --- mbsync (isync) with Sync Pull over STARTTLS -------------------------------------------


def mbsyncrc(imap: ImapServer, ca_pem: Path, maildir: Path, password_file: Path) -> str:
    return (
        "IMAPAccount gateway\n"
        "Host localhost\n"
        f"Port {imap.port}\n"
        f"User {imap.alias}\n"
        f'PassCmd "cat {password_file}"\n'
        "SSLType STARTTLS\n"
        f"CertificateFile {ca_pem}\n"
        "\nIMAPStore gateway-remote\nAccount gateway\n"
        f"\nMaildirStore archive-local\nPath {maildir}/\nInbox {maildir}/INBOX\n"
        "\nChannel archive\nFar :gateway-remote:\nNear :archive-local:\n"
        "Patterns INBOX\nSync Pull\nCreate Near\nSyncState *\n"
    )


def run_mbsync(imap: ImapServer, ca_pem: Path, tmp_path: Path) -> list[bytes]:
    """`mbsync -a` with Sync Pull; returns the Maildir's messages in UID order."""
    mbsync = require_tool("mbsync")
    home = tmp_path / "mbsync-home"
    maildir = home / "Mail"
    maildir.mkdir(parents=True, exist_ok=True)
    password = write_private(home / "password", imap.passphrase)
    rc = write_private(home / "mbsyncrc", mbsyncrc(imap, ca_pem, maildir, password))
    result = run_tool([mbsync, "-c", str(rc), "-V", "-a"], home)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert imap.passphrase not in log
    files = [p for sub in ("cur", "new") for p in (maildir / "INBOX" / sub).iterdir()]
    return [p.read_bytes() for p in sorted(files, key=_maildir_uid)]


def without_tuid(message: bytes) -> bytes:
    """mbsync marks each message it stores with an X-TUID header line (its own tracking
    id, added at the end of the header); remove exactly that line."""
    head, separator, body = message.partition(b"\n\n")
    lines = head.split(b"\n")
    assert lines[-1].startswith(b"X-TUID: "), lines[-1]
    return b"\n".join(lines[:-1]) + separator + body


def _maildir_uid(path: Path) -> int:
    match = re.search(r",U=(\d+)", path.name)
    assert match, path.name
    return int(match.group(1))

"""Running Debian's fetchmail, getmail6 and mbsync as real IMAP clients of the test server.

fetchmail and getmail hand each message to an MDA that writes stdin to a file
unchanged; mbsync writes a Maildir. The tests compare those bytes with what is stored.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import ImapServer, require_tool

# Python that writes stdin to DIR/<n>.eml: stands in for an MDA, changes nothing.
SAVE_MDA = """
import os, sys
directory = sys.argv[1]
number = len(os.listdir(directory)) + 1
with open(os.path.join(directory, f"{number:04d}.eml"), "wb") as fh:
    fh.write(sys.stdin.buffer.read())
"""


def write_private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def run_tool(argv: list[str], home: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C"}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def _new_dir(base: Path, prefix: str) -> Path:
    path = base / f"{prefix}-{len(list(base.glob(f'{prefix}-*'))) + 1}"
    path.mkdir()
    return path


# --- fetchmail (IMAP with STARTTLS) --------------------------------------------------------


def fetchmailrc(imap: ImapServer, ca_pem: Path, out: Path, keep: bool) -> str:
    save = out.parent / "save.py"
    save.write_text(SAVE_MDA)
    return (
        "set no syslog\nset invisible\n"
        f"poll localhost with proto IMAP port {imap.port}\n"
        f'  user "{imap.alias}" there with password "{imap.passphrase}" is "archive" here\n'
        f"  options {'keep' if keep else 'nokeep'} fetchall no stripcr\n"
        f"  sslproto 'TLS1.2+' sslcertck sslcertfile '{ca_pem}'\n"
        f'  mda "{sys.executable} {save} {out}"\n'
    )


def run_fetchmail(imap: ImapServer, ca_pem: Path, tmp_path: Path, keep: bool) -> list[bytes]:
    """One fetchmail poll over IMAP+STARTTLS; returns what it handed to its MDA."""
    fetchmail = require_tool("fetchmail")
    home = tmp_path / "fetchmail-home"
    home.mkdir(exist_ok=True)
    out = _new_dir(tmp_path, "fetchmail-run")
    rc = write_private(home / "fetchmailrc", fetchmailrc(imap, ca_pem, out, keep))
    result = run_tool(
        [fetchmail, "--nodetach", "-f", str(rc), "--pidfile", str(home / "pid"), "-v"], home
    )
    log = result.stdout + result.stderr
    assert result.returncode in (0, 1), log  # 1: no mail
    assert imap.passphrase not in log
    assert "IMAP> A0002 STARTTLS" in log or "STARTTLS" in log, log
    return [p.read_bytes() for p in sorted(out.iterdir())]


# --- getmail6 (IMAPS: getmail has no IMAP STARTTLS) ---------------------------------------


def getmailrc(imap: ImapServer, ca_pem: Path, out: Path, delete: bool) -> str:
    # MDA_external rather than Maildir: getmail's Maildir delivery refuses to run as root,
    # which CI containers are; the MDA is the same byte-preserving script as fetchmail's.
    save = out.parent / "save.py"
    save.write_text(SAVE_MDA)
    return (
        "[retriever]\n"
        "type = SimpleIMAPSSLRetriever\n"
        "server = localhost\n"
        f"port = {imap.imaps_port}\n"
        f"username = {imap.mailbox_id}\n"
        f"password = {imap.passphrase}\n"
        f"ca_certs = {ca_pem}\n"
        'mailboxes = ("INBOX",)\n'
        "record_mailbox = false\n"
        "\n[destination]\n"
        "type = MDA_external\n"
        f"path = {sys.executable}\n"
        f'arguments = ("{save}", "{out}")\n'
        "allow_root_commands = true\n"
        "\n[options]\n"
        "read_all = true\n"
        f"delete = {'true' if delete else 'false'}\n"
        "delivered_to = false\n"
        "received = false\n"
    )


def run_getmail(imap: ImapServer, ca_pem: Path, tmp_path: Path, delete: bool) -> list[bytes]:
    getmail = require_tool("getmail")
    home = tmp_path / "getmail-home"
    home.mkdir(exist_ok=True)
    out = _new_dir(tmp_path, "getmail-run")
    rc = write_private(home / "getmailrc", getmailrc(imap, ca_pem, out, delete))
    result = run_tool([getmail, "--getmaildir", str(home), "--rcfile", str(rc)], home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert imap.passphrase not in result.stdout + result.stderr
    return [p.read_bytes() for p in sorted(out.iterdir())]


def as_getmail_delivers(raw: bytes) -> bytes:
    """getmail hands its MDA LF line endings (one-to-one for CRLF-only messages)."""
    assert b"\n" not in raw.replace(b"\r\n", b"")
    return raw.replace(b"\r\n", b"\n")


def unfold_header(message: bytes) -> bytes:
    """getmail re-wraps long header lines (Python's email package): compare unfolded."""
    head, separator, body = message.partition(b"\n\n")
    return re.sub(rb"\n(?=[ \t])", b"", head) + separator + body


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

"""Debian's fetchmail and getmail6 as real retrieval clients of a test server.

Both hand each message to an MDA that writes stdin to a file unchanged (tools.SAVE_MDA),
so the tests compare exactly what the tool delivered. The protocol test packages say
how to reach their server (tests/pop3/tools.py, tests/imap/tools.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .tools import new_dir, require_tool, run_tool, save_mda, saved, write_private


def fetchmailrc(poll: str, user: str, password: str, options: str, ca_pem: Path, out: Path) -> str:
    """One verified-TLS poll of localhost; `poll` names the protocol and port."""
    return (
        "set no syslog\nset invisible\n"
        f"poll localhost with {poll}\n"
        f'  user "{user}" there with password "{password}" is "archive" here\n'
        f"  options {options} no stripcr\n"
        f"  sslproto 'TLS1.2+' sslcertck sslcertfile '{ca_pem}'\n"
        f'  mda "{sys.executable} {save_mda(out)} {out}"\n'
    )


def run_fetchmail(
    tmp_path: Path, poll: str, user: str, password: str, options: str, ca_pem: Path
) -> tuple[subprocess.CompletedProcess, list[bytes]]:
    """One fetchmail poll; returns its run and what it handed to its MDA, in order."""
    fetchmail = require_tool("fetchmail")
    home = tmp_path / "fetchmail-home"  # also holds .fetchids, the UIDL memory of keep mode
    home.mkdir(exist_ok=True)
    out = new_dir(tmp_path, "fetchmail-run")
    rc = write_private(
        home / "fetchmailrc", fetchmailrc(poll, user, password, options, ca_pem, out)
    )
    result = run_tool(
        [fetchmail, "--nodetach", "-f", str(rc), "--pidfile", str(home / "pid"), "-v"], home
    )
    log = result.stdout + result.stderr
    delivered = saved(out)
    # fetchmail(1), EXIT CODES: 0 when mail was retrieved, 1 when there was none to get
    # (keep mode remembers what it fetched); anything else is an error.
    assert result.returncode == (0 if delivered else 1), log
    assert password not in log
    return result, delivered


def getmailrc(
    retriever: str, port: int, user: str, password: str, ca_pem: Path, out: Path, delete: bool
) -> str:
    """`retriever`: the retriever type, then any option lines of its own (IMAP: which
    mailboxes); the rest is the same for every retriever."""
    # MDA_external rather than Maildir: getmail's Maildir delivery refuses to run as root,
    # which CI containers are; the MDA is the same byte-preserving script as fetchmail's.
    return (
        "[retriever]\n"
        f"type = {retriever}\n"
        "server = localhost\n"
        f"port = {port}\n"
        f"username = {user}\n"
        f"password = {password}\n"
        f"ca_certs = {ca_pem}\n"
        "\n[destination]\n"
        "type = MDA_external\n"
        f"path = {sys.executable}\n"
        f'arguments = ("{save_mda(out)}", "{out}")\n'
        "allow_root_commands = true\n"
        "\n[options]\n"
        "read_all = true\n"
        f"delete = {'true' if delete else 'false'}\n"
        "delivered_to = false\n"
        "received = false\n"
    )


def run_getmail(
    tmp_path: Path,
    retriever: str,
    port: int,
    user: str,
    password: str,
    ca_pem: Path,
    delete: bool,
) -> list[bytes]:
    """One getmail run (`retriever` as for getmailrc); returns what it handed to its MDA."""
    getmail = require_tool("getmail")
    home = tmp_path / "getmail-home"
    home.mkdir(exist_ok=True)
    out = new_dir(tmp_path, "getmail-run")
    rc = write_private(
        home / "getmailrc", getmailrc(retriever, port, user, password, ca_pem, out, delete)
    )
    result = run_tool([getmail, "--getmaildir", str(home), "--rcfile", str(rc)], home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert password not in result.stdout + result.stderr
    return saved(out)


def as_getmail_delivers(raw: bytes) -> bytes:
    """What getmail hands its MDA for a CRLF message `raw`: LF line endings, and a
    Return-Path header in front when the message has none (a retrieval has no
    envelope sender). For CRLF-only messages this is one-to-one, so equality with it
    still proves byte identity."""
    assert b"\n" not in raw.replace(b"\r\n", b"")
    lf = raw.replace(b"\r\n", b"\n")
    return lf if lf.startswith(b"Return-Path:") else b"Return-Path: <unknown>\n" + lf


def unfold_header(message: bytes) -> bytes:
    """RFC 5322 unfolding of the header section (LF form); the body is left as it is.

    getmail re-wraps header lines longer than 78 characters (Python's email package);
    unfolding both sides compares the same header text and the exact body."""
    head, separator, body = message.partition(b"\n\n")
    return re.sub(rb"\n(?=[ \t])", b"", head) + separator + body

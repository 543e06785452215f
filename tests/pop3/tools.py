"""Running Debian's fetchmail and getmail6 as real subprocesses against the test server.

Both hand each message to an MDA that writes stdin to a file unchanged, so the tests
compare exactly what the tool delivered.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import Pop3Server, require_tool

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


def fetchmailrc(pop3: Pop3Server, ca_pem: Path, out: Path, keep: bool) -> str:
    save = out.parent / "save.py"
    save.write_text(SAVE_MDA)
    return (
        "set no syslog\nset invisible\n"
        f"poll localhost with proto POP3 port {pop3.stls_port} uidl\n"
        f'  user "{pop3.alias}" there with password "{pop3.passphrase}" is "archive" here\n'
        f"  options {'keep' if keep else 'nokeep fetchall'} no stripcr\n"
        f"  sslproto 'TLS1.2+' sslcertck sslcertfile '{ca_pem}'\n"
        f'  mda "{sys.executable} {save} {out}"\n'
    )


def run_fetchmail(pop3: Pop3Server, ca_pem: Path, tmp_path: Path, keep: bool) -> list[bytes]:
    """One fetchmail poll; returns what it handed to its MDA, in order."""
    fetchmail = require_tool("fetchmail")
    home = tmp_path / "fetchmail-home"  # also holds .fetchids, the UIDL memory of keep mode
    home.mkdir(exist_ok=True)
    out = tmp_path / f"fetchmail-run-{len(list(tmp_path.glob('fetchmail-run-*'))) + 1}"
    out.mkdir()
    rc = write_private(home / "fetchmailrc", fetchmailrc(pop3, ca_pem, out, keep))
    result = run_tool(
        [fetchmail, "--nodetach", "-f", str(rc), "--pidfile", str(home / "pid"), "-v"], home
    )
    # 0: mail fetched, 1: no new mail
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert pop3.passphrase not in result.stdout + result.stderr
    if keep:
        assert re.search(r"POP3> TOP \d+ 99999999", result.stdout) or result.returncode == 1
    return [p.read_bytes() for p in sorted(out.iterdir())]


def getmailrc(pop3: Pop3Server, ca_pem: Path, out: Path, delete: bool) -> str:
    # MDA_external rather than Maildir: getmail's Maildir delivery refuses to run as root,
    # which CI containers are; the MDA is the same byte-preserving script as fetchmail's.
    save = out.parent / "save.py"
    save.write_text(SAVE_MDA)
    return (
        "[retriever]\n"
        "type = SimplePOP3SSLRetriever\n"
        "server = localhost\n"
        f"port = {pop3.pop3s_port}\n"
        f"username = {pop3.mailbox_id}\n"
        f"password = {pop3.passphrase}\n"
        f"ca_certs = {ca_pem}\n"
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


def run_getmail(pop3: Pop3Server, ca_pem: Path, tmp_path: Path, delete: bool) -> list[bytes]:
    """One getmail run over POP3S (getmail6 has no STLS); returns what its MDA got."""
    getmail = require_tool("getmail")
    home = tmp_path / "getmail-home"
    home.mkdir(exist_ok=True)
    out = tmp_path / f"getmail-{'delete' if delete else 'keep'}"
    out.mkdir()
    rc = write_private(home / "getmailrc", getmailrc(pop3, ca_pem, out, delete))
    result = run_tool([getmail, "--getmaildir", str(home), "--rcfile", str(rc)], home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert pop3.passphrase not in result.stdout + result.stderr
    return [p.read_bytes() for p in sorted(out.iterdir())]


def as_getmail_delivers(raw: bytes) -> bytes:
    """What getmail hands its MDA for a CRLF message `raw`: LF line endings, and a
    Return-Path header in front when the message has none (a POP3 retrieval has no
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

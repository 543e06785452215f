"""Real retrieval clients (Debian fetchmail and getmail6) as subprocesses against the server.

Each test stores messages, lets the tool fetch them, and compares what the tool handed
to its delivery agent with the stored bytes.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Pop3Server, require_tool, sample_message
from .test_streaming import big_message

# Python that writes stdin to DIR/<n>.eml: stands in for an MDA, changes nothing.
SAVE_MDA = """
import os, sys
directory = sys.argv[1]
number = len(os.listdir(directory)) + 1
with open(os.path.join(directory, f"{number:04d}.eml"), "wb") as fh:
    fh.write(sys.stdin.buffer.read())
"""


def messages() -> list[bytes]:
    return [
        sample_message(1),
        b"Subject: dots\r\n\r\n.\r\n..two\r\n.three\r\nFrom the start of a line\r\nend\r\n",
        big_message(300_000),
    ]


@pytest.fixture(scope="module")
def tls_files(tls_ca, tmp_path_factory) -> tuple[Path, Path]:  # noqa: ANN001
    """fetchmail 6.4 wants the server name in the subject CN, not only in subjectAltName."""
    cert = tls_ca.issue_cert("localhost", "127.0.0.1", common_name="localhost")
    directory = tmp_path_factory.mktemp("tls-cn")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return cert_path, key_path


@pytest.fixture
def ca_pem(tls_ca, tmp_path: Path) -> Path:  # noqa: ANN001
    path = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


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


async def test_fetchmail_keep_then_delete(pop3: Pop3Server, ca_pem: Path, tmp_path: Path) -> None:
    require_tool("fetchmail")
    raws = messages()
    for raw in raws:
        pop3.deliver(raw)

    assert await asyncio.to_thread(run_fetchmail, pop3, ca_pem, tmp_path, True) == raws
    # keep mode remembers UIDLs: nothing new the second time, only the new one the third
    assert await asyncio.to_thread(run_fetchmail, pop3, ca_pem, tmp_path, True) == []
    late = sample_message(4)
    pop3.deliver(late)
    assert await asyncio.to_thread(run_fetchmail, pop3, ca_pem, tmp_path, True) == [late]
    assert len(pop3.message_ids()) == 4

    fetched = await asyncio.to_thread(run_fetchmail, pop3, ca_pem, tmp_path, False)
    assert fetched == [*raws, late]
    assert pop3.message_ids() == []


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
    """getmail hands its MDA the message with LF line endings and a Return-Path header
    it adds itself (a POP3 retrieval has no envelope sender). For CRLF-only messages this
    is a one-to-one transformation, so equality below still proves byte identity."""
    assert b"\n" not in raw.replace(b"\r\n", b"")
    return b"Return-Path: <unknown>\n" + raw.replace(b"\r\n", b"\n")


async def test_getmail_over_pop3s(pop3: Pop3Server, ca_pem: Path, tmp_path: Path) -> None:
    require_tool("getmail")
    raws = messages()
    for raw in raws:
        pop3.deliver(raw)
    expected = [as_getmail_delivers(raw) for raw in raws]

    assert await asyncio.to_thread(run_getmail, pop3, ca_pem, tmp_path, False) == expected
    assert len(pop3.message_ids()) == 3
    assert await asyncio.to_thread(run_getmail, pop3, ca_pem, tmp_path, True) == expected
    assert pop3.message_ids() == []

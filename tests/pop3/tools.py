"""Running Debian's fetchmail and getmail6 as real POP3 clients of the test server.

How they run and what they change in mail is tests/support/retrievers.py; here is
only how each reaches the POP3 server.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import retrievers

from .conftest import Pop3Server


def run_fetchmail(pop3: Pop3Server, ca_pem: Path, tmp_path: Path, keep: bool) -> list[bytes]:
    """One fetchmail poll over STLS; returns what it handed to its MDA, in order."""
    result, delivered = retrievers.run_fetchmail(
        tmp_path,
        f"proto POP3 port {pop3.stls_port} uidl",
        pop3.alias,
        pop3.passphrase,
        "keep" if keep else "nokeep fetchall",
        ca_pem,
    )
    log = result.stdout + result.stderr
    tops, retrs, deles = (re.findall(rf"POP3> {verb} \d+", log) for verb in ("TOP", "RETR", "DELE"))
    if keep:  # read with TOP, which marks nothing read; none deleted
        assert (len(tops), retrs, deles) == (len(delivered), [], []), log
    else:  # each message read with RETR, then deleted
        assert len(retrs) == len(deles) == len(delivered), log
    return delivered


def run_getmail(pop3: Pop3Server, ca_pem: Path, tmp_path: Path, delete: bool) -> list[bytes]:
    """One getmail run over POP3S (getmail6 has no STLS); returns what its MDA got."""
    return retrievers.run_getmail(
        tmp_path,
        "SimplePOP3SSLRetriever",
        pop3.pop3s_port,
        pop3.mailbox_id,
        pop3.passphrase,
        ca_pem,
        delete,
    )

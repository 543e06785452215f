"""Two `gateway serve` nodes sharing a PostgreSQL index and S3 blobs (issue 13): every
combination of storage.index and storage.blobs, the shared one end to end."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from tests.support.seaweed import S3Target, SeaweedS3, gateway_env

from .conftest import GatewayProcess
from .test_postgres_index import idle_sees_mail_sent_to_the_other_node, run
from .test_serve import MESSAGE, retrieve_all, strip_trace

pytestmark = pytest.mark.external


def _objects(seaweed_s3: SeaweedS3, bucket: str) -> list[str]:
    listed = seaweed_s3.client().list_objects_v2(Bucket=bucket, Prefix="gw/blobs/")
    return [item["Key"] for item in listed.get("Contents", [])]


def test_two_nodes_on_postgresql_and_s3_share_mailboxes_and_messages(
    postgres_dsn: str, s3_target: S3Target, seaweed_s3: SeaweedS3, tmp_path: Path
) -> None:
    """SMTP into node B, IMAP IDLE on node A sees it at once (NOTIFY: the poll is 60 s),
    POP3 RETR on node A returns it as sent; the blob is an object, in no DATA."""
    env = {
        "GATEWAY_STORAGE__INDEX": postgres_dsn,
        "GATEWAY_IMAP__IDLE_POLL_INTERVAL": "60",
        "GATEWAY_SECRETS__SEAL_KEY": base64.b64encode(os.urandom(32)).decode(),
        **gateway_env(s3_target, tmp_path),
    }
    created = run(tmp_path / "a", env, "domain", "add", "example.test")
    assert created.returncode == 0, created.stderr
    made = run(tmp_path / "a", env, "mailbox", "create", "--domain", "example.test", "--json")
    assert made.returncode == 0, made.stderr
    mailbox = json.loads(made.stdout)
    node_a = GatewayProcess(tmp_path / "a", env=env)
    node_b = GatewayProcess(tmp_path / "b", env=env)
    node_a.wait_ready()
    node_b.wait_ready()
    try:
        waited = idle_sees_mail_sent_to_the_other_node(node_a, node_b, mailbox)
        (retrieved,) = retrieve_all(node_a.ports["pop3"], mailbox["id"], mailbox["passphrase"])
    finally:
        assert node_a.stop() == 0 and node_b.stop() == 0
    assert waited < 10  # far below the 60 s poll
    assert strip_trace(retrieved) == MESSAGE
    [key] = _objects(seaweed_s3, s3_target.bucket)
    assert key.startswith(f"gw/blobs/{mailbox['id']}/") and key.endswith(".age")
    for node in ("a", "b"):  # the index in PostgreSQL, the message in S3: none on a node
        assert not (tmp_path / node / "gateway.db").exists()
        assert not list((tmp_path / node).glob("blobs/**/*.age"))
    shown = run(tmp_path / "b", env, "mailbox", "show", mailbox["id"], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["messages"] == 1

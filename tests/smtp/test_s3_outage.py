"""The object store dies mid-DATA (SIGKILL): the client gets 451 and nothing is half-listed."""

from __future__ import annotations

import asyncio
import os
import smtplib
import time

import pytest

from storage import open_store
from storage.sealing import default_sealer
from tests.support.argon import FAST_KDF
from tests.support.mail import SENDER
from tests.support.seaweed import S3Target, SeaweedS3, s3_blobs

pytestmark = pytest.mark.external
MIB = 1024 * 1024


@pytest.fixture
def weed(tmp_path):
    """A SeaweedFS of this test's own: it gets killed."""
    server = SeaweedS3(tmp_path / "weed")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def target(weed) -> S3Target:
    return weed.new_target()


@pytest.fixture
def bucket(target: S3Target) -> str:
    return target.bucket


@pytest.fixture
def store(target: S3Target, data_dir):
    """The SMTP fixtures' store, with message files in `weed` (replaces tests/conftest.py's)."""
    s = open_store(
        data_dir,
        kdf=FAST_KDF,
        sealer=default_sealer(data_dir),
        compress=False,  # every byte sent is a byte uploaded: parts go up while DATA runs
        blobs=s3_blobs(target, data_dir),
    )
    yield s
    s.close()


def body_lines(size: int) -> bytes:
    """Random printable lines of 78 characters, CRLF-terminated, `size` bytes or so."""
    lines = [os.urandom(39).hex().encode() for _ in range(size // 80)]
    return b"\r\n".join(lines) + b"\r\n"


def uploads(weed: SeaweedS3, bucket: str) -> list[str]:
    listing = weed.client().list_multipart_uploads(Bucket=bucket)
    return [u["Key"] for u in listing.get("Uploads", [])]


def objects(weed: SeaweedS3, bucket: str) -> list[str]:
    listing = weed.client().list_objects_v2(Bucket=bucket)
    return [o["Key"] for o in listing.get("Contents", [])]


def send_killing_the_store_midway(port: int, to: str, weed: SeaweedS3, bucket: str):
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        client.ehlo("client.example")
        client.mail(SENDER)
        assert client.rcpt(to)[0] == 250
        assert client.docmd("DATA")[0] == 354
        client.send(b"From: a@example.org\r\nSubject: outage\r\n\r\n" + body_lines(12 * MIB))
        deadline = time.monotonic() + 60
        while not uploads(weed, bucket):  # the first part is on its way up
            assert time.monotonic() < deadline, "no multipart upload began"
            time.sleep(0.1)
        weed.kill()
        client.send(body_lines(12 * MIB) + b".\r\n")
        return client.getreply()


async def test_the_object_store_killed_mid_data_answers_451_and_lists_nothing(
    smtp, store, mailbox, weed, bucket
):
    mbx, _ = mailbox
    port = smtp.addresses[0][1]
    code, text = await asyncio.to_thread(
        send_killing_the_store_midway, port, mbx.aliases[0], weed, bucket
    )
    assert (code, text.decode()) == (451, "4.3.0 Storage error, try again later")
    assert store.messages.list(mbx.id) == []
    weed.start()
    assert [key for key in objects(weed, bucket) if "/blobs/" in f"/{key}"] == []
    assert store.messages.list(mbx.id) == []
    assert store.maintenance.reconcile().adopted == []
    # The abort could not reach the dead store: the upload's parts wait for clean_temp.
    store.blobs.clean_temp(older_than=time.time())
    assert uploads(weed, bucket) == []

"""RCPT and DATA reply codes (DESIGN §4-§5): every refusal a sender can see."""

from __future__ import annotations

import base64
import os
import resource
import signal

import pytest

from .helpers import RawClient, leftovers, split_trace, stored, stuff

MESSAGE = b"From: a@example.org\r\nSubject: policy\r\n\r\nbody\r\n"


@pytest.fixture
async def client(smtp):
    client, _ = await RawClient.connect(smtp.address())
    await client.command("EHLO client.example")
    yield client
    await client.close()


async def rcpt(client: RawClient, address: str, sender: str = "a@example.org") -> str:
    await client.command("RSET")
    assert (await client.command(f"MAIL FROM:<{sender}>"))[0] == 250
    return (await client.command(f"RCPT TO:<{address}>"))[1]


async def test_unknown_recipients_are_550_511(client, mbx):
    for address in ("nobody@example.test", "someone@other.example", mbx.id, "x@@example.test"):
        reply = await rcpt(client, address)
        assert reply[:9] in ("550 5.1.1", "553 5.1.3"), address
    assert (await rcpt(client, "nobody@example.test")).startswith("550 5.1.1")
    assert (await rcpt(client, mbx.id)).startswith("550 5.1.1")  # an id is not an address


async def test_status_hold_is_451_421_and_disabled_is_550_521(client, store, mbx):
    store.mailboxes.update(mbx.id, status="hold")
    assert (await rcpt(client, mbx.address)).startswith("451 4.2.1")
    store.mailboxes.update(mbx.id, status="disabled")
    assert (await rcpt(client, mbx.address)).startswith("550 5.2.1")
    store.mailboxes.update(mbx.id, status="receive-only")
    assert (await rcpt(client, mbx.address)).startswith("250 2.1.5")
    store.mailboxes.update(mbx.id, status="active")
    assert (await rcpt(client, "journal@example.test")).startswith("250 2.1.5")  # alias


async def test_over_quota_is_452_422(client, store, mbx):
    store.mailboxes.update(mbx.id, quota=1000)
    assert (await rcpt(client, mbx.address)).startswith("250")
    await client.command("RSET")
    await client.command("MAIL FROM:<a@example.org> SIZE=5000")
    assert (await client.command(f"RCPT TO:<{mbx.address}>"))[1].startswith("452 4.2.2")
    # Once the mailbox is full, every new message is deferred.
    await client.command("RSET")
    assert await client.transaction("a@example.org", [mbx.address], stuff(MESSAGE * 20)) == 250
    assert (await rcpt(client, mbx.address)).startswith("452 4.2.2")


async def test_low_disk_is_452_431(client, store, mbx):
    store.disk_reserve = 1 << 62
    assert (await rcpt(client, mbx.address)).startswith("452 4.3.1")


async def test_storage_error_at_rcpt_is_451_430(client, mbx, data_dir):
    moved = data_dir.with_name("data-unmounted")
    data_dir.rename(moved)  # the data directory vanished (e.g. an unmounted volume)
    try:
        assert (await rcpt(client, mbx.address)).startswith("451 4.3.0")
    finally:
        moved.rename(data_dir)
    assert (await rcpt(client, mbx.address)).startswith("250")


async def test_storage_error_when_starting_copies_is_451_430(client, mbx, data_dir, store):
    (data_dir / "tmp").rmdir()
    (data_dir / "tmp").write_text("not a directory")
    await rcpt(client, mbx.address)
    assert (await client.command("DATA"))[0] == 354
    await client.send(stuff(MESSAGE))
    code, text = await client.reply()
    assert (code, text[:9]) == (451, "451 4.3.0")
    assert store.messages.list(mbx.id) == []
    (data_dir / "tmp").unlink()
    (data_dir / "tmp").mkdir()
    assert (await client.command("NOOP"))[0] == 250


async def test_commit_failure_is_451_430_and_leaves_nothing(client, store, domain, mbx, data_dir):
    """One broken mailbox directory: no copy at all is kept, for any mailbox."""
    other, _ = store.mailboxes.create(domain, name="Other", actor=None)
    (data_dir / "blobs" / mbx.id).write_text("in the way")
    await client.command("RSET")
    await client.command("MAIL FROM:<a@example.org>")
    await client.command(f"RCPT TO:<{other.address}>")
    await client.command(f"RCPT TO:<{mbx.address}>")
    assert (await client.command("DATA"))[0] == 354
    await client.send(stuff(MESSAGE))
    code, text = await client.reply()
    assert (code, text[:9]) == (451, "451 4.3.0")
    assert store.messages.list(mbx.id) == store.messages.list(other.id) == []
    (data_dir / "blobs" / mbx.id).unlink()
    assert leftovers(data_dir) == []
    # The sender retries and now it works.
    assert await client.transaction("a@example.org", [mbx.address], stuff(MESSAGE)) == 250


async def test_null_reverse_path_is_accepted(client, store, mailbox):
    mbx, passphrase = mailbox
    await client.command("RSET")
    assert (await client.command("MAIL FROM:<>"))[0] == 250
    assert (await client.command(f"RCPT TO:<{mbx.address}>"))[0] == 250
    assert (await client.command("DATA"))[0] == 354
    await client.send(stuff(MESSAGE))
    assert (await client.reply())[0] == 250
    fields, rest = split_trace(stored(store, mbx, passphrase)[0])
    assert fields[0] == b"Return-Path: <>\r\n" and rest == MESSAGE


async def test_too_many_recipients_is_452_453(client, store, domain):
    boxes = [store.mailboxes.create(domain, actor=None)[0] for _ in range(2)]
    await client.command("RSET")
    await client.command("MAIL FROM:<a@example.org>")
    replies = []
    for i in range(101):
        replies.append((await client.command(f"RCPT TO:<{boxes[i % 2].address}>"))[1][:9])
    assert replies[:100] == ["250 2.1.5"] * 100
    assert replies[100] == "452 4.5.3"


@pytest.fixture
def file_size_limit():
    """Make writes past 1 MiB fail with EFBIG, as a full disk would (no mock)."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, old_limit[1]))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
    signal.signal(signal.SIGXFSZ, old_handler)


async def test_write_failure_mid_data_is_451_430(client, mailbox, store, data_dir, file_size_limit):
    mbx, passphrase = mailbox
    big = b"Subject: big\r\n\r\n" + base64.encodebytes(os.urandom(3 << 20)).replace(b"\n", b"\r\n")
    await rcpt(client, mbx.address)
    assert (await client.command("DATA"))[0] == 354
    file_size_limit()
    await client.send(stuff(big))
    code, text = await client.reply()
    assert (code, text[:9]) == (451, "451 4.3.0")
    assert store.messages.list(mbx.id) == [] and leftovers(data_dir) == []
    # The session goes on; a message that fits is stored.
    assert await client.transaction("a@example.org", [mbx.address], stuff(MESSAGE)) == 250
    assert [split_trace(m)[1] for m in stored(store, mbx, passphrase)] == [MESSAGE]

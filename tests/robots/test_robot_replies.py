"""Mail robots answer exactly the mail RFC 3834 allows (issue 15, items 3 and 4).

Mail goes into the gateway over real SMTP; replies leave through a real Postfix as the
smarthost and land in its Maildir. For a message that must not be answered, the test
then sends an answerable one from another sender and waits for that reply: Postfix
delivers in order of arrival, so once the second reply is there, a reply to the first
would have been too, and none is.
"""

from __future__ import annotations

import asyncio
import smtplib
import sqlite3

import pytest

from gateway.smtp import start_smtp
from tests.support.ports import free_port

from .conftest import counted, replies_to, set_robot, wait_for

pytestmark = pytest.mark.external

ORIGINAL = (
    "From: Customer <{sender}>\r\n"
    "To: desk@example.test\r\n"
    "Subject: secret plans\r\n"
    "Message-ID: <q1@target.test>\r\n"
    "References: <q0@target.test>\r\n"
    "{extra}"
    "\r\n"
    "The confidential body of the original.\r\n"
)


def send(port: int, sender: str, to: str, extra: str = "", client_tls=None) -> None:
    raw = ORIGINAL.format(sender=sender or "nobody@target.test", extra=extra).encode()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=client_tls)
        client.sendmail(sender, [to], raw)


@pytest.fixture
def desk(store, mailbox):
    box, _ = mailbox
    store.mailboxes.add_alias(box.id, "desk@example.test", actor=None)
    return box


def stored(store, box) -> int:
    return len(store.messages.list(box.id))


async def test_a_personal_message_is_answered_with_the_right_headers(
    gateway, gateway_context, postfix, store, desk, client_tls
):
    sender = "personal@target.test"
    set_robot(store, desk.id, copy_to="supervisor@target.test")
    port = gateway.addresses[0][1]
    await asyncio.to_thread(send, port, sender, "Desk@example.test", "", client_tls)
    (reply,) = await replies_to(postfix, sender)
    (copy,) = await replies_to(postfix, "supervisor@target.test")
    assert reply["Return-Path"] == "<>"  # the null envelope sender: nothing answers it
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["From"] == "desk@example.test"
    assert reply["To"] == sender
    assert reply["Subject"] == "We received your message"
    assert reply["In-Reply-To"] == "<q1@target.test>"
    assert reply["References"] == "<q0@target.test> <q1@target.test>"
    assert reply["Message-ID"] and reply["Message-ID"] != "<q1@target.test>"
    assert reply["Date"]
    assert reply.get_content().strip() == "Thank you. A person reads this address on weekdays."
    raw = reply.as_bytes()
    assert b"secret plans" not in raw and b"confidential" not in raw
    assert copy["Subject"] == reply["Subject"] and copy["Message-ID"] == reply["Message-ID"]
    assert counted(gateway_context, "sent", "ok") == 1
    assert stored(store, desk) == 1  # the original is stored too


NOT_ANSWERED = {
    "null sender": ("", "", "null_sender"),
    "Auto-Submitted: auto-generated": ("", "Auto-Submitted: auto-generated\r\n", "auto_submitted"),
    "Auto-Submitted: auto-replied": ("", "Auto-Submitted: auto-replied\r\n", "auto_submitted"),
    "List-Id": ("", "List-Id: <news.target.test>\r\n", "list"),
    "List-Unsubscribe": ("", "List-Unsubscribe: <mailto:u@target.test>\r\n", "list"),
    "Precedence: bulk": ("", "Precedence: bulk\r\n", "precedence"),
    "Precedence: list": ("", "Precedence: list\r\n", "precedence"),
    "Precedence: junk": ("", "Precedence: junk\r\n", "precedence"),
    "Exchange journal report": (
        "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@target.test",
        "X-MS-Exchange-Organization-Journal-Report: \r\n",
        "journal_report",
    ),
    "X-MS-Journal-Report": ("", "X-MS-Journal-Report: \r\n", "journal_report"),
    "Exchange 2003 journal report": (
        "",
        "Content-Identifier: ExJournalReport\r\n",
        "journal_report",
    ),
    "X-Auto-Response-Suppress": (
        "",
        "X-Auto-Response-Suppress: OOF, AutoReply\r\n",
        "auto_response_suppress",
    ),
    "our own address": ("journal@example.test", "", "own_address"),
    "mailer-daemon": ("MAILER-DAEMON@target.test", "", "system_sender"),
    "a -request address": ("news-request@target.test", "", "system_sender"),
}


@pytest.mark.parametrize("case", NOT_ANSWERED)
async def test_mail_rfc_3834_forbids_answering_gets_no_reply(
    gateway, gateway_context, postfix, store, desk, client_tls, case
):
    sender, extra, reason = NOT_ANSWERED[case]
    slug = "".join(c if c.isalnum() else "-" for c in case.lower())
    if not sender and case != "null sender":
        sender = f"{slug}@target.test"
    set_robot(store, desk.id)
    port = gateway.addresses[0][1]
    await asyncio.to_thread(send, port, sender, "desk@example.test", extra, client_tls)
    await wait_for(lambda: counted(gateway_context, "suppressed", reason) == 1)
    # An answerable message after it: once its reply is in, none to the first came.
    control = f"control-{slug}@target.test"
    await asyncio.to_thread(send, port, control, "desk@example.test", "", client_tls)
    await replies_to(postfix, control)
    assert counted(gateway_context, "sent", "ok") == 1
    if sender:
        assert postfix.delivered_to(sender) == []
    assert stored(store, desk) == 2  # both stored, answered or not


async def test_auto_submitted_no_is_answered(
    gateway, gateway_context, postfix, store, desk, client_tls
):
    sender = "auto-no@target.test"
    set_robot(store, desk.id)
    port = gateway.addresses[0][1]
    extra = "Auto-Submitted: no\r\n"
    await asyncio.to_thread(send, port, sender, "desk@example.test", extra, client_tls)
    (reply,) = await replies_to(postfix, sender)
    assert reply["Auto-Submitted"] == "auto-replied"


async def test_one_reply_per_sender_per_interval_remembered_as_keyed_digests(
    gateway, gateway_context, postfix, store, desk, client_tls, data_dir
):
    first, other = "repeat@target.test", "another@target.test"
    set_robot(store, desk.id)
    port = gateway.addresses[0][1]
    await asyncio.to_thread(send, port, first, "desk@example.test", "", client_tls)
    await replies_to(postfix, first)
    await asyncio.to_thread(send, port, first, "desk@example.test", "", client_tls)
    await wait_for(lambda: counted(gateway_context, "suppressed", "already_replied") == 1)
    await asyncio.to_thread(send, port, other, "desk@example.test", "", client_tls)
    await replies_to(postfix, other)
    assert len(postfix.delivered_to(first)) == 1  # the second mail got no reply
    # The memory holds keyed digests only: neither address is anywhere in the index.
    conn = sqlite3.connect(data_dir / "gateway.db")
    conn.execute("PRAGMA wal_checkpoint(FULL)")
    rows = conn.execute("SELECT sender_mac FROM robot_replies").fetchall()
    conn.close()
    assert len(rows) == 2 and all(r[0].startswith("mac:v1:") for r in rows)
    for path in data_dir.glob("gateway.db*"):
        raw = path.read_bytes().lower()
        assert first.encode() not in raw and other.encode() not in raw, path


async def test_a_robot_outside_its_window_does_not_answer(
    gateway, gateway_context, postfix, store, desk, client_tls
):
    set_robot(store, desk.id, starts=4_000_000_000.0)
    port = gateway.addresses[0][1]
    await asyncio.to_thread(send, port, "early@target.test", "desk@example.test", "", client_tls)
    await wait_for(lambda: counted(gateway_context, "suppressed", "outside_window") == 1)
    assert counted(gateway_context, "sent", "ok") == 0


async def test_a_smarthost_that_is_down_costs_the_reply_never_the_message(
    gateway_context, store, desk, client_tls
):
    sender = "down@target.test"
    set_robot(store, desk.id)
    gateway_context.settings = gateway_context.settings.replace(
        relay__smarthost=f"127.0.0.1:{free_port()}", relay__timeout=5.0
    )
    service = await start_smtp(gateway_context)
    try:
        port = service.addresses[0][1]
        await asyncio.to_thread(send, port, sender, desk.address, "", client_tls)
        await wait_for(lambda: counted(gateway_context, "failed", "temporary") == 1)
        # Not remembered as answered: the next message is tried again.
        await asyncio.to_thread(send, port, sender, desk.address, "", client_tls)
        await wait_for(lambda: counted(gateway_context, "failed", "temporary") == 2)
    finally:
        await service.stop(1)
    assert counted(gateway_context, "suppressed", "already_replied") == 0
    assert stored(store, desk) == 2

"""Relay copies in line with the SMTP transaction, through a real Postfix smarthost, to
a Postfix Maildir and to a second gateway (the "second archive"). Faults are real:
a closed port, Postfix answering 4xx and 5xx, Postfix stalling at the end of DATA,
and a smarthost without STARTTLS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosmtplib
import pytest
from prometheus_client import generate_latest

from gateway.context import GatewayContext
from gateway.login import Authenticator
from gateway.smtp import start_smtp
from gateway.tls import TlsManager
from storage import open_store
from storage.async_store import AsyncStore
from storage.sealing import default_sealer
from tests.support.argon import FAST_KDF
from tests.support.ports import free_port
from tests.support.postfix import Postfix

from .helpers import client_in_data, split_trace, stored

pytestmark = pytest.mark.external

JOURNAL = (
    b"Received: from exchange.example ([192.0.2.1]) by mx; Mon, 1 Dec 2026 10:00:00 +0000\r\n"
    b"Message-ID: <journal-1@tenant.example>\r\n"
    b"From: Exchange <journal@tenant.example>\r\n"
    b"Subject: Journal report\r\n"
    b"X-MS-Journal-Report:\r\n"
    b"\r\n"
    b"Sender: a@tenant.example\r\n"
    b".a line that starts with a dot\r\n"
    b"..and one with two\r\n"
    b"\r\n"
    b"end\r\n"
)
ARCHIVE = "archive@target.test"
MiB = 1 << 20
SECOND = "journal@second.test"


@pytest.fixture
async def second_gateway(tmp_path: Path, tls_files, settings):
    """Another gateway (its own store, port and domain second.test): the second archive."""
    data_dir = tmp_path / "second"
    store = open_store(data_dir, kdf=FAST_KDF, sealer=default_sealer(data_dir))
    store.domains.add("second.test")
    mailbox, passphrase = store.mailboxes.create(
        "second.test", name="Second archive", aliases=[SECOND], actor=None
    )
    astore = AsyncStore(store)
    ctx = GatewayContext(
        settings=settings.replace(smtp__listen=f"127.0.0.1:{free_port()}"),
        store=astore,
        tls=TlsManager(str(tls_files[0]), str(tls_files[1]), data_dir),
        authenticator=Authenticator(astore),
        data_dir=data_dir,
        hostname="second.gateway.test",
    )
    service = await start_smtp(ctx)
    yield service, store, mailbox, passphrase
    await service.stop(0)
    astore.close(close_store=False)
    store.close()


@pytest.fixture
async def postfix(tls_files, second_gateway):
    server = Postfix(*tls_files, routes={"second.test": second_gateway[0].addresses[0][1]})
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture
def relay_to(store, mailbox):
    """relay_to(address, policy): a relay target of the mailbox fixture's mailbox."""

    def add(address: str, policy: str = "required") -> None:
        store.relays.put(mailbox[0].id, address, policy, "root")

    return add


async def start_relaying(start_server, postfix, ca_pem, *, port=None, tls="verify", **extra):
    return await start_server(
        **{
            "relay.smarthost": f"127.0.0.1:{port or postfix.tls_port}",
            "relay.tls": tls,
            "relay.ca_file": str(ca_pem),
            **extra,
        }
    )


async def send(service, recipient: str, message: bytes = JOURNAL) -> tuple[int, str]:
    """One transaction from an Exchange-like client: the reply to the end of DATA."""
    host, port = service.addresses[0]
    async with aiosmtplib.SMTP(hostname=host, port=port, start_tls=False) as client:
        await client.mail("journal@tenant.example")
        await client.rcpt(recipient)
        try:
            reply = await client.data(message)
        except aiosmtplib.SMTPDataError as exc:
            return exc.code, exc.message
        return reply.code, reply.message


def metric(ctx, result: str) -> float:
    text = generate_latest(ctx.metrics.registry).decode()
    prefix = f'journal_gateway_relay_copies_total{{result="{result}"}} '
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(lines[0].split()[-1]) if lines else 0.0


def local_copies(store, mailbox) -> list[bytes]:
    return [split_trace(m)[1] for m in stored(store, mailbox[0], mailbox[1])]


def second_copies(second_gateway) -> list[bytes]:
    _, store, mailbox, passphrase = second_gateway
    return stored(store, mailbox, passphrase)


async def wait_second(second_gateway, count: int = 1, seconds: float = 30.0) -> list[bytes]:
    for _ in range(int(seconds * 10)):
        found = second_copies(second_gateway)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    return second_copies(second_gateway)


async def test_a_journal_stream_arrives_byte_identical_locally_and_at_both_targets(
    start_server, postfix, ca_pem, store, mailbox, relay_to, second_gateway, gateway_context
):
    relay_to(ARCHIVE)
    relay_to(SECOND)
    smtp = await start_relaying(start_server, postfix, ca_pem)
    messages = [JOURNAL.replace(b"journal-1", f"journal-{n}".encode()) for n in range(3)]
    for message in messages:
        code, _ = await send(smtp, mailbox[0].address, message)
        assert code == 250
    assert local_copies(store, mailbox) == messages
    maildir = await asyncio.to_thread(postfix.wait_delivered, ARCHIVE, 3)
    second = await wait_second(second_gateway, 3)
    for message, at_postfix, at_second in zip(messages, maildir, second, strict=True):
        # Postfix's Maildir stores LF line ends: the same bytes, in its convention.
        assert at_postfix.endswith(message.replace(b"\r\n", b"\n"))
        assert at_second.endswith(message)
        ours = at_second[: -len(message)]
        assert ours.count(b"X-Journal-Gateway-Relayed-By: gateway.test; mark=") == 1
        assert b"by gateway.test (Journal Gateway)" in ours
    assert metric(gateway_context, "sent") == 6


@pytest.mark.parametrize("target", ["temp-fail@target.test", "data-temp-fail@target.test"])
async def test_a_required_target_failing_temporarily_answers_4xx_and_keeps_nothing(
    start_server, postfix, ca_pem, store, mailbox, relay_to, gateway_context, target
):
    relay_to(ARCHIVE)
    relay_to(target)
    smtp = await start_relaying(start_server, postfix, ca_pem)
    code, text = await send(smtp, mailbox[0].address)
    assert code == 451 and "relay" in text
    assert local_copies(store, mailbox) == []
    assert len(await asyncio.to_thread(postfix.wait_delivered, ARCHIVE)) == 1
    assert metric(gateway_context, "deferred") == 1

    # The target recovers (here: it is replaced); Exchange retries the same message.
    store.relays.remove(mailbox[0].id, target)
    code, _ = await send(smtp, mailbox[0].address)
    assert code == 250
    assert local_copies(store, mailbox) == [JOURNAL]
    await asyncio.sleep(1.0)  # what Postfix would deliver has been delivered
    assert len(postfix.delivered_to(ARCHIVE)) == 1, "the retry reached the target twice"
    assert metric(gateway_context, "duplicate") == 1


@pytest.mark.parametrize(
    ("target", "reason"),
    [("reject@target.test", "answered 550"), ("temp-fail@target.test", "answered 450")],
)
async def test_a_best_effort_miss_keeps_the_local_copy_and_is_counted_and_audited(
    start_server, postfix, ca_pem, store, mailbox, relay_to, gateway_context, target, reason
):
    relay_to(ARCHIVE, "best-effort")
    relay_to(target, "best-effort")
    smtp = await start_relaying(start_server, postfix, ca_pem)
    assert (await send(smtp, mailbox[0].address))[0] == 250
    assert local_copies(store, mailbox) == [JOURNAL]
    assert len(await asyncio.to_thread(postfix.wait_delivered, ARCHIVE)) == 1
    assert (metric(gateway_context, "sent"), metric(gateway_context, "missed")) == (1, 1)
    (entry,) = [e for e in store.audit.list() if e.action == "mailbox.relay-missed"]
    assert entry.target == mailbox[0].id and target in entry.detail and reason in entry.detail
    assert b"Journal report" not in (entry.detail + entry.target).encode()


async def test_a_required_target_refusing_permanently_is_retried_too(
    start_server, postfix, ca_pem, store, mailbox, relay_to
):
    relay_to("reject@target.test")
    smtp = await start_relaying(start_server, postfix, ca_pem)
    assert (await send(smtp, mailbox[0].address))[0] == 451
    assert local_copies(store, mailbox) == []


@pytest.mark.parametrize("policy", ["required", "best-effort"])
async def test_smarthost_down(start_server, postfix, ca_pem, store, mailbox, relay_to, policy):
    relay_to(ARCHIVE, policy)
    smtp = await start_relaying(start_server, postfix, ca_pem, port=free_port())
    code, _ = await send(smtp, mailbox[0].address)
    assert (code, len(local_copies(store, mailbox))) == (
        (451, 0) if policy == "required" else (250, 1)
    )


async def test_a_slow_target_times_out_into_4xx(
    start_server, postfix, ca_pem, store, mailbox, relay_to, gateway_context
):
    relay_to("slow@target.test")
    smtp = await start_relaying(start_server, postfix, ca_pem, **{"relay.timeout": 2.0})
    started = asyncio.get_running_loop().time()
    code, _ = await send(smtp, mailbox[0].address)
    assert code == 451
    assert asyncio.get_running_loop().time() - started < 20
    assert local_copies(store, mailbox) == []
    await asyncio.sleep(0.5)
    assert postfix.delivered_to("slow@target.test") == []


@pytest.mark.parametrize("tls", ["required", "verify"])
async def test_tls_required_but_not_offered_sends_nothing(
    start_server, postfix, ca_pem, store, mailbox, relay_to, gateway_context, tls, caplog
):
    relay_to(ARCHIVE)
    smtp = await start_relaying(start_server, postfix, ca_pem, port=postfix.plain_port, tls=tls)
    with caplog.at_level("WARNING", logger="gateway.relay"):
        assert (await send(smtp, mailbox[0].address))[0] == 451
    assert "does not offer STARTTLS" in caplog.text
    assert ARCHIVE not in caplog.text and "Journal report" not in caplog.text
    await asyncio.sleep(1.0)
    assert postfix.delivered_to(ARCHIVE) == []
    assert " mail=" not in postfix.log(), "a MAIL command reached the smarthost in clear"


async def test_opportunistic_tls_sends_in_clear_when_not_offered(
    start_server, postfix, ca_pem, store, mailbox, relay_to
):
    relay_to(ARCHIVE)
    smtp = await start_relaying(
        start_server, postfix, ca_pem, port=postfix.plain_port, tls="opportunistic"
    )
    assert (await send(smtp, mailbox[0].address))[0] == 250
    assert len(await asyncio.to_thread(postfix.wait_delivered, ARCHIVE)) == 1


async def test_verify_refuses_a_certificate_of_another_ca(
    start_server, postfix, store, mailbox, relay_to, tmp_path
):
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    relay_to(ARCHIVE)
    smtp = await start_relaying(start_server, postfix, other)
    assert (await send(smtp, mailbox[0].address))[0] == 451
    await asyncio.sleep(1.0)
    assert postfix.delivered_to(ARCHIVE) == []


async def test_loops_are_not_relayed_but_kept(
    start_server, postfix, ca_pem, store, mailbox, relay_to, gateway_context
):
    relay_to(ARCHIVE)
    smtp = await start_relaying(start_server, postfix, ca_pem, **{"relay.max_received": 3})
    hops = b"Received: from a by b; Mon, 1 Dec 2026 10:00:00 +0000\r\n" * 3
    assert (await send(smtp, mailbox[0].address, hops + JOURNAL))[0] == 250
    mark = store.relays.chain_mark(mailbox[0].id)
    own = f"X-Journal-Gateway-Relayed-By: other.node; mark={mark}\r\n".encode()
    assert (await send(smtp, mailbox[0].address, own + JOURNAL))[0] == 250
    assert local_copies(store, mailbox) == [hops + JOURNAL, own + JOURNAL]
    await asyncio.sleep(1.0)
    assert postfix.delivered_to(ARCHIVE) == []
    assert metric(gateway_context, "loop") == 2


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_150_mib_are_relayed_with_bounded_memory(
    start_server, postfix, ca_pem, store, mailbox, relay_to, client_tls
):
    relay_to(ARCHIVE)
    smtp = await start_relaying(start_server, postfix, ca_pem, **{"relay.timeout": 120.0})
    line = b"0123456789abcdef" * 4 + b"\r\n"
    chunk = line * (MiB // len(line))
    count = 150
    header = b"Message-ID: <big@tenant.example>\r\nSubject: big\r\n\r\n"
    before, samples = rss_kib(), []
    sending = True

    async def sample() -> None:
        while sending:
            samples.append(rss_kib())
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    client = await client_in_data(smtp.address(), client_tls, mailbox[0].address)
    await client.send(header)
    for _ in range(count):
        await client.send(chunk)
    await client.send(b".\r\n")
    code = (await client.reply())[0]
    await client.close()
    sending = False
    await sampler
    assert code == 250
    assert len(samples) >= 10, "the transfer was not sampled"
    growth = max(samples) - before
    assert growth < 64 * 1024, f"RSS grew by {growth // 1024} MiB while 150 MiB went through"
    size = len(header) + count * len(chunk)
    (at_postfix,) = await asyncio.to_thread(postfix.wait_delivered, ARCHIVE, 1, 300.0)
    body = at_postfix[at_postfix.index(b"Message-ID: <big@") :]
    assert len(body) == size - (count * len(chunk) // len(line) + 3)  # LF, not CRLF
    assert body.endswith(line.replace(b"\r\n", b"\n") * 3)
    assert [len(m) for m in local_copies(store, mailbox)] == [size]


async def test_a_target_in_a_domain_accepted_since_is_not_relayed(
    start_server, postfix, ca_pem, store, mailbox, relay_to, gateway_context
):
    relay_to(ARCHIVE)
    store.domains.add("target.test")  # the gateway now accepts the target's domain
    smtp = await start_relaying(start_server, postfix, ca_pem)
    assert (await send(smtp, mailbox[0].address))[0] == 250
    assert local_copies(store, mailbox) == [JOURNAL]
    await asyncio.sleep(1.0)
    assert postfix.delivered_to(ARCHIVE) == []
    assert metric(gateway_context, "loop") == 1


async def test_send_message_for_robots_goes_through_the_smarthost(postfix, ca_pem, settings):
    from gateway.outbound.smarthost import RelayError, send_message

    relay = settings.replace(
        relay__smarthost=f"127.0.0.1:{postfix.tls_port}",
        relay__tls="verify",
        relay__ca_file=str(ca_pem),
    )
    reply = b"Subject: Auto: received\r\nAuto-Submitted: auto-replied\r\n\r\nThanks.\r\n.\r\n"
    await send_message(relay, "robot@example.test", [ARCHIVE], reply)
    (got,) = await asyncio.to_thread(postfix.wait_delivered, ARCHIVE)
    assert got.endswith(reply.replace(b"\r\n", b"\n"))  # the final dot line was stuffed
    with pytest.raises(RelayError, match="answered 550"):
        await send_message(relay, "robot@example.test", ["reject@target.test"], reply)
    disabled = settings.replace(relay__smarthost="")
    with pytest.raises(RelayError, match="disabled"):
        await send_message(disabled, "robot@example.test", [ARCHIVE], reply)

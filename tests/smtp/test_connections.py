"""At connect: allowed networks, connection caps, PROXY protocol; timeouts."""

from __future__ import annotations

import ipaddress
import struct

from .helpers import RawClient, leftovers, split_trace, stored, stuff


async def test_client_outside_allowed_networks_gets_554(start_server):
    service = await start_server(**{"smtp.allowed_networks": ["10.0.0.0/8", "2001:db8::/32"]})
    client, (code, text) = await RawClient.connect(service.address())
    assert (code, text[:9]) == (554, "554 5.7.1")
    assert await client.reply() == (0, "")  # closed
    await client.close()


async def test_client_inside_allowed_networks_is_greeted(start_server):
    service = await start_server(**{"smtp.allowed_networks": ["10.0.0.0/8", "127.0.0.0/8"]})
    client, (code, _) = await RawClient.connect(service.address())
    assert code == 220
    await client.close()


async def test_per_ip_connection_cap_is_421_470(start_server):
    service = await start_server(**{"smtp.max_connections_per_ip": 2})
    first, _ = await RawClient.connect(service.address())
    second, (code, _) = await RawClient.connect(service.address())
    assert code == 220
    third, (code, text) = await RawClient.connect(service.address())
    assert (code, text[:9]) == (421, "421 4.7.0")
    assert await third.reply() == (0, "")
    await first.close()
    await service.wait_idle(at_most=1)
    fourth, (code, _) = await RawClient.connect(service.address())
    assert code == 220
    for client in (second, third, fourth):
        await client.close()


async def test_total_connection_cap_is_421_470(start_server):
    service = await start_server(**{"smtp.max_connections": 1})
    first, _ = await RawClient.connect(service.address())
    second, (code, _) = await RawClient.connect(service.address())
    assert code == 421
    await first.close()
    await second.close()


async def test_idle_timeout_is_421_442(start_server):
    service = await start_server(**{"smtp.idle_timeout": 0.3})
    client, _ = await RawClient.connect(service.address())
    assert (await client.command("EHLO client.example"))[0] == 250
    code, text = await client.reply()  # sent by the server on its own
    assert (code, text[:9]) == (421, "421 4.4.2")
    assert await client.reply() == (0, "")
    await client.close()


async def test_transaction_timeout_is_421_442_and_stores_nothing(
    start_server, mailbox, store, data_dir
):
    mbx, _ = mailbox
    service = await start_server(**{"smtp.transaction_timeout": 0.5})
    client, _ = await RawClient.connect(service.address())
    await client.command("EHLO client.example")
    await client.command("MAIL FROM:<a@example.org>")
    await client.command(f"RCPT TO:<{mbx.address}>")
    assert (await client.command("DATA"))[0] == 354
    await client.send(b"Subject: slow\r\n\r\nstill sending...\r\n")
    code, text = await client.reply()
    assert (code, text[:9]) == (421, "421 4.4.2")
    await client.close()
    await service.wait_idle()
    assert store.messages.list(mbx.id) == [] and leftovers(data_dir) == []


def proxy_v2(source: str, port: int) -> bytes:
    signature = b"\r\n\r\n\x00\r\nQUIT\n"
    addresses = ipaddress.ip_address(source).packed + bytes([192, 0, 2, 1])
    body = addresses + struct.pack("!HH", port, 25)
    return signature + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


async def test_proxy_protocol_v1_and_v2_give_the_real_client(
    start_server, mailbox, store, client_tls
):
    mbx, passphrase = mailbox
    service = await start_server(
        **{"smtp.proxy_protocol": True, "smtp.allowed_networks": ["203.0.113.0/24"]}
    )
    headers = [b"PROXY TCP4 203.0.113.9 192.0.2.1 40000 25\r\n", proxy_v2("203.0.113.10", 40001)]
    for header in headers:
        client, _ = await RawClient.connect(service.address(), greet=False)
        await client.send(header)
        assert (await client.reply())[0] == 220
        await client.command("EHLO client.example")
        await client.starttls(client_tls)
        await client.command("EHLO client.example")
        assert await client.transaction("a@example.org", [mbx.address], stuff(b"x\r\n")) == 250
        await client.close()
    received = [split_trace(m)[0][-1] for m in stored(store, mbx, passphrase)]
    assert b"([203.0.113.9])" in received[0] and b"([203.0.113.10])" in received[1]


async def test_proxy_protocol_refusals(start_server):
    service = await start_server(
        **{"smtp.proxy_protocol": True, "smtp.allowed_networks": ["203.0.113.0/24"]}
    )
    client, _ = await RawClient.connect(service.address(), greet=False)
    await client.send(b"PROXY TCP4 198.51.100.7 192.0.2.1 40000 25\r\n")
    code, _ = await client.reply()
    assert code == 554
    await client.close()
    client, _ = await RawClient.connect(service.address(), greet=False)
    await client.send(b"EHLO no-proxy-header\r\n")
    assert await client.reply() == (0, "")  # dropped without a greeting
    await client.close()

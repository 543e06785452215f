"""The Connect page: journal rule and retrieval settings from the options the caller gave."""

from __future__ import annotations

from web import ConnectInfo, WebOptions, create_app

from .conftest import PASSWORD, Console


async def test_connect_page_for_a_mailbox(superadmin, domains, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    page = await superadmin.get(f"/connect?mailbox={mailbox.address}")
    html = page.body_text
    assert "Connection settings for Acme" in html
    assert f"<code>{mailbox.address}</code>" in html  # the journal rule's recipient
    assert f'user "{mailbox.id}"' in html
    assert "gw.example.test" in html and "AB:CD:EF" in html
    assert "port 2525 with STARTTLS" in html and "port 1110 with STLS" in html
    assert "undeliverable journal reports" in html and "port 25" in html
    assert "self-signed" in html
    assert (await superadmin.client.get("/connect?mailbox=mbx-none")).status == 404


async def test_connect_prefers_implicit_tls_and_warns_when_retrieval_is_off(
    aiohttp_client, env, web_store
):
    web_store.admins.create("ops", "viewer", [], PASSWORD)
    info = ConnectInfo(
        hostname="mx.example.net",
        pop3_port=None,
        pop3s_port=995,
        imap_port=None,
        imaps_port=None,
        certificate_self_signed=False,
    )
    options = WebOptions(data_dir=env.data_dir, secure_cookies=False, connect=info)
    console = Console(await aiohttp_client(create_app(env.astore, options)))
    await console.login("ops")
    html = (await console.get("/connect")).body_text
    assert "implicit TLS (POP3-TLS)" in html and "SimplePOP3SSLRetriever" in html
    assert "port = 995" in html and "The certificate is self-signed" not in html
    info_off = ConnectInfo(pop3_port=None, imap_port=None)
    options = WebOptions(data_dir=env.data_dir, secure_cookies=False, connect=info_off)
    console = Console(await aiohttp_client(create_app(env.astore, options)))
    await console.login("ops")
    html = (await console.get("/connect")).body_text
    assert "POP3 and IMAP are both off" in html


async def test_connect_shows_the_acme_certificate_and_its_last_error(
    aiohttp_client, env, web_store
):
    from storage.acme_status import AcmeStatus, write_status

    web_store.admins.create("ops", "viewer", [], PASSWORD)
    info = ConnectInfo(hostname="mx.example.net", certificate_sha256="SELF:SIGNED", acme=True)
    options = WebOptions(data_dir=env.data_dir, secure_cookies=False, connect=info)
    console = Console(await aiohttp_client(create_app(env.astore, options)))
    await console.login("ops")
    html = (await console.get("/connect")).body_text
    assert "No ACME certificate yet" in html and "The certificate is self-signed" in html

    status = AcmeStatus(
        directory="https://acme.example/dir",
        domains=["mx.example.net"],
        issuer="CN=Example Issuing CA",
        sha256="AA:BB:CC",
        not_before=1_700_000_000,
        not_after=1_800_000_000,
        issued_at=1_700_000_000,
        last_error="challenge failed: mx.example.net: Connection refused (connection)",
        failures=3,
        next_attempt=1_750_000_000,
    )
    write_status(env.data_dir, status)  # as the ACME manager, in whichever worker, leaves it
    html = (await console.get("/connect")).body_text
    assert "AA:BB:CC" in html and "SELF:SIGNED" not in html
    assert "CN=Example Issuing CA" in html and "https://acme.example/dir" in html
    assert "The last ACME attempt failed (3 in a row)" in html
    assert "mx.example.net: Connection refused (connection)" in html
    assert "2025-06-15" in html  # the next attempt
    assert "The certificate is self-signed" not in html

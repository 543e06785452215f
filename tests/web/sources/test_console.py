"""The Sources page of a mailbox against a real Dovecot: add, edit, remove, fetch now,
test connection; credentials write-only; domain scope; bad input refused whole."""

from __future__ import annotations

import re
from dataclasses import replace

from tests.web.conftest import Console
from web import create_app

from .conftest import SECRET, WRONG, imap_fields, message


def sources_url(mailbox) -> str:
    return f"/mailboxes/{mailbox.id}/sources"


async def add(console: Console, mailbox, fields: dict) -> str:
    response = await console.post(sources_url(mailbox), fields)
    assert response.status == 303, response.body_text
    return response.headers["Location"]


def the_source(env):
    (source,) = env.store.sources.list()
    return source


async def test_add_then_list_shows_every_setting_and_never_the_password(
    env, superadmin, mailbox, account, ca_pem
):
    await add(superadmin, mailbox, imap_fields(account, ca_pem, keep="on", comment="<b>x</b>"))
    page = await superadmin.get(sources_url(mailbox))
    source = the_source(env)
    text = page.body_text
    assert page.status == 200 and "Source info added." in text
    row = text[text.index(f'id="source-{source.id}"') :]
    assert f"127.0.0.1:{account.server.ports['imaps']}" in row
    assert account.user in row and "INBOX" in row and "kept" in row and "every 300 s" in row
    assert "active" in row and "never" in row
    assert "&lt;b&gt;x&lt;/b&gt;" in row and "<b>x</b>" not in text  # admin data escaped
    assert account.password not in text
    assert env.store.sources.secret(source.id) == {"password": account.password}
    assert [e.action for e in env.store.audit.list(limit=1)] == ["source.add"]


async def test_the_edit_form_never_renders_a_credential_and_empty_keeps_it(
    env, superadmin, mailbox, account, ca_pem
):
    await add(superadmin, mailbox, imap_fields(account, ca_pem, cred_password=SECRET))
    source = the_source(env)
    url = f"{sources_url(mailbox)}/{source.id}"
    form = await superadmin.get(url)
    assert form.status == 200 and SECRET not in form.body_text
    password_field = re.search(r'<input id="f-cred_password"[^>]*>', form.body_text).group(0)
    assert 'value=""' in password_field and 'autocomplete="new-password"' in password_field
    assert "leave empty to keep" in password_field
    fields = imap_fields(account, ca_pem, interval="60", cred_password="")
    saved = await superadmin.post(url, fields)
    assert saved.status == 303, saved.body_text
    assert env.store.sources.get(source.id).settings.interval == 60
    assert env.store.sources.secret(source.id) == {"password": SECRET}
    await superadmin.post(url, imap_fields(account, ca_pem, cred_password="New-One-1"))
    assert env.store.sources.secret(source.id) == {"password": "New-One-1"}


async def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_added(
    env, superadmin, mailbox, account, ca_pem
):
    cases = [
        ({"tls": "none", "port": "143"}, "needs the explicit insecure flag"),
        ({"port": "70000"}, "port must be a number from 1 to 65535"),
        ({"port": "abc"}, "the port must be a whole number"),
        ({"interval": "5"}, "interval must be 10 to 604800 seconds"),
        ({"cred_password": ""}, "the password credentials need password"),
        ({"host": "a b"}, "the host must be a host name"),
    ]
    for changes, error in cases:
        response = await superadmin.post(
            sources_url(mailbox), imap_fields(account, ca_pem, **changes)
        )
        assert response.status == 400, changes
        assert error in response.body_text.replace("\n", " "), (changes, response.body_text[-3000:])
        assert account.password not in response.body_text  # not echoed back either
    assert env.store.sources.list() == []


async def test_an_insecure_source_needs_the_checkbox_and_the_page_warns(
    env, superadmin, mailbox, account, ca_pem
):
    fields = imap_fields(account, ca_pem, tls="none", insecure="on", ca_file="")
    fields["port"] = str(account.server.ports["imap"])
    await add(superadmin, mailbox, fields)
    page = await superadmin.get(sources_url(mailbox))
    assert 'id="insecure-warning"' in page.body_text
    assert "no TLS (insecure)" in page.body_text


async def test_fetch_now_stores_the_message_and_shows_the_counts(
    env, superadmin, mailbox, account, ca_pem
):
    account.put(message(1))
    await add(superadmin, mailbox, imap_fields(account, ca_pem))
    source = the_source(env)
    page = await superadmin.post(f"{sources_url(mailbox)}/{source.id}/run", {})
    assert page.status == 200
    result = re.search(r'<div id="source-result".*?</div>', page.body_text, re.S).group(0)
    assert "Fetched 1, skipped 0, deleted at the source 1." in result
    assert env.store.mailboxes.get(mailbox.id).messages == 1
    assert account.remaining() == []
    mailbox_page = await superadmin.get(f"/mailboxes/{mailbox.id}")
    assert re.search(r"<dt>[^<]*Messages[^<]*</dt>\s*<dd[^>]*>1<", mailbox_page.body_text)
    row = page.body_text[page.body_text.index(f'id="source-{source.id}"') :]
    assert "1 stored" in row
    assert env.store.audit.list(limit=1)[0].action == "source.run"


async def test_test_connection_with_a_wrong_password_says_so_and_changes_nothing(
    env, superadmin, mailbox, account, ca_pem
):
    account.put(message(2))
    await add(superadmin, mailbox, imap_fields(account, ca_pem, cred_password=WRONG))
    before = the_source(env)
    page = await superadmin.post(f"{sources_url(mailbox)}/{before.id}/test", {})
    assert page.status == 200
    result = re.search(r'<div id="source-result".*?</div>', page.body_text, re.S).group(0)
    assert "Test failed" in result and "refused the login" in result
    assert WRONG not in page.body_text
    assert env.store.sources.get(before.id) == before  # no run recorded, not failing
    assert env.store.mailboxes.get(mailbox.id).messages == 0
    assert len(account.remaining()) == 1
    entry = env.store.audit.list(limit=1)[0]
    assert (entry.action, entry.detail) == ("source.check", "failed=auth")


async def test_test_connection_that_works_counts_and_fetches_nothing(
    env, superadmin, mailbox, account, ca_pem
):
    account.put(message(3))
    await add(superadmin, mailbox, imap_fields(account, ca_pem))
    before = the_source(env)
    page = await superadmin.post(f"{sources_url(mailbox)}/{before.id}/test", {})
    assert "Connection and sign-in work: 1 messages waiting" in page.body_text
    assert env.store.sources.get(before.id) == before
    assert len(account.remaining()) == 1 and env.store.mailboxes.get(mailbox.id).messages == 0


async def test_remove_needs_the_confirmation(env, superadmin, mailbox, account, ca_pem):
    await add(superadmin, mailbox, imap_fields(account, ca_pem))
    source = the_source(env)
    url = f"{sources_url(mailbox)}/{source.id}/remove"
    refused = await superadmin.post(url, {})
    assert refused.status == 400 and "Tick the box to confirm" in refused.body_text
    assert env.store.sources.list() == [source]
    assert (await superadmin.post(url, {"confirm": "yes"})).status == 303
    assert env.store.sources.list() == []


async def test_a_domain_admin_is_refused_on_another_domains_source(
    env, superadmin, make_console, mailbox, account, ca_pem
):
    await add(superadmin, mailbox, imap_fields(account, ca_pem))
    source = the_source(env)
    other = await make_console("beta-admin", "domain-admin", ["beta.test"])
    base = f"{sources_url(mailbox)}/{source.id}"
    assert (await other.client.get(sources_url(mailbox))).status == 403
    assert (await other.client.get(base)).status == 403
    for path in (base, base + "/run", base + "/test", base + "/remove"):
        response = await other.post(path, imap_fields(account, ca_pem, confirm="yes"))
        assert response.status == 403, path
    assert env.store.sources.list() == [source]
    # and a source of another mailbox is not reachable under this one's URL
    own, _ = env.store.mailboxes.create("beta.test", name="B", actor=None)
    assert (await other.client.get(f"/mailboxes/{own.id}/sources/{source.id}")).status == 404


async def test_a_viewer_sees_the_list_without_forms(
    env, superadmin, make_console, mailbox, account, ca_pem
):
    await add(superadmin, mailbox, imap_fields(account, ca_pem))
    viewer = await make_console("v", "viewer", ["alpha.test"])
    page = await viewer.get(sources_url(mailbox))
    assert page.status == 200 and "info" in page.body_text
    assert "Fetch now" not in page.body_text and 'id="h-add"' not in page.body_text


async def test_without_the_fetcher_the_buttons_say_so(
    env, aiohttp_client, mailbox, account, ca_pem
):
    plain = create_app(env.astore, replace(env.options, source_runner=None))
    console = Console(await aiohttp_client(plain))
    env.store.admins.create("solo", "superadmin", [], "pw-" + "x" * 20)
    assert (await console.login("solo", "pw-" + "x" * 20)).status == 303
    await add(console, mailbox, imap_fields(account, ca_pem))
    source = the_source(env)
    page = await console.post(f"{sources_url(mailbox)}/{source.id}/run", {})
    assert "This process cannot reach fetch sources" in page.body_text
    assert env.store.sources.get(source.id).last_run is None

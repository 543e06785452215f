"""Relay targets in the console (mailbox settings page) and the JSON API: nobody adds
or changes one without the mailbox passphrase; the passphrase is never kept or shown."""

from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD


@pytest.fixture
def box(env, domains):
    return env.store.mailboxes.create("alpha.test", name="Acme", actor=None)


def targets(env, mailbox) -> list[tuple[str, str]]:
    return [(t.address, t.policy) for t in env.store.relays.list(mailbox.id)]


@pytest.mark.parametrize("role", ["superadmin", "domain-admin"])
async def test_console_without_the_passphrase_adds_nothing(make_console, env, box, role):
    mailbox, passphrase = box
    console = await make_console("eve", role, ["alpha.test"])
    wrong = "not-" + passphrase
    response = await console.post(
        f"/mailboxes/{mailbox.id}/relays",
        {"relay_address": "eve@evil.example", "relay_passphrase": wrong},
    )
    assert response.status == 400
    assert "Wrong passphrase: no relay target was added or changed." in response.body_text
    assert wrong not in response.body_text and passphrase not in response.body_text
    assert 'value="eve@evil.example"' in response.body_text  # the address is kept to retry
    assert targets(env, mailbox) == []
    refused = [e for e in env.store.audit.list() if e.action == "mailbox.relay-add-refused"]
    assert [e.actor for e in refused] == ["eve"]


async def test_console_adds_changes_and_removes_with_the_passphrase(superadmin, env, box):
    mailbox, passphrase = box
    page = await superadmin.get(f"/mailboxes/{mailbox.id}/settings")
    assert 'name="relay_passphrase" type="password" value="" autocomplete="off"' in page.body_text
    form = {"relay_address": "Archive@Second.example", "relay_passphrase": passphrase}
    added = await superadmin.post(f"/mailboxes/{mailbox.id}/relays", form)
    assert added.status == 303
    page = await superadmin.get(f"/mailboxes/{mailbox.id}/settings")
    assert "Mail of this mailbox is now relayed to archive@second.example." in page.body_text
    assert "<code>archive@second.example</code> (required)" in page.body_text
    assert passphrase not in page.body_text
    form |= {"relay_policy": "best-effort"}
    await superadmin.post(f"/mailboxes/{mailbox.id}/relays", form)
    assert targets(env, mailbox) == [("archive@second.example", "best-effort")]
    removed = await superadmin.post(
        f"/mailboxes/{mailbox.id}/relays/remove", {"address": "archive@second.example"}
    )
    assert removed.status == 303 and targets(env, mailbox) == []


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"relay_address": "x@alpha.test"}, "would loop"),
        ({"relay_address": "no address"}, "invalid address"),
        ({"relay_address": "a@second.example", "relay_policy": "often"}, "Choose required"),
    ],
)
async def test_console_bad_targets_get_a_clear_error(superadmin, env, box, form, message):
    mailbox, passphrase = box
    response = await superadmin.post(
        f"/mailboxes/{mailbox.id}/relays", form | {"relay_passphrase": passphrase}
    )
    assert response.status == 400 and message in response.body_text
    assert passphrase not in response.body_text
    assert targets(env, mailbox) == []


async def test_console_post_without_csrf_is_refused(superadmin, env, box):
    mailbox, passphrase = box
    form = {"relay_address": "a@second.example", "relay_passphrase": passphrase}
    response = await superadmin.post(f"/mailboxes/{mailbox.id}/relays", form, csrf=False)
    assert response.status == 403 and targets(env, mailbox) == []


async def test_german_console_strings(make_console, env, box):
    mailbox, _ = box
    console = await make_console("de", "superadmin")
    await console.post("/settings/language", {"language": "de"})
    page = await console.get(f"/mailboxes/{mailbox.id}/settings")
    assert "Weiterleitungskopien" in page.body_text
    response = await console.post(
        f"/mailboxes/{mailbox.id}/relays",
        {"relay_address": "a@second.example", "relay_passphrase": "falsch"},
    )
    assert "Falsche Passphrase" in response.body_text


@pytest.fixture
async def api(aiohttp_client, app, env, domains):
    env.store.admins.create("kim", "domain-admin", ["alpha.test"], PASSWORD)
    _, raw = env.store.tokens.create("kim", "script")
    client = await aiohttp_client(app)
    client.headers = {"Authorization": f"Bearer {raw}"}  # type: ignore[attr-defined]
    return client


async def post(api, path: str, body):
    return await api.post(path, json=body, headers=api.headers)


@pytest.mark.parametrize("body", [{}, {"passphrase": "wrong"}, {"passphrase": 7}])
async def test_api_without_the_passphrase_adds_nothing(api, env, box, body):
    mailbox, passphrase = box
    response = await post(
        api, f"/api/v1/mailboxes/{mailbox.id}/relays", {"address": "e@evil.example", **body}
    )
    assert response.status == 400
    assert "error" in await response.json()
    assert targets(env, mailbox) == []


async def test_api_add_list_and_remove(api, env, box):
    mailbox, passphrase = box
    path = f"/api/v1/mailboxes/{mailbox.id}/relays"
    body = {"address": "Archive@Second.example", "passphrase": passphrase, "policy": "best-effort"}
    created = await post(api, path, body)
    assert created.status == 201
    document = await created.json()
    assert (document["address"], document["policy"], document["created_by"]) == (
        "archive@second.example",
        "best-effort",
        "kim",
    )
    assert passphrase not in await created.text()
    listing = await (await api.get(path, headers=api.headers)).json()
    assert [t["address"] for t in listing["targets"]] == ["archive@second.example"]
    gone = await api.delete(path + "/archive@second.example", headers=api.headers)
    assert gone.status == 200 and targets(env, mailbox) == []
    missing = await api.delete(path + "/archive@second.example", headers=api.headers)
    assert missing.status == 404


async def test_api_refuses_unknown_fields_and_own_addresses(api, env, box):
    mailbox, passphrase = box
    path = f"/api/v1/mailboxes/{mailbox.id}/relays"
    odd = await post(api, path, {"address": "a@x.example", "passphrase": passphrase, "to": 1})
    assert odd.status == 400
    own = await post(api, path, {"address": "a@alpha.test", "passphrase": passphrase})
    assert own.status == 400 and "would loop" in (await own.json())["error"]
    assert targets(env, mailbox) == []


async def test_every_admin_who_sees_the_mailbox_sees_where_its_mail_goes(make_console, env, box):
    mailbox, _ = box
    env.store.relays.put(mailbox.id, "archive@second.example", "best-effort", "root")
    viewer = await make_console("vic", "viewer", ["alpha.test"])
    page = await viewer.get(f"/mailboxes/{mailbox.id}")
    assert "<code>archive@second.example</code> (best-effort)" in page.body_text

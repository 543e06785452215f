"""The passphrase policy of a mailbox through the JSON API: maximum age and the reset lock."""

from __future__ import annotations

import time

import pytest

from storage.passphrase import looks_valid
from tests.support.policy import age_passphrase

from .conftest import PASSWORD
from .test_api import call


async def token_client(aiohttp_client, app, env, name: str, role: str, domains=()):
    env.store.admins.create(name, role, list(domains), PASSWORD)
    _, raw = env.store.tokens.create(name, "script")
    client = await aiohttp_client(app)
    client.headers = {"Authorization": f"Bearer {raw}"}
    return client


@pytest.fixture
async def api(aiohttp_client, app, env, domains):
    """A superadmin's token."""
    return await token_client(aiohttp_client, app, env, "robot", "superadmin")


@pytest.fixture
async def domain_api(aiohttp_client, app, env, domains):
    """A token of a domain admin of alpha.test."""
    return await token_client(aiohttp_client, app, env, "dom", "domain-admin", ["alpha.test"])


def actions(env, target: str) -> list[str]:
    return [e.action for e in env.store.audit.list(target=target)]


async def test_the_mailbox_json_tells_the_passphrase_age(api, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    status, body = await call(api, "GET", f"/api/v1/mailboxes/{mailbox.id}")
    assert status == 200
    assert body["passphrase_max_age_days"] is None and body["passphrase_overdue"] is False
    assert body["reset_locked"] is False
    expected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mailbox.passphrase_set_at))
    assert body["passphrase_changed"] == expected

    status, body = await call(
        api, "PATCH", f"/api/v1/mailboxes/{mailbox.id}", json={"passphrase_max_age_days": 90}
    )
    assert status == 200 and body["passphrase_max_age_days"] == 90
    assert body["passphrase_overdue"] is False
    assert "mailbox.passphrase-max-age" in actions(env, mailbox.id)

    set_at = age_passphrase(env.store, mailbox.id, 91)
    status, body = await call(api, "GET", f"/api/v1/mailboxes/{mailbox.id}")
    assert body["passphrase_overdue"] is True
    assert body["passphrase_changed"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(set_at))
    status, listed = await call(api, "GET", "/api/v1/mailboxes")
    assert [m["passphrase_overdue"] for m in listed if m["id"] == mailbox.id] == [True]

    status, body = await call(
        api, "PATCH", f"/api/v1/mailboxes/{mailbox.id}", json={"passphrase_max_age_days": None}
    )
    assert status == 200 and body["passphrase_max_age_days"] is None
    assert body["passphrase_overdue"] is False


@pytest.mark.parametrize("value", [30, "90", True, -1, 90.5, [90], {"days": 90}])
async def test_a_bad_max_age_is_a_400_and_changes_nothing(api, env, value):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    status, body = await call(
        api,
        "PATCH",
        f"/api/v1/mailboxes/{mailbox.id}",
        json={"passphrase_max_age_days": value, "name": "Renamed"},
    )
    assert status == 400
    assert body["error"] == "passphrase_max_age_days must be null (none) or one of 90, 180, 365"
    unchanged = env.store.mailboxes.get(mailbox.id)
    assert unchanged.name == mailbox.name and unchanged.settings == {}


async def test_a_domain_admin_may_lock_but_not_unlock(domain_api, api, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    url = f"/api/v1/mailboxes/{mailbox.id}"
    status, body = await call(domain_api, "PATCH", url, json={"reset_locked": "yes"})
    assert status == 400 and body["error"] == "reset_locked must be true or false"
    status, body = await call(domain_api, "PATCH", url, json={"reset_locked": True})
    assert status == 200 and body["reset_locked"] is True
    assert "mailbox.reset-lock-set" in actions(env, mailbox.id)

    status, body = await call(
        domain_api, "PATCH", url, json={"reset_locked": False, "name": "Sneaky"}
    )
    assert status == 403 and body["error"] == "only a superadmin can clear the reset lock"
    still = env.store.mailboxes.get(mailbox.id)
    assert still.settings["reset_locked"] is True and still.name == mailbox.name
    assert "mailbox.reset-lock-clear-refused" in actions(env, mailbox.id)

    status, body = await call(api, "PATCH", url, json={"reset_locked": False})
    assert status == 200 and body["reset_locked"] is False
    assert "mailbox.reset-lock-clear" in actions(env, mailbox.id)


async def test_a_locked_reset_is_refused_to_a_domain_admin(domain_api, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    env.store.mailboxes.update(mailbox.id, settings_update={"reset_locked": True})
    url = f"/api/v1/mailboxes/{mailbox.id}/reset-passphrase"
    for body in (None, {"confirm": mailbox.id}):
        status, answer = await call(domain_api, "POST", url, json=body)
        assert status == 403
        assert answer == {
            "error": "passphrase resets of this mailbox are locked: only a superadmin can reset it"
        }
    assert len(env.store.keys.list_epochs(mailbox.id)) == 1
    assert actions(env, mailbox.id).count("mailbox.passphrase-reset-refused") == 2


async def test_a_superadmin_resets_a_locked_mailbox_with_the_confirmation(api, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    env.store.mailboxes.update(mailbox.id, settings_update={"reset_locked": True})
    url = f"/api/v1/mailboxes/{mailbox.id}/reset-passphrase"
    for body in (None, {}, {"confirm": "yes"}, {"confirm": mailbox.address}):
        status, answer = await call(api, "POST", url, json=body)
        assert status == 400, body
        assert answer["error"].startswith("passphrase resets of this mailbox are locked: send")
        assert '{"confirm": "<mailbox id>"}' in answer["error"]
    status, answer = await call(api, "POST", url, json={"confirm": 7})
    assert status == 400 and answer["error"] == "confirm must be the mailbox id, as a string"
    assert len(env.store.keys.list_epochs(mailbox.id)) == 1

    status, answer = await call(api, "POST", url, json={"confirm": mailbox.id})
    assert status == 200 and looks_valid(answer["passphrase"])
    assert len(env.store.keys.list_epochs(mailbox.id)) == 2


async def test_an_unlocked_reset_needs_no_body(domain_api, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    status, answer = await call(
        domain_api, "POST", f"/api/v1/mailboxes/{mailbox.id}/reset-passphrase"
    )
    assert status == 200 and looks_valid(answer["passphrase"])

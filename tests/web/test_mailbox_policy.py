"""A mailbox's passphrase policy in the console: maximum age, and the "no reset" lock."""

from __future__ import annotations

import re

from tests.support.policy import age_passphrase

from .conftest import deliver, passphrase_of
from .test_passphrase import once_of

OVERDUE = "The passphrase of this mailbox is older than its maximum age (6 months)."
LOCKED = "Passphrase resets of this mailbox are locked: only a superadmin can reset it."


def actions(env, target: str) -> list[str]:
    return [e.action for e in env.store.audit.list(target=target)]


def selected_max_age(html: str) -> str:
    match = re.search(r'<option value="([a-z0-9]+)" selected>', html)
    assert match, "no maximum age selected"
    return match.group(1)


async def test_max_age_is_set_shown_and_overdue_until_changed(superadmin, domains, env):
    mailbox, current = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    deliver(env.store, mailbox.id)
    page = await superadmin.get(f"/mailboxes/{mailbox.id}/settings")
    assert selected_max_age(page.body_text) == "none"
    saved = await superadmin.post(f"/mailboxes/{mailbox.id}/passphrase-policy", {"max_age": "6m"})
    assert saved.status == 303
    page = await superadmin.get(saved.headers["Location"])
    assert "Maximum passphrase age saved." in page.body_text
    assert selected_max_age(page.body_text) == "6m"
    assert env.store.mailboxes.get(mailbox.id).settings["passphrase_max_age_days"] == 180
    assert "mailbox.passphrase-max-age" in actions(env, mailbox.id)

    fresh = await superadmin.get(f"/mailboxes/{mailbox.id}")
    assert "6 months" in fresh.body_text and OVERDUE not in fresh.body_text
    listing = await superadmin.get("/mailboxes")
    assert "Passphrase overdue" not in listing.body_text

    age_passphrase(env.store, mailbox.id, 200)
    overdue = await superadmin.get(f"/mailboxes/{mailbox.id}")
    assert OVERDUE in overdue.body_text
    listing = await superadmin.get("/mailboxes")
    assert 'class="badge overdue"' in listing.body_text
    assert "Passphrase overdue" in listing.body_text

    form = {
        "current": current,
        "once": once_of((await superadmin.get(f"/mailboxes/{mailbox.id}/passphrase")).body_text),
    }
    changed = await superadmin.post(f"/mailboxes/{mailbox.id}/passphrase/change", form)
    new = passphrase_of(changed.body_text)
    assert env.store.keys.unlock(mailbox.id, new).identities  # all mail stays readable
    assert env.store.keys.sealed_message_count(mailbox.id) == 0
    renewed = await superadmin.get(f"/mailboxes/{mailbox.id}")
    assert OVERDUE not in renewed.body_text
    assert "Passphrase overdue" not in (await superadmin.get("/mailboxes")).body_text


async def test_a_bad_max_age_is_refused_and_changes_nothing(superadmin, domains, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    env.store.mailboxes.update(mailbox.id, settings_update={"passphrase_max_age_days": 90})
    for value in ("2m", "", "forever"):
        refused = await superadmin.post(
            f"/mailboxes/{mailbox.id}/passphrase-policy", {"max_age": value}
        )
        assert refused.status == 400
        assert "Choose one of the maximum ages." in refused.body_text
    assert env.store.mailboxes.get(mailbox.id).settings["passphrase_max_age_days"] == 90
    cleared = await superadmin.post(
        f"/mailboxes/{mailbox.id}/passphrase-policy", {"max_age": "none"}
    )
    assert cleared.status == 303
    assert "passphrase_max_age_days" not in env.store.mailboxes.get(mailbox.id).settings


async def test_a_domain_admin_locks_resets_and_then_cannot_reset_or_unlock(
    make_console, domains, env
):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    deliver(env.store, mailbox.id)
    admin = await make_console("dom", "domain-admin", ["alpha.test"])
    locked = await admin.post(f"/mailboxes/{mailbox.id}/reset-lock", {"lock": "on"})
    assert locked.status == 303
    page = await admin.get(locked.headers["Location"])
    assert "Passphrase resets are locked." in page.body_text
    assert "Only a superadmin can clear the reset lock." in page.body_text
    assert 'name="lock" value="off"' not in page.body_text
    assert "mailbox.reset-lock-set" in actions(env, mailbox.id)
    overview = await admin.get(f"/mailboxes/{mailbox.id}")
    assert "Locked: only a superadmin can reset, after typing the mailbox id" in overview.body_text

    unlock = await admin.post(f"/mailboxes/{mailbox.id}/reset-lock", {"lock": "off"})
    assert unlock.status == 403
    assert "Only a superadmin can clear the reset lock." in unlock.body_text
    assert env.store.mailboxes.get(mailbox.id).settings["reset_locked"] is True

    passphrase_page = await admin.get(f"/mailboxes/{mailbox.id}/passphrase")
    assert LOCKED in passphrase_page.body_text
    assert (
        'action="/mailboxes/' + mailbox.id + '/passphrase/reset"' not in passphrase_page.body_text
    )
    form = {"understood": "yes", "once": once_of(passphrase_page.body_text), "confirm": mailbox.id}
    refused = await admin.post(f"/mailboxes/{mailbox.id}/passphrase/reset", form)
    assert refused.status == 403 and LOCKED in refused.body_text
    assert len(env.store.keys.list_epochs(mailbox.id)) == 1
    assert env.store.keys.sealed_message_count(mailbox.id) == 0
    audited = actions(env, mailbox.id)
    assert "mailbox.reset-lock-clear-refused" in audited
    assert "mailbox.passphrase-reset-refused" in audited
    assert "mailbox.passphrase-reset" not in audited


async def test_a_superadmin_resets_a_locked_mailbox_only_with_the_typed_id(
    superadmin, domains, env
):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    deliver(env.store, mailbox.id)
    env.store.mailboxes.update(mailbox.id, settings_update={"reset_locked": True})
    page = await superadmin.get(f"/mailboxes/{mailbox.id}/passphrase")
    assert f"Type {mailbox.id} to confirm" in page.body_text
    url = f"/mailboxes/{mailbox.id}/passphrase/reset"
    for typed in ("", "yes", mailbox.address, mailbox.id[:-1]):
        form = {"understood": "yes", "once": once_of(page.body_text), "confirm": typed}
        refused = await superadmin.post(url, form)
        assert refused.status == 400, typed
        assert 'id="confirm-error"' in refused.body_text
        assert f"Resets of this mailbox are locked. Type its id, {mailbox.id}, to confirm." in (
            refused.body_text
        )
    assert len(env.store.keys.list_epochs(mailbox.id)) == 1
    form = {"understood": "yes", "once": once_of(page.body_text), "confirm": mailbox.id}
    reset = await superadmin.post(url, form)
    assert reset.status == 200 and "Passphrase reset" in reset.body_text
    passphrase_of(reset.body_text)
    assert len(env.store.keys.list_epochs(mailbox.id)) == 2
    assert actions(env, mailbox.id).count("mailbox.passphrase-reset-refused") == 4

    cleared = await superadmin.post(f"/mailboxes/{mailbox.id}/reset-lock", {"lock": "off"})
    assert cleared.status == 303
    assert "reset_locked" not in env.store.mailboxes.get(mailbox.id).settings
    assert "mailbox.reset-lock-clear" in actions(env, mailbox.id)
    page = await superadmin.get(f"/mailboxes/{mailbox.id}/passphrase")
    assert "to confirm" not in page.body_text


async def test_a_bad_lock_value_is_refused(superadmin, domains, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    refused = await superadmin.post(f"/mailboxes/{mailbox.id}/reset-lock", {"lock": "maybe"})
    assert refused.status == 400
    assert "Choose whether passphrase resets are locked." in refused.body_text
    assert "reset_locked" not in env.store.mailboxes.get(mailbox.id).settings


async def test_the_policy_survives_other_settings_and_the_passphrase_flow(superadmin, domains, env):
    """Saving the settings form, creating and confirming keep the policy keys."""
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    await superadmin.post(f"/mailboxes/{mailbox.id}/reset-lock", {"lock": "on"})
    await superadmin.post(f"/mailboxes/{mailbox.id}/passphrase-policy", {"max_age": "3m"})
    form = {"name": "Renamed", "quota": "0", "status": "active", "protocols": "pop3"}
    assert (await superadmin.post(f"/mailboxes/{mailbox.id}/settings", form)).status == 303
    assert (
        await superadmin.post(f"/mailboxes/{mailbox.id}/stored", {"stored": "yes"})
    ).status == 303
    settings = env.store.mailboxes.get(mailbox.id).settings
    assert settings["reset_locked"] is True and settings["passphrase_max_age_days"] == 90

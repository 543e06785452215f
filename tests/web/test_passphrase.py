"""Passphrase change, reset and recover in the console; never stored, logged or repeated."""

from __future__ import annotations

import logging
import re

from .conftest import PASSPHRASE_RE, deliver, passphrase_of


def once_of(html: str) -> str:
    return re.search(r'name="once" value="([^"]+)"', html).group(1)


async def test_change_needs_the_current_passphrase(superadmin, domains, env, caplog):
    caplog.set_level(logging.DEBUG)
    mailbox, current = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    deliver(env.store, mailbox.id)
    page = await superadmin.get(f"/mailboxes/{mailbox.id}/passphrase")
    once = once_of(page.body_text)
    wrong = await superadmin.post(
        f"/mailboxes/{mailbox.id}/passphrase/change",
        {"current": "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", "once": once},
    )
    assert wrong.status == 400 and 'id="current-error"' in wrong.body_text
    assert "AAAAA" not in wrong.body_text  # never echoed back
    form = {"current": current.lower().replace("-", " "), "once": once_of(wrong.body_text)}
    done = await superadmin.post(f"/mailboxes/{mailbox.id}/passphrase/change", form)
    assert done.status == 200 and "Passphrase changed" in done.body_text
    new = passphrase_of(done.body_text)
    assert new != current
    key = env.store.keys.unlock(mailbox.id, new)
    assert key.identities  # the old mail is readable with the new passphrase
    assert env.store.keys.sealed_message_count(mailbox.id) == 0
    resent = await superadmin.post(f"/mailboxes/{mailbox.id}/passphrase/change", form)
    assert resent.status == 303 and not PASSPHRASE_RE.search(resent.body_text)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (new, current):
        assert secret not in logged
    actions = [e.action for e in env.store.audit.list(target=mailbox.id)]
    assert "mailbox.passphrase-change" in actions
    assert "mailbox.passphrase-change-failed" in actions


async def test_reset_warns_with_the_count_then_recover_brings_mail_back(superadmin, domains, env):
    mailbox, first = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    for n in range(3):
        deliver(env.store, mailbox.id, n)
    page = await superadmin.get(f"/mailboxes/{mailbox.id}/passphrase")
    assert "3 stored messages will become sealed" in page.body_text
    unticked = await superadmin.post(
        f"/mailboxes/{mailbox.id}/passphrase/reset", {"once": once_of(page.body_text)}
    )
    assert unticked.status == 400 and 'id="understood-error"' in unticked.body_text
    assert env.store.keys.sealed_message_count(mailbox.id) == 0
    form = {"understood": "yes", "once": once_of(page.body_text)}
    reset = await superadmin.post(f"/mailboxes/{mailbox.id}/passphrase/reset", form)
    assert reset.status == 200 and "Passphrase reset" in reset.body_text
    second = passphrase_of(reset.body_text)
    assert env.store.keys.sealed_message_count(mailbox.id) == 3
    again = await superadmin.post(f"/mailboxes/{mailbox.id}/passphrase/reset", form)
    assert again.status == 303  # a resent form does not reset twice
    assert len(env.store.keys.list_epochs(mailbox.id)) == 2
    detail = await superadmin.get(f"/mailboxes/{mailbox.id}")
    assert "3 messages are sealed under an older passphrase" in detail.body_text
    bad = await superadmin.post(
        f"/mailboxes/{mailbox.id}/passphrase/recover",
        {"old": second, "current_for_recover": second},
    )
    assert bad.status == 400 and 'id="old-error"' in bad.body_text
    ok = await superadmin.post(
        f"/mailboxes/{mailbox.id}/passphrase/recover", {"old": first, "current_for_recover": second}
    )
    assert ok.status == 303
    page = await superadmin.get(ok.headers["Location"])
    assert "Recovered: 3 messages are readable again" in page.body_text
    assert env.store.keys.sealed_message_count(mailbox.id) == 0
    for text in (page.body_text, ok.headers["Location"]):
        assert first not in text and second not in text

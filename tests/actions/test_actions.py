"""Each admin action: validation, authorisation (role × domain scope), its audit entry,
and one transaction (store.atomic) for all it writes."""

from __future__ import annotations

import pytest

from storage import actions
from storage.actions import Actor
from storage.errors import (
    AlreadyExists,
    ConfirmationNeeded,
    Forbidden,
    InvalidInput,
    NotDeletable,
    NotEmpty,
    NotFound,
    OutOfScope,
    WrongPassphrase,
    WrongPassword,
)
from tests.web.conftest import PASSWORD, deliver

OPERATOR = Actor.operator("uid 0")


def entries(store) -> list[tuple[str, str, str, str]]:
    """(actor, action, target, detail), oldest first."""
    return [(e.actor, e.action, e.target, e.detail) for e in reversed(store.audit.list())]


def as_admin(store, name: str, role: str, domains=()) -> Actor:
    store.admins.create(name, role, list(domains), PASSWORD)
    return Actor(store.admins.get(name), "192.0.2.7")


@pytest.fixture
def box(env, domains):
    mailbox, passphrase = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    return mailbox, passphrase


MAILBOX_ACTS = {
    "create_mailbox": lambda m, p: actions.CreateMailbox("alpha.test"),
    "update_mailbox": lambda m, p: actions.UpdateMailbox(m.id, status="hold"),
    "delete_mailbox": lambda m, p: actions.DeleteMailbox(m.id),
    "add_alias": lambda m, p: actions.AliasChange(m.id, "x@alpha.test"),
    "change_passphrase": lambda m, p: actions.ChangePassphrase(m.id, p),
    "reset_passphrase": lambda m, p: actions.ResetPassphrase(m.id),
    "recover_passphrase": lambda m, p: actions.RecoverPassphrase(m.id, p, p),
    "acknowledge_passphrase": lambda m, p: actions.AcknowledgePassphrase(m.id),
    "set_robot": lambda m, p: actions.SetRobot(m.id, "Received", "Thank you."),
    "clear_robot": lambda m, p: actions.ClearRobot(m.id),
}


@pytest.mark.parametrize("name", sorted(MAILBOX_ACTS))
@pytest.mark.parametrize(
    ("role", "scope", "refusal"),
    [("viewer", ("alpha.test",), Forbidden), ("domain-admin", ("beta.test",), OutOfScope)],
)
def test_mailbox_acts_refuse_viewers_and_other_domains_and_write_nothing(
    env, box, name, role, scope, refusal
):
    mailbox, passphrase = box
    who = as_admin(env.store, "someone", role, scope)
    before = env.store.mailboxes.get(mailbox.id)
    with pytest.raises(refusal):
        actions.ACTIONS[name].fn(env.store, who, MAILBOX_ACTS[name](mailbox, passphrase))
    assert env.store.audit.list() == []
    assert env.store.mailboxes.get(mailbox.id) == before
    assert len(env.store.mailboxes.list()) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda s, a: actions.add_domain(s, a, actions.DomainName("gamma.test")),
        lambda s, a: actions.remove_domain(s, a, actions.DomainName("beta.test")),
        lambda s, a: actions.create_admin(s, a, actions.CreateAdmin("eve", "superadmin")),
        lambda s, a: actions.reset_admin_password(s, a, actions.ResetAdminPassword("boss")),
        lambda s, a: actions.reset_totp(s, a, actions.AdminName("boss")),
        lambda s, a: actions.update_admin(
            s, a, actions.UpdateAdmin("boss", "viewer", (), disabled=True)
        ),
        lambda s, a: actions.delete_admin(s, a, actions.AdminName("boss")),
        lambda s, a: actions.reveal_metrics_token(s, a, actions.RevealMetricsToken("file")),
        lambda s, a: actions.create_token(s, a, actions.CreateToken("t", owner="boss")),
        lambda s, a: actions.purge_sealed(s, a, actions.PurgeSealed(s.mailboxes.list()[0].id)),
    ],
)
def test_superadmin_acts_refuse_a_domain_admin(env, box, call):
    env.store.admins.create("boss", "superadmin", [], PASSWORD)
    who = as_admin(env.store, "da", "domain-admin", ["alpha.test"])
    with pytest.raises(Forbidden):
        call(env.store, who)
    assert env.store.audit.list() == []
    assert {a.name for a in env.store.admins.list()} == {"boss", "da"}
    assert [d.name for d in env.store.domains.list()] == ["alpha.test", "beta.test"]


def test_a_domain_admin_creates_in_its_domain_and_the_entry_says_so(env, domains):
    who = as_admin(env.store, "da", "domain-admin", ["alpha.test"])
    wanted = actions.CreateMailbox("alpha.test", aliases=("Sales@Alpha.test",))
    created = actions.create_mailbox(env.store, who, wanted)
    assert created.mailbox.aliases == ("sales@alpha.test",)
    assert entries(env.store) == [("da", "mailbox.create", created.mailbox.id, "domain=alpha.test")]
    assert env.store.audit.list()[0].source == "192.0.2.7"
    with pytest.raises(OutOfScope):  # an alias in another customer's domain
        actions.create_mailbox(
            env.store, who, actions.CreateMailbox("alpha.test", aliases=("a@beta.test",))
        )
    with pytest.raises(InvalidInput):
        actions.create_mailbox(env.store, who, actions.CreateMailbox("alpha.test", status="asleep"))
    assert len(env.store.mailboxes.list()) == 1 and len(env.store.audit.list()) == 1


def test_update_is_all_or_nothing(env, box):
    mailbox, _ = box
    env.store.mailboxes.add_alias(mailbox.id, "old@alpha.test", actor=None)
    bad = actions.UpdateMailbox(
        mailbox.id, status="hold", remove_aliases=("old@alpha.test",), add_aliases=("no way",)
    )
    with pytest.raises(InvalidInput):
        actions.update_mailbox(env.store, OPERATOR, bad)
    after = env.store.mailboxes.get(mailbox.id)
    assert after.aliases == ("old@alpha.test",) and after.status == "active"
    assert env.store.audit.list() == []
    good = actions.UpdateMailbox(
        mailbox.id, status="hold", remove_aliases=("old@alpha.test",), add_aliases=("n@beta.test",)
    )
    actions.update_mailbox(env.store, OPERATOR, good)
    assert entries(env.store) == [
        ("cli", "mailbox.alias-remove", mailbox.id, "old@alpha.test"),
        ("cli", "mailbox.alias-add", mailbox.id, "n@beta.test"),
        ("cli", "mailbox.update", mailbox.id, "status=hold"),
    ]


def test_a_failed_write_inside_atomic_rolls_back_only_itself_when_caught(env, box):
    mailbox, _ = box
    with env.store.atomic():
        env.store.mailboxes.update(mailbox.id, name="Renamed")
        with pytest.raises(AlreadyExists):
            env.store.mailboxes.add_alias(mailbox.id, mailbox.address, actor=None)
        env.store.audit.record("t", "mailbox.update", mailbox.id)
    assert env.store.mailboxes.get(mailbox.id).name == "Renamed"
    with pytest.raises(RuntimeError), env.store.atomic():
        env.store.mailboxes.update(mailbox.id, name="Lost")
        raise RuntimeError("boom")
    assert env.store.mailboxes.get(mailbox.id).name == "Renamed"
    assert len(env.store.audit.list()) == 1


def test_deletion_rule_and_messages_need_confirming(env, box):
    mailbox, _ = box
    deliver(env.store, mailbox.id)
    with pytest.raises(NotDeletable, match="is active"):
        actions.delete_mailbox(env.store, OPERATOR, actions.DeleteMailbox(mailbox.id, True))
    env.store.mailboxes.update(mailbox.id, status="hold")
    with pytest.raises(NotEmpty):
        actions.delete_mailbox(env.store, OPERATOR, actions.DeleteMailbox(mailbox.id))
    assert env.store.audit.list() == [] and env.store.mailboxes.find(mailbox.id)
    actions.delete_mailbox(env.store, OPERATOR, actions.DeleteMailbox(mailbox.id, True))
    assert entries(env.store) == [("cli", "mailbox.delete", mailbox.id, "messages=1")]
    assert env.store.mailboxes.find(mailbox.id) is None


def test_the_reset_lock_is_enforced_and_refusals_are_recorded(env, box):
    mailbox, _ = box
    da = as_admin(env.store, "da", "domain-admin", ["alpha.test"])
    boss = as_admin(env.store, "boss", "superadmin")
    actions.update_mailbox(env.store, da, actions.UpdateMailbox(mailbox.id, reset_locked=True))
    with pytest.raises(Forbidden):
        actions.update_mailbox(env.store, da, actions.UpdateMailbox(mailbox.id, reset_locked=False))
    with pytest.raises(Forbidden):
        actions.reset_passphrase(env.store, da, actions.ResetPassphrase(mailbox.id, mailbox.id))
    with pytest.raises(ConfirmationNeeded):
        actions.reset_passphrase(env.store, boss, actions.ResetPassphrase(mailbox.id, "nope"))
    reset = actions.reset_passphrase(
        env.store, boss, actions.ResetPassphrase(mailbox.id, mailbox.id)
    )
    assert env.store.keys.unlock(mailbox.id, reset.passphrase)
    assert entries(env.store) == [
        ("da", "mailbox.reset-lock-set", mailbox.id, ""),
        ("da", "mailbox.reset-lock-clear-refused", mailbox.id, ""),
        ("da", "mailbox.passphrase-reset-refused", mailbox.id, "locked"),
        ("boss", "mailbox.passphrase-reset-refused", mailbox.id, "unconfirmed"),
        ("boss", "mailbox.passphrase-reset", mailbox.id, "sealed=0"),
    ]


def test_wrong_passphrases_are_recorded_and_change_nothing(env, box):
    mailbox, passphrase = box
    with pytest.raises(WrongPassphrase):
        actions.change_passphrase(env.store, OPERATOR, actions.ChangePassphrase(mailbox.id, "x"))
    with pytest.raises(WrongPassphrase):
        wanted = actions.RecoverPassphrase(mailbox.id, passphrase, passphrase)
        actions.recover_passphrase(env.store, OPERATOR, wanted)  # nothing sealed to recover
    assert env.store.keys.unlock(mailbox.id, passphrase)
    assert [e[1] for e in entries(env.store)] == [
        "mailbox.passphrase-change-failed",
        "mailbox.passphrase-recover-failed",
    ]


def test_own_account_acts(env, domains):
    me = as_admin(env.store, "me", "superadmin")
    with pytest.raises(WrongPassword):
        actions.change_own_password(env.store, me, actions.ChangeOwnPassword("bad", "x" * 20))
    with pytest.raises(InvalidInput):
        actions.change_own_password(env.store, me, actions.ChangeOwnPassword(PASSWORD, "short"))
    with pytest.raises(InvalidInput):  # no one demotes themselves
        actions.update_admin(env.store, me, actions.UpdateAdmin("me", "viewer", (), False))
    with pytest.raises(Forbidden):  # the CLI has no account of its own
        actions.change_own_password(env.store, OPERATOR, actions.ChangeOwnPassword("a", None))
    with pytest.raises(Forbidden):
        actions.disable_own_totp(env.store, me, actions.DisableOwnTotp(PASSWORD, ("all",)))
    with pytest.raises(InvalidInput):
        actions.set_language(env.store, me, actions.SetLanguage("xx", ("en", "de")))
    assert env.store.audit.list() == []
    actions.change_own_password(env.store, me, actions.ChangeOwnPassword(PASSWORD, "y" * 20))
    assert env.store.admins.verify_password("me", "y" * 20)
    actions.set_language(env.store, me, actions.SetLanguage("de", ("en", "de")))
    assert [e[1:] for e in entries(env.store)] == [
        ("admin.password-change", "me", ""),
        ("admin.language", "me", "de"),
    ]


def test_tokens_are_each_admins_own(env, domains):
    alice = as_admin(env.store, "alice", "viewer")
    bob = as_admin(env.store, "bob", "viewer")
    made = actions.create_token(env.store, alice, actions.CreateToken("script"))
    with pytest.raises(NotFound):
        actions.revoke_token(env.store, bob, actions.RevokeToken(made.token.id))
    with pytest.raises(Forbidden):
        actions.create_token(env.store, bob, actions.CreateToken("x", owner="alice"))
    actions.revoke_token(env.store, alice, actions.RevokeToken(made.token.id))
    assert env.store.tokens.list() == []
    assert [e[1:] for e in entries(env.store)] == [
        ("token.create", made.token.id, "admin=alice name=script"),
        ("token.revoke", made.token.id, "admin=alice"),
    ]


def test_a_disabled_admin_cannot_act(env, domains):
    who = as_admin(env.store, "gone", "superadmin")
    env.store.admins.update("gone", disabled=True)
    disabled = Actor(env.store.admins.get("gone"), who.source)
    with pytest.raises(Forbidden):
        actions.add_domain(env.store, disabled, actions.DomainName("gamma.test"))
    assert env.store.audit.list() == []

"""The fetch-source actions: role and domain scope (of the source's mailbox), one audit
entry each, and never a credential in a request's repr or an entry."""

from __future__ import annotations

import pytest

from storage import actions
from storage.actions import Actor
from storage.errors import Forbidden, InvalidInput, OutOfScope

from .test_actions import OPERATOR, as_admin, entries

SECRET = "source-secret-9Kq!"


@pytest.fixture
def source(env, domains):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    request = actions.AddSource(
        mailbox.id, "info", "imap", "mail.example.net", "info@example.net", {"password": SECRET}
    )
    added = actions.add_source(env.store, OPERATOR, request)
    return mailbox, added


class Never:
    def __call__(self, source):
        raise AssertionError("the fetch must not start for a refused actor")


SOURCE_ACTS = {
    "add_source": lambda m, s: actions.AddSource(
        m.id, "other", "pop3", "pop.example.net", "u", {"password": SECRET}
    ),
    "update_source": lambda m, s: actions.UpdateSource(s.id, keep=True),
    "remove_source": lambda m, s: actions.SourceRef(s.id),
    "run_source": lambda m, s: actions.RunSource(s.id, Never()),
    "check_source": lambda m, s: actions.CheckSource(s.id, Never()),
}


def test_every_source_action_is_enumerated_here():
    assert {n for n in actions.ACTIONS if n.endswith("_source")} == set(SOURCE_ACTS)


@pytest.mark.parametrize("name", sorted(SOURCE_ACTS))
@pytest.mark.parametrize(
    ("role", "scope", "refusal"),
    [("viewer", ("alpha.test",), Forbidden), ("domain-admin", ("beta.test",), OutOfScope)],
)
def test_source_acts_refuse_viewers_and_other_domains(env, source, name, role, scope, refusal):
    mailbox, added = source
    before = len(env.store.audit.list())
    who = as_admin(env.store, "someone", role, scope)
    with pytest.raises(refusal):
        actions.ACTIONS[name].fn(env.store, who, SOURCE_ACTS[name](mailbox, added))
    assert len(env.store.audit.list()) == before
    assert env.store.sources.list() == [added]


def test_a_domain_admin_manages_the_sources_of_its_domain(env, source):
    mailbox, added = source
    da = as_admin(env.store, "da", "domain-admin", ["alpha.test"])
    updated = actions.update_source(
        env.store, da, actions.UpdateSource(added.id, interval=60, secret={"password": "new"})
    )
    assert updated.settings.interval == 60
    assert env.store.sources.secret(added.id) == {"password": "new"}

    class Outcome:
        def detail(self):
            return "fetched=0 skipped=0 deleted=0"

    actions.run_source(env.store, da, actions.RunSource(added.id, lambda s: Outcome()))
    actions.remove_source(env.store, da, actions.SourceRef(added.id))
    rows = entries(env.store)
    assert rows[0][:3] == ("cli", "source.add", added.id)
    assert rows[1:] == [
        ("da", "source.update", added.id, "changed=interval,credentials"),
        ("da", "source.run", added.id, "fetched=0 skipped=0 deleted=0"),
        ("da", "source.remove", added.id, rows[0][3]),
    ]
    assert all(SECRET not in " ".join(r) and "new" not in r[3] for r in rows)


def test_credentials_stay_out_of_requests_reprs(env, source):
    mailbox, _ = source
    request = SOURCE_ACTS["add_source"](mailbox, None)
    assert SECRET not in repr(request)
    assert SECRET not in repr(actions.UpdateSource("src-x", secret={"password": SECRET}))


def test_bad_settings_are_refused_and_nothing_is_written(env, source):
    mailbox, added = source
    bad = [
        actions.AddSource(mailbox.id, "x", "pop3", "h", "u", {"password": "p"}, tls="none"),
        actions.AddSource(mailbox.id, "x", "smtp", "h", "u", {"password": "p"}),
        actions.AddSource(mailbox.id, "x", "pop3", "h", "u", {"password": "p"}, folders=("A",)),
        actions.AddSource(mailbox.id, "x", "pop3", "h", "u", {}),
        actions.AddSource(mailbox.id, "x", "imap", "h", "u", {"client_id": "c"}, auth="gmail"),
        actions.AddSource(mailbox.id, "x", "imap", "h", "u", {"password": "p"}, interval=1),
        actions.AddSource(mailbox.id, "x", "imap", "h", "u", {"password": "p"}, fingerprint="zz"),
        actions.AddSource(mailbox.id, "", "imap", "h", "u", {"password": "p"}),
    ]
    before = len(env.store.audit.list())
    for request in bad:
        with pytest.raises(InvalidInput):
            actions.add_source(env.store, OPERATOR, request)
    assert env.store.sources.list() == [added]
    assert len(env.store.audit.list()) == before
    refused = Actor(None, "uid 0")
    with pytest.raises(InvalidInput):
        actions.update_source(env.store, refused, actions.UpdateSource(added.id, tls="none"))
    assert env.store.sources.get(added.id) == added

"""Address scope in the store itself, and the shared rules of storage/policy.py.

The store applies the scope on every way an address is added, so no face can forget it.
"""

from __future__ import annotations

import sqlite3

import pytest

from storage import DomainInUse, InvalidInput, NotFound, OutOfScope, policy
from storage.models import STATUSES, Admin

ACME, BETA = "acme.test", "beta.test"


def admin(role: str, *domains: str) -> Admin:
    return Admin("someone", role, tuple(domains), False, False, 0.0)


ACME_ADMIN = admin("domain-admin", ACME)


@pytest.fixture
def tenants(store):
    store.domains.add(ACME)
    store.domains.add(BETA)
    return store


def table_counts(data_dir) -> dict[str, int]:
    conn = sqlite3.connect(data_dir / "gateway.db")
    try:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("mailboxes", "addresses", "epochs")
        }
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("actor", "domain", "may"),
    [
        (None, BETA, True),  # the operator (CLI)
        (admin("superadmin"), BETA, True),
        (ACME_ADMIN, ACME, True),
        (ACME_ADMIN, BETA, False),
        (admin("domain-admin", ACME, BETA), BETA, True),
        (admin("domain-admin"), ACME, False),
        (admin("viewer"), ACME, False),
        (admin("viewer", ACME), ACME, False),
    ],
)
def test_who_may_write_which_domain(actor, domain, may):
    assert policy.may_write_domain(actor, domain) is may


@pytest.mark.parametrize("status", STATUSES)
def test_deletable_statuses(mailbox, store, status):
    box = store.mailboxes.update(mailbox[0].id, status=status)
    assert policy.is_deletable(box) is (status in ("hold", "disabled"))


def test_create_refuses_a_foreign_primary_domain_before_anything_is_made(tenants, data_dir):
    before = table_counts(data_dir)
    with pytest.raises(OutOfScope, match=r"^beta.test is not one of your domains$"):
        tenants.mailboxes.create(BETA, actor=ACME_ADMIN)
    # a domain admin is not told whether some other domain exists
    with pytest.raises(OutOfScope, match=r"^gone.test is not one of your domains$"):
        tenants.mailboxes.create("gone.test", actor=ACME_ADMIN)
    with pytest.raises(NotFound):
        tenants.mailboxes.create("gone.test", actor=None)
    assert table_counts(data_dir) == before


def test_create_refuses_a_foreign_alias_and_makes_no_half_mailbox(tenants, data_dir):
    before = table_counts(data_dir)
    aliases = [f"ok@{ACME}", f"ceo-journal@{BETA}"]
    with pytest.raises(OutOfScope) as refused:
        tenants.mailboxes.create(ACME, aliases=aliases, actor=ACME_ADMIN)
    assert str(refused.value) == f"ceo-journal@{BETA}: {BETA} is not one of your domains"
    assert refused.value.address == f"ceo-journal@{BETA}"
    assert table_counts(data_dir) == before
    assert tenants.mailboxes.find(f"ok@{ACME}") is None


def test_a_superadmin_may_give_a_mailbox_an_address_in_another_domain(tenants):
    box, _ = tenants.mailboxes.create(ACME, aliases=[f"j@{BETA}"], actor=admin("superadmin"))
    box = tenants.mailboxes.add_alias(box.id, f"k@{BETA}", actor=None)
    assert box.domain == ACME and box.aliases == (f"j@{BETA}", f"k@{BETA}")


def test_add_alias_is_scoped(tenants):
    box, _ = tenants.mailboxes.create(ACME, actor=None)
    with pytest.raises(OutOfScope, match=f"Postmaster@{BETA}".lower()):
        tenants.mailboxes.add_alias(box.id, f"Postmaster@{BETA}", actor=ACME_ADMIN)
    with pytest.raises(OutOfScope):
        tenants.mailboxes.add_alias(box.id, f"x@{ACME}", actor=admin("viewer"))
    with pytest.raises(InvalidInput, match="not an accepted domain"):
        tenants.mailboxes.add_alias(box.id, "x@nowhere.test", actor=None)
    assert tenants.mailboxes.get(box.id).aliases == ()
    assert tenants.mailboxes.add_alias(box.id, f"x@{ACME}", actor=ACME_ADMIN).aliases == (
        f"x@{ACME}",
    )


def test_remove_domain_names_every_mailbox_with_an_address_in_it(tenants):
    own, _ = tenants.mailboxes.create(BETA, actor=None)
    other, _ = tenants.mailboxes.create(ACME, aliases=[f"ceo@{BETA}"], actor=None)
    with pytest.raises(DomainInUse) as refused:
        tenants.domains.remove(BETA)
    assert set(refused.value.mailboxes) == {own.id, other.id}
    assert own.id in str(refused.value) and f"{other.id} (alias ceo@{BETA})" in str(refused.value)
    assert tenants.mailboxes.get(f"ceo@{BETA}").id == other.id
    tenants.mailboxes.update(own.id, status="hold")
    tenants.mailboxes.delete(own.id)
    with pytest.raises(DomainInUse, match=f"{other.id} .alias ceo@{BETA}."):
        tenants.domains.remove(BETA)
    tenants.mailboxes.remove_alias(other.id, f"ceo@{BETA}")
    tenants.domains.remove(BETA)
    assert [d.name for d in tenants.domains.list()] == [ACME]

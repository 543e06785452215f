"""Hand-over on delete through the action layer and its faces: role and domain scope,
same domain only, one transaction, and the record on the receiving mailbox."""

from __future__ import annotations

import pytest

from storage import actions
from storage.errors import InvalidInput, OutOfScope

from .test_actions import as_admin, entries


@pytest.fixture
def pair(env, domains):
    """A departing mailbox on hold (with an alias) and its successor, in alpha.test."""
    store = env.store
    old, _ = store.mailboxes.create(
        "alpha.test", name="Old", aliases=["ceo@alpha.test"], actor=None
    )
    new, _ = store.mailboxes.create("alpha.test", name="New", actor=None)
    store.mailboxes.update(old.id, status="hold")
    return store.mailboxes.get(old.id), new


def test_a_domain_admin_hands_over_within_its_domain(env, pair):
    old, new = pair
    admin = as_admin(env.store, "dana", "domain-admin", ["alpha.test"])
    done = actions.delete_mailbox(
        env.store, admin, actions.DeleteMailbox(old.id, hand_over_to=new.id)
    )
    assert done.handed_over_to is not None
    assert set(done.handed_over_to.aliases) == set(old.addresses)
    assert env.store.mailboxes.get(old.address).id == new.id
    assert entries(env.store) == [
        ("dana", "mailbox.delete", old.id, f"messages=0 hand-over={new.id}"),
        ("dana", "mailbox.hand-over", new.id, f"from={old.id} {','.join(old.addresses)}"),
    ]


def test_a_domain_admin_cannot_hand_over_to_another_domains_mailbox(env, pair):
    old, _ = pair
    foreign, _ = env.store.mailboxes.create("beta.test", name="Foreign", actor=None)
    admin = as_admin(env.store, "dana", "domain-admin", ["alpha.test"])
    with pytest.raises(OutOfScope):
        actions.delete_mailbox(
            env.store, admin, actions.DeleteMailbox(old.id, hand_over_to=foreign.id)
        )
    assert env.store.mailboxes.get(old.id).addresses == old.addresses
    assert env.store.mailboxes.get(foreign.id).aliases == ()
    assert entries(env.store) == []


def test_even_a_superadmin_hands_over_only_within_the_domain(env, pair):
    old, _ = pair
    foreign, _ = env.store.mailboxes.create("beta.test", name="Foreign", actor=None)
    boss = as_admin(env.store, "boss", "superadmin")
    with pytest.raises(InvalidInput, match="only within a domain"):
        actions.delete_mailbox(
            env.store, boss, actions.DeleteMailbox(old.id, hand_over_to=foreign.id)
        )
    assert env.store.mailboxes.get(old.id).addresses == old.addresses
    assert entries(env.store) == []


def test_an_alias_outside_the_admins_domains_blocks_the_hand_over(env, pair):
    """A superadmin gave the departing mailbox an alias in beta.test: a domain admin of
    alpha.test may not hand that address on."""
    old, new = pair
    env.store.mailboxes.add_alias(old.id, "x@beta.test", actor=None)
    admin = as_admin(env.store, "dana", "domain-admin", ["alpha.test"])
    with pytest.raises(OutOfScope):
        actions.delete_mailbox(env.store, admin, actions.DeleteMailbox(old.id, hand_over_to=new.id))
    assert env.store.mailboxes.get("x@beta.test").id == old.id


def test_a_failed_delete_rolls_the_hand_over_back(env, pair, monkeypatch):
    old, new = pair

    def broken(ref, force=False):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(env.store.mailboxes, "delete", broken)
    with pytest.raises(RuntimeError):
        actions.delete_mailbox(
            env.store,
            actions.Actor.operator("t"),
            actions.DeleteMailbox(old.id, hand_over_to=new.id),
        )
    assert env.store.mailboxes.get(old.address).id == old.id
    assert env.store.mailboxes.get(new.id).aliases == ()
    assert entries(env.store) == []


async def test_console_shows_the_hand_over_on_the_receiving_mailbox(env, pair, superadmin):
    old, new = pair
    page = await superadmin.get(f"/mailboxes/{old.id}/delete")
    assert f'<option value="{new.id}">' in await page.text()
    response = await superadmin.post(
        f"/mailboxes/{old.id}/delete", {"confirm": old.id, "hand_over_to": new.id}
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/mailboxes/{new.id}"
    html = await (await superadmin.get(f"/mailboxes/{new.id}")).text()
    assert f"Addresses handed over from Old ({old.id}) on" in html
    assert f"<code>{old.address}</code>" in html and "<code>ceo@alpha.test</code>" in html


async def test_console_refuses_a_cross_domain_hand_over_with_a_clear_error(env, pair, superadmin):
    old, _ = pair
    foreign, _ = env.store.mailboxes.create("beta.test", name="Foreign", actor=None)
    response = await superadmin.post(
        f"/mailboxes/{old.id}/delete", {"confirm": old.id, "hand_over_to": foreign.id}
    )
    assert response.status == 400
    assert "addresses are handed over only within a domain" in await response.text()
    assert env.store.mailboxes.get(old.id).addresses == old.addresses


async def test_api_hands_over_and_refuses_another_domain(env, pair, aiohttp_client, app):
    old, new = pair
    foreign, _ = env.store.mailboxes.create("beta.test", name="Foreign", actor=None)
    env.store.admins.create("dana", "domain-admin", ["alpha.test"], "x" * 16)
    _, raw = env.store.tokens.create("dana", "script")
    client = await aiohttp_client(app)
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"/api/v1/mailboxes/{old.id}?confirm={old.id}&hand_over_to="
    refused = await client.delete(url + foreign.id, headers=headers)
    assert refused.status == 403
    assert env.store.mailboxes.get(old.id).addresses == old.addresses
    done = await client.delete(url + new.id, headers=headers)
    assert done.status == 200, await done.text()
    body = await done.json()
    assert body["handed_over_to"] == new.id
    assert set(body["handed_over"]) == set(old.addresses)
    receiving = await (await client.get(f"/api/v1/mailboxes/{new.id}", headers=headers)).json()
    assert receiving["handed_over"][0]["from"] == old.id
    assert set(receiving["handed_over"][0]["addresses"]) == set(old.addresses)
    assert env.store.mailboxes.get("ceo@alpha.test").id == new.id

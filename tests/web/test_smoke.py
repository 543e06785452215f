async def test_pages_render(superadmin, domains, env):
    m, p = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    for path in [
        "/mailboxes",
        "/domains",
        "/connect",
        "/settings",
        "/settings/totp",
        "/admins",
        "/audit",
        f"/mailboxes/{m.id}",
        f"/mailboxes/{m.id}/settings",
        f"/mailboxes/{m.id}/passphrase",
        f"/mailboxes/{m.id}/delete",
        "/mailboxes/new",
        f"/connect?mailbox={m.id}",
        "/admins/root",
    ]:
        r = await superadmin.get(path)
        assert r.status == 200, (path, r.body_text)

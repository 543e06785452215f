"""Bulk acts on the console's mailbox list and in the JSON API: status, CSV export
(spreadsheet-safe cells), deletion after one typed confirmation; scope, CSRF, headers."""

from __future__ import annotations

import csv
import io
import re

import pytest

from storage.bulk import CSV_COLUMNS

from .conftest import PASSWORD, deliver

HOSTILE = ['=HYPERLINK("http://x")', "+SUM(1)", "-2+3", "@cmd", "\tTab", "\rCR"]


@pytest.fixture
def boxes(env, domains):
    """alpha.test: A0..A5 (even ones on hold, A1 with mail); beta.test: B0 (hold)."""
    made = {}
    for n in range(6):
        status = "hold" if n % 2 == 0 else "active"
        made[f"A{n}"] = env.store.mailboxes.create(
            "alpha.test", name=f"A{n}", status=status, actor=None
        )[0]
    made["B0"] = env.store.mailboxes.create("beta.test", name="B0", status="hold", actor=None)[0]
    deliver(env.store, made["A1"].id)
    return made


def statuses(env) -> dict[str, str]:
    return {m.name: m.status for m in env.store.mailboxes.list()}


async def bulk(console, fields: list[tuple[str, str]], view: str = ""):
    return await console.post("/mailboxes/bulk", [("view", view), *fields])


async def test_the_list_offers_selection_to_writers_only(env, boxes, superadmin, make_console):
    page = await superadmin.get("/mailboxes?domain=alpha.test")
    assert page.body_text.count('name="ids"') == 6
    assert 'id="select-page"' in page.body_text
    assert "All 6 mailboxes that match the filter" in page.body_text
    assert 'name="view" value="domain=alpha.test"' in page.body_text
    viewer = await make_console("watcher", "viewer")
    page = await viewer.get("/mailboxes")
    assert page.status == 200 and 'name="ids"' not in page.body_text
    refused = await bulk(viewer, [("op", "status"), ("status", "active"), ("scope", "matching")])
    assert refused.status == 403 and statuses(env)["A0"] == "hold"


async def test_status_for_ticked_ids_then_for_all_matching(env, boxes, superadmin):
    ticked = [("ids", boxes["A0"].id), ("ids", boxes["A1"].id)]
    done = await bulk(superadmin, [("op", "status"), ("status", "disabled"), *ticked], "q=A")
    assert done.status == 303 and done.headers["Location"] == "/mailboxes?q=A"
    shown = await superadmin.get(done.headers["Location"])
    assert "Status changed for 2 mailboxes." in shown.body_text
    assert statuses(env)["A0"] == statuses(env)["A1"] == "disabled"
    assert statuses(env)["A2"] == "hold"
    matching = [("op", "status"), ("status", "receive-only"), ("scope", "matching")]
    # The filter comes from the view; ids sent along are ignored for "all that match".
    await bulk(superadmin, [*matching, ("ids", boxes["B0"].id)], "domain=alpha.test&status=hold")
    assert statuses(env) == {
        "A0": "disabled",
        "A1": "disabled",
        "A2": "receive-only",
        "A3": "active",
        "A4": "receive-only",
        "A5": "active",
        "B0": "hold",
    }
    entries = [e for e in env.store.audit.list() if e.action == "mailbox.update"]
    refs = {re.search(r"bulk=(\S+)", e.detail).group(1) for e in entries}
    assert len(entries) == 4 and len(refs) == 2


async def test_a_domain_admin_never_reaches_another_domain(env, boxes, make_console):
    da = await make_console("da", "domain-admin", ["alpha.test"])
    every = [("op", "status"), ("status", "disabled"), ("scope", "matching")]
    await bulk(da, every)  # "all that match" with no domain filter: their domains only
    assert statuses(env)["B0"] == "hold"
    assert {s for n, s in statuses(env).items() if n.startswith("A")} == {"disabled"}
    forged = await bulk(da, [("op", "status"), ("status", "active"), ("ids", boxes["B0"].id)])
    assert forged.status == 403
    mixed = [("ids", boxes["A0"].id), ("ids", boxes["B0"].id)]
    assert (
        await bulk(da, [("op", "delete"), ("confirming", "yes"), ("confirm", "2"), *mixed])
    ).status == 403
    foreign_view = await bulk(da, every, "domain=beta.test")
    assert foreign_view.status == 403
    export = await bulk(da, [("op", "export"), ("ids", boxes["B0"].id)])
    assert export.status == 403
    assert statuses(env)["B0"] == "hold" and statuses(env)["A0"] == "disabled"
    assert env.store.mailboxes.find(boxes["B0"].id) is not None


async def test_bad_selections_say_why_and_change_nothing(env, boxes, superadmin):
    before = statuses(env)
    nothing = await bulk(superadmin, [("op", "status"), ("status", "active")], "page=2")
    assert nothing.status == 303 and nothing.headers["Location"] == "/mailboxes?page=2"
    shown = await superadmin.get("/mailboxes")
    assert "No mailbox is selected. Nothing was changed." in shown.body_text
    gone = [("op", "status"), ("status", "active"), ("ids", "mbx-nosuchmailbox0000000")]
    await bulk(superadmin, gone)
    assert "No mailbox mbx-nosuchmailbox0000000" in (await superadmin.get("/mailboxes")).body_text
    await bulk(superadmin, [("op", "status"), ("status", "asleep"), ("scope", "matching")])
    assert "Choose the new status." in (await superadmin.get("/mailboxes")).body_text
    none = [("op", "status"), ("status", "active"), ("scope", "matching")]
    await bulk(superadmin, none, "q=nothing-like-this")
    assert "No mailbox matches the filter" in (await superadmin.get("/mailboxes")).body_text
    assert (await bulk(superadmin, [("op", "explode")])).status == 400
    assert statuses(env) == before


async def test_bulk_forms_need_the_csrf_token(env, boxes, superadmin):
    fields = [("op", "status"), ("status", "active"), ("scope", "matching"), ("view", "")]
    refused = await superadmin.post("/mailboxes/bulk", fields, csrf=False)
    assert refused.status == 403 and statuses(env)["A0"] == "hold"
    forged = await superadmin.post(
        "/mailboxes/bulk", fields, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert forged.status == 403 and statuses(env)["A0"] == "hold"


async def test_delete_asks_for_the_number_and_deletes_only_the_deletable(env, boxes, superadmin):
    selection = [("scope", "matching")]
    ask = await bulk(superadmin, [("op", "delete"), *selection], "domain=alpha.test")
    assert ask.status == 200
    assert 'id="bulk-confirm-word">3<' in ask.body_text
    assert "Kept: 3 mailboxes that are neither on hold nor disabled" in ask.body_text
    assert ask.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in ask.headers["Content-Security-Policy"]
    confirming = [("op", "delete"), ("confirming", "yes"), *selection]
    for wrong in ("", "6", "yes", "A0"):
        refused = await bulk(superadmin, [*confirming, ("confirm", wrong)], "domain=alpha.test")
        assert refused.status == 400
        assert "Type 3 to delete them. Nothing was deleted." in refused.body_text
    assert len(env.store.mailboxes.list()) == 7
    done = await bulk(superadmin, [*confirming, ("confirm", "3")], "domain=alpha.test")
    assert done.status == 303
    shown = await superadmin.get(done.headers["Location"])
    assert "Deleted 3 mailboxes with 0 messages. 3 were kept" in shown.body_text
    assert sorted(statuses(env)) == ["A1", "A3", "A5", "B0"]
    deletes = [e for e in env.store.audit.list() if e.action == "mailbox.delete"]
    assert len(deletes) == 3 and all(e.actor == "root" for e in deletes)
    assert [e.detail for e in env.store.audit.list() if e.action == "mailbox.bulk-delete"] == [
        "deleted=3 kept=3"
    ]


async def test_delete_of_nothing_deletable_is_refused(env, boxes, superadmin):
    ticked = [("ids", boxes["A1"].id)]
    ask = await bulk(superadmin, [("op", "delete"), *ticked])
    assert ask.status == 409 and "None of the selected mailboxes can be deleted." in ask.body_text
    forced = await bulk(
        superadmin, [("op", "delete"), ("confirming", "yes"), ("confirm", "0"), *ticked]
    )
    assert forced.status == 409 and env.store.mailboxes.find(boxes["A1"].id) is not None


def parse_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


async def test_export_csv_is_complete_and_spreadsheet_safe(env, domains, superadmin):
    made = []
    for name in HOSTILE:
        made.append(env.store.mailboxes.create("alpha.test", name=name, actor=None)[0])
    env.store.mailboxes.add_alias(made[0].id, "-alias@alpha.test", actor=None)
    deliver(env.store, made[1].id)
    response = await superadmin.client.post(
        "/mailboxes/bulk",
        data=[
            ("op", "export"),
            ("scope", "matching"),
            ("view", ""),
            ("csrf_token", superadmin.csrf or await _csrf(superadmin)),
        ],
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert re.fullmatch(
        r'attachment; filename="mailboxes-\d{8}-\d{6}\.csv"',
        response.headers["Content-Disposition"],
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    rows = parse_csv(await response.read())
    assert rows[0] == list(CSV_COLUMNS)
    by_id = {r[0]: r for r in rows[1:]}
    assert len(by_id) == len(HOSTILE)
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    first = by_id[made[0].id]
    assert first[1] == "'" + HOSTILE[0] and first[2] == "alpha.test"
    assert first[3] == f"{made[0].address} -alias@alpha.test"  # not a leading dash: safe
    second = by_id[made[1].id]
    assert second[1] == "'+SUM(1)" and second[5] == "1" and second[9] == "1"
    assert int(second[6]) > 0 and second[7] == "0" and second[8] == ""
    assert [e.detail for e in env.store.audit.list() if e.action == "mailbox.list-export"] == [
        "mailboxes=6"
    ]


async def _csrf(console) -> str:
    await console.get("/mailboxes")
    return console.csrf


# --- the JSON API ------------------------------------------------------------------
@pytest.fixture
async def api_for(aiohttp_client, app, env):
    async def make(name: str, role: str, domains=()):
        env.store.admins.create(name, role, list(domains), PASSWORD)
        _, raw = env.store.tokens.create(name, "bulk")
        client = await aiohttp_client(app)
        client.headers = {"Authorization": f"Bearer {raw}"}
        return client

    return make


async def call(client, path: str, body):
    response = await client.post(path, json=body, headers=client.headers)
    if response.content_type == "application/json":
        return response.status, await response.json()
    return response.status, await response.read()


async def test_api_status_and_scope(env, boxes, api_for):
    da = await api_for("da", "domain-admin", ["alpha.test"])
    status, body = await call(
        da,
        "/api/v1/mailboxes/bulk/status",
        {"status": "disabled", "filter": {"status": "hold", "domain": None}},
    )
    assert status == 200 and body["status"] == "disabled"
    assert sorted(body["changed"]) == sorted(boxes[n].id for n in ("A0", "A2", "A4"))
    assert body["unchanged"] == [] and body["reference"].startswith("bulk-")
    assert statuses(env)["B0"] == "hold"
    for bad, code in [
        ({"status": "hold", "ids": [boxes["B0"].id]}, 403),
        ({"status": "hold", "filter": {"domain": "beta.test"}}, 403),
        ({"status": "hold"}, 400),
        ({"status": "hold", "ids": [], "filter": {}}, 400),
        ({"status": "hold", "ids": "all"}, 400),
        ({"status": "hold", "filter": {"colour": "red"}}, 400),
        ({"status": "hold", "filter": []}, 400),
        ({"status": "hold", "filter": {"q": 7}}, 400),
        ({"status": "asleep", "ids": [boxes["A1"].id]}, 400),
        ({"ids": [boxes["A1"].id]}, 400),
        ({"status": "hold", "ids": ["mbx-nosuchmailbox0000000"]}, 404),
    ]:
        status, body = await call(da, "/api/v1/mailboxes/bulk/status", bad)
        assert status == code, (bad, body)
        assert body["error"]
    assert statuses(env)["B0"] == "hold" and statuses(env)["A1"] == "active"
    viewer = await api_for("v", "viewer")
    status, _ = await call(
        viewer, "/api/v1/mailboxes/bulk/status", {"status": "hold", "filter": {}}
    )
    assert status == 403


async def test_api_delete_reports_and_needs_the_count(env, boxes, api_for):
    root = await api_for("robot", "superadmin")
    selection = {"filter": {"domain": "alpha.test"}}
    status, body = await call(root, "/api/v1/mailboxes/bulk/delete", selection)
    assert status == 400 and body["confirm"] == "3"
    assert "nothing was deleted" in body["error"]
    assert sorted(m["name"] for m in body["deletable"]) == ["A0", "A2", "A4"]
    assert sorted(m["name"] for m in body["kept"]) == ["A1", "A3", "A5"]
    status, body = await call(root, "/api/v1/mailboxes/bulk/delete", {**selection, "confirm": "7"})
    assert status == 400 and len(env.store.mailboxes.list()) == 7
    status, body = await call(root, "/api/v1/mailboxes/bulk/delete", {**selection, "confirm": 3})
    assert status == 200 and len(body["deleted"]) == 3 and body["messages_destroyed"] == 0
    assert sorted(m["name"] for m in body["kept"]) == ["A1", "A3", "A5"]
    assert sorted(statuses(env)) == ["A1", "A3", "A5", "B0"]
    status, body = await call(root, "/api/v1/mailboxes/bulk/delete", {**selection, "confirm": "0"})
    assert status == 409  # nothing left there can be deleted


async def test_api_export_is_csv_and_scoped(env, boxes, api_for):
    env.store.mailboxes.update(boxes["A3"].id, name="=1+1")
    da = await api_for("da", "domain-admin", ["alpha.test"])
    status, body = await call(da, "/api/v1/mailboxes/export", {"filter": {}})
    assert status == 200
    rows = parse_csv(body)
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 7
    assert {r[2] for r in rows[1:]} == {"alpha.test"}
    assert "'=1+1" in [r[1] for r in rows[1:]]
    status, _ = await call(da, "/api/v1/mailboxes/export", {"ids": [boxes["B0"].id]})
    assert status == 403


async def test_the_bulk_pages_speak_german(env, boxes, make_console):
    console = await make_console("dora", "superadmin")
    env.store.admins.update("dora", language="de")
    listing = await console.get("/mailboxes?domain=alpha.test")
    assert "Alle 6 Postfächer, die zum Filter passen" in listing.body_text
    assert "Sammelaktionen" in listing.body_text
    ask = await bulk(console, [("op", "delete"), ("scope", "matching")], "domain=alpha.test")
    assert "Geben Sie zur Bestätigung die Anzahl der zu löschenden Postfächer ein:" in ask.body_text
    wrong = [("op", "delete"), ("confirming", "yes"), ("scope", "matching"), ("confirm", "9")]
    refused = await bulk(console, wrong, "domain=alpha.test")
    assert "Geben Sie 3 ein, um sie zu löschen. Es wurde nichts gelöscht." in refused.body_text

"""Every act offered by more than one face goes through the action layer: the same act
from the console, the API and the CLI yields the identical audit entry (action,
target, detail; the actor and the source naturally differ)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli.main import main
from gateway.sources import FetchOptions
from gateway.sources.web_runner import source_runner
from storage import actions
from storage.robot_rules import check_robot
from storage.sources import checked_settings
from tests.support.argon import FAST_ENV
from tests.support.ports import free_port
from tests.web.conftest import PASSWORD, Console
from web import create_app

METRICS_TOKEN = "metrics-token-for-the-face-test"
CLOSED_PORT = free_port()  # nothing listens there
# The console's form with the scenario source's own settings.
SOURCE_FORM = {"name": "old", "protocol": "imap", "host": "127.0.0.1", "port": str(CLOSED_PORT),
               "tls": "implicit", "username": "u", "auth": "password", "folders": "INBOX",
               "interval": "300", "active": "on"}  # fmt: skip


def _scenario(store):
    """Fresh state for one face's run: a mailbox (on hold, with an alias and a sealed
    epoch), an admin 'jo' with a token, and an empty domain to remove."""
    mailbox, passphrase = store.mailboxes.create(
        "alpha.test", aliases=["old@alpha.test"], actor=None
    )
    old = store.keys.reset_passphrase(mailbox.id)  # the first passphrase now opens a sealed epoch
    store.mailboxes.update(mailbox.id, status="hold")
    store.relays.put(mailbox.id, "old@relay.example", "required", "root")
    token, _ = store.tokens.create("jo", "script")
    store.robots.set(mailbox.id, check_robot("Old subject", "Old text"))  # for clear_robot
    text_file = Path(store.data_dir).parent / "robot.txt"
    text_file.write_text("Thank you.\n")
    password_file = Path(store.data_dir).parent / "source-password"
    password_file.write_text("source-secret\n")
    # A source whose server is down: run and test fail alike (failed=connect) in every face.
    down = checked_settings(protocol="imap", host="127.0.0.1", port=CLOSED_PORT, username="u")
    source = store.sources.add(mailbox.id, "old", down, {"password": "p"})
    return {
        "source": source.id,
        "password_file": str(password_file),
        "port": str(CLOSED_PORT),
        "id": mailbox.id,
        "first": passphrase,
        "current": old,
        "token": token.id,
        "text_file": str(text_file),
    }


# act: (console request, API request or None, CLI argv) — each filled in from the scenario
ACTS = {
    "create_mailbox": (
        ("POST", "/mailboxes/new", {"domain": "alpha.test", "quota": "0", "status": "active"}),
        ("POST", "/api/v1/mailboxes", {"domain": "alpha.test"}),
        ["mailbox", "create", "--domain", "alpha.test"],
    ),
    "update_mailbox": (
        ("POST", "/mailboxes/{id}/passphrase-policy", {"max_age": "6m"}),
        ("PATCH", "/api/v1/mailboxes/{id}", {"passphrase_max_age_days": 180}),
        ["mailbox", "update", "{id}", "--passphrase-max-age", "6m"],
    ),
    "add_alias": (
        ("POST", "/mailboxes/{id}/aliases", {"address": "New@Alpha.test"}),
        ("POST", "/api/v1/mailboxes/{id}/aliases", {"address": "New@Alpha.test"}),
        ["mailbox", "update", "{id}", "--add-alias", "New@Alpha.test"],
    ),
    "remove_alias": (
        ("POST", "/mailboxes/{id}/aliases/remove", {"address": "old@alpha.test"}),
        ("DELETE", "/api/v1/mailboxes/{id}/aliases/old@alpha.test", None),
        ["mailbox", "update", "{id}", "--remove-alias", "old@alpha.test"],
    ),
    "change_passphrase": (
        ("POST", "/mailboxes/{id}/passphrase/change", {"current": "{current}", "once": "a"}),
        ("POST", "/api/v1/mailboxes/{id}/change-passphrase", {"current": "{current}"}),
        ["mailbox", "change-passphrase", "{id}", "--passphrase-stdin"],
    ),
    "reset_passphrase": (
        ("POST", "/mailboxes/{id}/passphrase/reset", {"understood": "yes", "once": "b"}),
        ("POST", "/api/v1/mailboxes/{id}/reset-passphrase", None),
        ["mailbox", "reset-passphrase", "{id}", "--yes"],
    ),
    "recover_passphrase": (
        (
            "POST",
            "/mailboxes/{id}/passphrase/recover",
            {"old": "{first}", "current_for_recover": "{current}"},
        ),
        None,
        ["mailbox", "recover", "{id}", "--passphrase-stdin"],
    ),
    "add_relay_target": (
        (
            "POST",
            "/mailboxes/{id}/relays",
            {"relay_address": "New@Relay.example", "relay_passphrase": "{current}"},
        ),
        (
            "POST",
            "/api/v1/mailboxes/{id}/relays",
            {"address": "New@Relay.example", "passphrase": "{current}"},
        ),
        ["mailbox", "relay", "add", "{id}", "--to", "New@Relay.example", "--passphrase-stdin"],
    ),
    "remove_relay_target": (
        ("POST", "/mailboxes/{id}/relays/remove", {"address": "old@relay.example"}),
        ("DELETE", "/api/v1/mailboxes/{id}/relays/old@relay.example", None),
        ["mailbox", "relay", "remove", "{id}", "--to", "old@relay.example"],
    ),
    "delete_mailbox": (
        ("POST", "/mailboxes/{id}/delete", {"confirm": "{id}"}),
        ("DELETE", "/api/v1/mailboxes/{id}?confirm={id}", None),
        ["mailbox", "delete", "{id}"],
    ),
    "bulk_status": (
        (
            "POST",
            "/mailboxes/bulk",
            [("op", "status"), ("status", "disabled"), ("ids", "{id}"), ("view", "")],
        ),
        ("POST", "/api/v1/mailboxes/bulk/status", {"status": "disabled", "ids": ["{id}"]}),
        ["mailbox", "bulk", "status", "--status", "disabled", "--ids", "{id}"],
    ),
    "bulk_delete": (
        (
            "POST",
            "/mailboxes/bulk",
            [("op", "delete"), ("confirming", "yes"), ("confirm", "1"), ("ids", "{id}")],
        ),
        ("POST", "/api/v1/mailboxes/bulk/delete", {"ids": ["{id}"], "confirm": "1"}),
        ["mailbox", "bulk", "delete", "--ids", "{id}", "--confirm", "1"],
    ),
    "export_mailboxes": (
        ("POST", "/mailboxes/bulk", [("op", "export"), ("ids", "{id}"), ("view", "")]),
        ("POST", "/api/v1/mailboxes/export", {"ids": ["{id}"]}),
        ["mailbox", "export-csv", "--ids", "{id}"],
    ),
    "set_robot": (
        (
            "POST",
            "/mailboxes/{id}/robot",
            {"subject": "Received", "text": "Thank you.", "interval_days": "3"},
        ),
        (
            "PUT",
            "/api/v1/mailboxes/{id}/robot",
            {"subject": "Received", "text": "Thank you.", "interval_days": 3},
        ),
        [
            "mailbox",
            "robot",
            "set",
            "{id}",
            "--subject",
            "Received",
            "--text-file",
            "{text_file}",
            "--interval-days",
            "3",
        ],
    ),  # fmt: skip
    "clear_robot": (
        ("POST", "/mailboxes/{id}/robot/clear", {}),
        ("DELETE", "/api/v1/mailboxes/{id}/robot", None),
        ["mailbox", "robot", "clear", "{id}"],
    ),
    "add_source": (
        (
            "POST",
            "/mailboxes/{id}/sources",
            {**SOURCE_FORM, "name": "new", "cred_password": "source-secret"},
        ),
        (
            "POST",
            "/api/v1/mailboxes/{id}/sources",
            {
                "name": "new",
                "protocol": "imap",
                "host": "127.0.0.1",
                "port": CLOSED_PORT,
                "username": "u",
                "credentials": {"password": "source-secret"},
            },
        ),
        [
            "source",
            "add",
            "{id}",
            "--name",
            "new",
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--user",
            "u",
            "--password-file",
            "{password_file}",
        ],
    ),  # fmt: skip
    "update_source": (
        ("POST", "/mailboxes/{id}/sources/{source}", {**SOURCE_FORM, "interval": "60"}),
        ("PATCH", "/api/v1/sources/{source}", {"interval": 60}),
        ["source", "update", "{source}", "--interval", "60"],
    ),
    "remove_source": (
        ("POST", "/mailboxes/{id}/sources/{source}/remove", {"confirm": "yes"}),
        ("DELETE", "/api/v1/sources/{source}", None),
        ["source", "remove", "{source}"],
    ),
    "run_source": (
        ("POST", "/mailboxes/{id}/sources/{source}/run", {}),
        ("POST", "/api/v1/sources/{source}/run", None),
        ["source", "run", "{source}"],
    ),
    "check_source": (
        ("POST", "/mailboxes/{id}/sources/{source}/test", {}),
        ("POST", "/api/v1/sources/{source}/test", None),
        ["source", "test", "{source}"],
    ),
    "add_domain": (
        ("POST", "/domains", {"name": "Gamma.test"}),
        ("POST", "/api/v1/domains", {"name": "Gamma.test"}),
        ["domain", "add", "Gamma.test"],
    ),
    "remove_domain": (
        ("POST", "/domains/beta.test/remove", {}),
        ("DELETE", "/api/v1/domains/beta.test", None),
        ["domain", "remove", "beta.test"],
    ),
    "create_admin": (
        ("POST", "/admins", [("name", "kim"), ("role", "domain-admin"), ("domains", "alpha.test")]),
        None,
        ["admin", "create", "kim", "--role", "domain-admin", "--domain", "alpha.test"],
    ),
    "reset_admin_password": (
        ("POST", "/admins/jo/reset-password", {}),
        None,
        ["admin", "reset-password", "jo"],
    ),
    "reset_totp": (("POST", "/admins/jo/reset-totp", {}), None, ["admin", "disable-totp", "jo"]),
    "create_token": (None, None, None),  # each admin's own in the console: see below
    "revoke_token": (
        ("POST", "/admins/jo/tokens/{token}/revoke", {}),
        None,
        ["admin", "token", "revoke", "{token}"],
    ),
    "reveal_metrics_token": (
        ("POST", "/connect/metrics-token", {}),
        None,
        ["metrics", "token"],
    ),
}
# The scenario's source server is down: the test of its connection fails (and says so).
# Its run stops before connecting, as the mailbox is on hold, which is no failure.
EXIT_STATUS = {"check_source": 1}
STDIN = {
    "add_relay_target": "{current}\n",
    "change_passphrase": "{current}\n",
    "recover_passphrase": "{first}\n{current}\n",
}


def fill(value, ctx):
    if isinstance(value, str):
        return value.format(**ctx)
    if isinstance(value, dict):
        return {k: fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(fill(v, ctx) for v in value)
    return value


def normalized(store, since: int, ctx) -> list[tuple[str, str, str]]:
    """The entries written after `since`, this run's ids replaced by placeholders."""
    found = [e for e in reversed(store.audit.list(limit=1000)) if e.id > since]

    def clean(text: str) -> str:
        text = text.replace(ctx["id"], "<id>").replace(ctx["token"], "<token>")
        text = text.replace(ctx["source"], "<source>")
        text = re.sub(r"src-[0-9a-z]+", "<new-source>", text)
        text = re.sub(r"bulk-[0-9a-z]+", "<bulk>", text)  # a bulk act's reference
        return re.sub(r"mbx-[0-9a-z]+", "<new>", text)

    return [(e.action, clean(e.target), clean(e.detail)) for e in found]


@pytest.fixture
def app(env):
    source = str((env.data_dir / "secrets" / "metrics-token").absolute())
    (env.data_dir / "secrets").mkdir(exist_ok=True)
    (env.data_dir / "secrets" / "metrics-token").write_text(METRICS_TOKEN + "\n")
    options = replace(env.options, metrics_token=METRICS_TOKEN, metrics_token_source=source)
    runner = source_runner(FetchOptions(hostname="gateway.test", timeout=5))
    return create_app(env.astore, replace(options, source_runner=runner))


def _clean_slate(store) -> None:
    """Undo the previous face's act, so that each face starts from the same state."""
    names = {d.name for d in store.domains.list()}
    if "beta.test" not in names:
        store.domains.add("beta.test")
    if "gamma.test" in names:
        store.domains.remove("gamma.test")
    if any(a.name == "kim" for a in store.admins.list()):
        store.admins.delete("kim")
    for mailbox in store.mailboxes.list():
        store.mailboxes.delete(mailbox.id, force=True)
    for token in store.tokens.list("jo"):
        store.tokens.revoke(token.id)


def last_id(store) -> int:
    entries = store.audit.list(limit=1)
    return entries[0].id if entries else 0


async def test_each_face_writes_the_same_entry_for_the_same_act(
    env, domains, superadmin: Console, aiohttp_client, app, monkeypatch
):
    env.store.admins.create("jo", "viewer", [], PASSWORD)
    env.store.admins.create("robot", "superadmin", [], PASSWORD)
    _, raw = env.store.tokens.create("robot", "ci")
    api = await aiohttp_client(app)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    cli_env = {"GATEWAY_DATA": str(env.data_dir), **FAST_ENV}
    for name, (console, api_call, argv) in ACTS.items():
        if console is None:
            continue
        seen = {}
        for face in ("console", "api", "cli"):
            _clean_slate(env.store)
            ctx = _scenario(env.store)
            since = last_id(env.store)
            if face == "console":
                method, path, form = fill(console, ctx)
                response = await superadmin.post(path, form)
                assert response.status in (200, 201, 303), (name, response.status)
            elif face == "api":
                if api_call is None:
                    continue
                method, path, body = fill(api_call, ctx)
                response = await api.request(
                    method, path, json=body, headers={"Authorization": f"Bearer {raw}"}
                )
                assert response.status < 300, (name, await response.text())
            else:
                result = CliRunner().invoke(
                    main, fill(argv, ctx), input=fill(STDIN.get(name, ""), ctx), env=cli_env
                )
                wanted = EXIT_STATUS.get(name, 0)
                assert result.exit_code == wanted, (name, result.output, result.exception)
            seen[face] = normalized(env.store, since, ctx)
        first = seen["console"]
        assert first, f"{name}: the console wrote no entry"
        for face, found in seen.items():
            assert found == first, (name, face, found, first)


async def test_token_creation_is_the_same_act_in_the_console_and_the_cli(
    env, domains, make_console
):
    console = await make_console("jo", "viewer")
    page = await console.post("/settings/tokens", {"token_name": "script"})
    assert page.status == 200
    CliRunner().invoke(
        main,
        ["admin", "token", "create", "script", "--admin", "jo"],
        env={"GATEWAY_DATA": str(env.data_dir), **FAST_ENV},
    )
    made = [e for e in env.store.audit.list() if e.action == "token.create"]
    assert len(made) == 2
    assert {re.sub(r"tok-\w+", "<t>", e.target) + e.detail for e in made} == {
        "<t>admin=jo name=script"
    }


def test_every_action_is_exercised_by_every_face_or_marked_single_face():
    for name, spec in actions.ACTIONS.items():
        if spec.single_face:
            continue
        assert name in ACTS, f"{name} is offered by {sorted(spec.faces)}: add it to ACTS"
        console, api_call, argv = ACTS[name]
        if name == "create_token":
            continue  # tested on its own above
        assert (console is not None) == ("console" in spec.faces), name
        assert (api_call is not None) == ("api" in spec.faces), name
        assert (argv is not None) == ("cli" in spec.faces), name
    assert set(ACTS) <= set(actions.ACTIONS)

"""Global options, error mapping, and properties of the whole command tree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from gateway.cli.main import main

from .conftest import as_json, failed, ok

ROOT = Path(__file__).resolve().parents[2]
# Commands that list or create something and therefore must offer --json (DESIGN §6).
JSON_COMMANDS = {
    "domain add",
    "domain list",
    "mailbox create",
    "mailbox list",
    "mailbox show",
    "mailbox update",
    "mailbox change-passphrase",
    "mailbox reset-passphrase",
    "mailbox recover",
    "mailbox purge-sealed",
    "admin create",
    "admin list",
    "admin reset-password",
}


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    """Every command of the tree as ("mailbox create", command), groups included."""
    yield " ".join(path), command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


def option_names(command: click.Command) -> list[str]:
    return [name for p in command.params if isinstance(p, click.Option) for name in p.opts]


def test_no_option_takes_a_passphrase_or_password():
    # --passphrase-max-age takes a duration (3m, 6m, 12m, none), never a passphrase;
    # --password-file (gateway source) names the file holding a fetch source's password.
    allowed = {
        "--password-file",
        "--passphrase-file",
        "--passphrase-stdin",
        "--old-passphrase-file",
        "--passphrase-max-age",
    }
    seen = set()
    for path, command in walk(main):
        for param in command.params:
            for name in getattr(param, "opts", []):
                lowered = name.lower()
                if "passphrase" in lowered or "password" in lowered:
                    assert name in allowed, f"{path} {name}"
                    seen.add(name)
                    if name.endswith("-stdin"):
                        assert param.is_flag, f"{path} {name} must be a flag"
        for param in command.params:
            assert "passphrase" not in (param.name or "") or param.name in {
                "passphrase_file",
                "passphrase_stdin",
                "old_passphrase_file",
            }
    assert seen == allowed


def test_listing_and_creating_commands_take_json():
    tree = dict(walk(main))
    for path in JSON_COMMANDS:
        assert "--json" in option_names(tree[path]), path


@pytest.mark.parametrize("path", [p for p, _ in walk(main)])
def test_every_command_has_help(run, path):
    result = ok(run(*path.split(), "--help") if path else run("--help"))
    assert "Usage:" in result.stdout


def test_foreign_data_directory_is_refused_untouched(run, tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"\xff\xd8")
    for args in (["domain", "list"], ["domain", "add", "example.test"], ["admin", "list"]):
        failed(run("--data", str(foreign), *args), "is not a Journal Gateway data directory")
    assert [p.name for p in foreign.iterdir()] == ["holiday.jpg"]


def test_data_path_that_is_a_file(run, tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    failed(run("mailbox", "list", env={"GATEWAY_DATA": str(path)}), "is not a directory")


def test_data_from_option_and_environment(run, tmp_path):
    ok(run("--data", str(tmp_path / "a"), "domain", "add", "a.test"))
    ok(run("domain", "add", "b.test", env={"GATEWAY_DATA": str(tmp_path / "b")}))
    listed = as_json(run("--data", str(tmp_path / "a"), "domain", "list", "--json"))
    assert [d["name"] for d in listed] == ["a.test"]
    assert (tmp_path / "b" / "gateway.db").exists()


def test_config_file_decides_store_parameters(run, store, domain, tmp_path):
    config = tmp_path / "gateway.toml"
    config.write_text('[crypto]\nrecipient = "x25519"\nargon2_memory_kib = 8192\n')
    document = as_json(
        run("--config", str(config), "mailbox", "create", "--domain", "example.test", "--json")
    )
    (epoch,) = store.keys.list_epochs(document["id"])
    assert epoch.kind == "x25519"
    document = as_json(
        run(
            "mailbox",
            "create",
            "--domain",
            "example.test",
            "--json",
            env={"GATEWAY_CONFIG": str(config)},
        )
    )
    assert store.keys.list_epochs(document["id"])[0].kind == "x25519"


def test_config_errors_exit_1_with_the_key_and_line(run, store, tmp_path):
    config = tmp_path / "gateway.toml"
    config.write_text('[crypto]\nrecipient = "x25519"\nbogus = 1\n')
    failed(
        run("--config", str(config), "domain", "list"), f"crypto.bogus ({config}:3): unknown option"
    )
    config.write_text("[crypto\n")
    failed(run("--config", str(config), "domain", "list"), str(config))
    failed(run("domain", "list", env={"GATEWAY_CRYPTO__BOGUS": "1"}), "GATEWAY_CRYPTO__BOGUS")
    failed(run("domain", "list", env={"GATEWAY_CRYPTO__RECIPIENT": "rsa"}), "crypto.recipient")


def test_missing_config_file_is_a_usage_error(run, tmp_path):
    failed(run("--config", str(tmp_path / "none.toml"), "domain", "list"), "does not exist", code=2)


def test_unknown_command_is_a_usage_error(run):
    failed(run("mailbox", "frobnicate"), "No such command", code=2)


def test_serve_is_registered():
    assert "serve" in main.commands


def _readme_cli_section() -> str | None:
    readme = ROOT / "README.md"
    if not readme.exists():
        return None
    match = re.search(r"^## CLI\b.*?(?=^## |\Z)", readme.read_text(), re.S | re.M)
    return match.group(0) if match else None


def test_readme_documents_every_command_and_option():
    section = _readme_cli_section()
    assert section is not None, "README.md has no '## CLI' section"
    missing = []
    for path, command in walk(main):
        if path and f"gateway {path}" not in section:
            missing.append(f"gateway {path}")
        for name in option_names(command):
            if name not in ("--help", "-h") and name not in section:
                missing.append(f"gateway {path} {name}".replace("  ", " "))
    assert not missing, f"undocumented in README ## CLI: {missing}"

"""Operations tests: real stores on disk, real SQLite, the CLI through click's runner.

`cli` is the real root group's options and callback (gateway.cli.main) with the
operations commands added, so these tests run exactly what `gateway` will run once
main.py registers them, without changing the shared group object.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from gateway.cli.backup import backup, restore
from gateway.cli.common import GatewayGroup
from gateway.cli.config_cmd import config
from gateway.cli.fsck import fsck
from gateway.cli.main import main
from gateway.cli.retention import retention
from tests.support.argon import FAST_ENV

OPS_COMMANDS = (backup, restore, fsck, config, retention)


def ops_group() -> click.Group:
    group = GatewayGroup(
        name="gateway",
        params=list(main.params),
        callback=main.callback,
        commands=dict(main.commands),
    )
    for command in OPS_COMMANDS:
        group.add_command(command)
    return group


Run = Callable[..., Result]


@pytest.fixture
def run(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """run("fsck", "--json", env={...}) -> Result with stdout and stderr apart."""
    for name in list(os.environ):
        if name.startswith("GATEWAY_"):
            monkeypatch.delenv(name)
    base = {"GATEWAY_DATA": str(data_dir), **FAST_ENV}
    group = ops_group()

    def invoke(*args: str, env: dict | None = None, input: str | None = None) -> Result:
        return CliRunner().invoke(group, list(args), env={**base, **(env or {})}, input=input)

    return invoke

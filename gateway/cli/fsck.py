"""`gateway fsck [--repair] [--json]`: check every message file against the index."""

from __future__ import annotations

import click

from storage.maintenance import FsckReport, require_data_directory
from storage.maintenance import fsck as run_fsck

from .common import json_option, print_json
from .config_cmd import cli_state


@click.command("fsck")
@click.option(
    "--repair",
    is_flag=True,
    help="Quarantine damaged and invalid orphan files, adopt valid orphans, drop rows"
    " whose file is gone, fix mailbox counters, make files 0600 and directories 0700.",
)
@json_option
@click.pass_context
def fsck(ctx: click.Context, repair: bool, as_json: bool) -> None:
    """Check the store without any passphrase: every index row has its file with the
    recorded SHA-256 and a matching bind stanza; no orphan files; counters right.
    Warns about files and directories under DATA that group or others may use.

    Exit status: 0 all well (warnings aside), 1 problems found (with --repair: found
    and repaired), 2 usage error.
    """
    state = cli_state()
    require_data_directory(state.data_dir)
    report = run_fsck(state.store, repair=repair)
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)
    if not report.ok:
        ctx.exit(1)


def _print_report(report: FsckReport) -> None:
    for problem in report.missing + report.damaged:
        click.echo(
            f"{problem.kind:<8} {problem.path}: {problem.reason}"
            f" (message {problem.message_id}, mailbox {problem.mailbox_id})"
        )
    for problem in report.orphans:
        click.echo(f"orphan   {problem.path}: {problem.reason}")
    for fix in report.counters:
        click.echo(
            f"counter  {fix.mailbox_id} {fix.field}: recorded {fix.recorded}, is {fix.actual}"
        )
    for path in report.stale_temp:
        click.echo(f"stale    {path}: unfinished delivery left behind")
    _print_modes(report)
    if report.ok:
        click.echo(f"Checked {report.checked} messages: all well.")
        return
    problems = (
        len(report.missing)
        + len(report.damaged)
        + len(report.orphans)
        + len(report.counters)
        + len(report.stale_temp)
    )
    click.echo(f"Checked {report.checked} messages: {problems} problem(s).")
    if report.repaired:
        click.echo(
            f"Repaired: {len(report.quarantined)} quarantined, {len(report.adopted)} adopted,"
            f" {len(report.rows_removed)} index rows removed, {len(report.counters)} counters"
            " fixed. Quarantined files are in DATA/quarantine/."
        )
    else:
        click.echo("Run `gateway fsck --repair` to quarantine damaged files and fix the index.")


def _print_modes(report: FsckReport) -> None:
    for loose in report.loose_modes:
        click.echo(f"warning  {loose.describe()}")
    if report.tightened:
        click.echo(f"Tightened the mode of {len(report.tightened)} path(s).")
    elif report.loose_modes:
        click.echo("Run `gateway fsck --repair` to make files 0600 and directories 0700.")

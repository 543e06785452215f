"""`gateway retention run|set|show`: per-mailbox retention rules (off by default)."""

from __future__ import annotations

import click

from storage.actions import AuditAction
from storage.maintenance import RetentionRules, apply_retention, rules_of, set_rules
from storage.maintenance.retention import RETRIEVED, UNRETRIEVED

from .common import audit, format_time, json_option, print_json, print_table
from .config_cmd import cli_state


@click.group("retention")
def retention() -> None:
    """Delete retrieved or never-retrieved mail after a number of days, per mailbox.

    "Retrieved" means the message's \\Seen flag is set (IMAP body fetch, POP3 RETR).
    """


@retention.command("set")
@click.argument("mailbox_ref", metavar="ID")
@click.option(
    "--retrieved-days",
    type=click.IntRange(min=0),
    help="Delete messages retrieved more than N days ago (0 turns the rule off).",
)
@click.option(
    "--unretrieved-days",
    type=click.IntRange(min=0),
    help="Delete messages never retrieved N days after they arrived (0 turns it off).",
)
def set_(mailbox_ref: str, retrieved_days: int | None, unretrieved_days: int | None) -> None:
    """Set the retention rules of mailbox ID (its id or any address)."""
    if retrieved_days is None and unretrieved_days is None:
        raise click.UsageError("give --retrieved-days and/or --unretrieved-days")
    store = cli_state().store
    mailbox = store.mailboxes.get(mailbox_ref)
    rules = set_rules(store, mailbox.id, retrieved_days, unretrieved_days)
    audit(AuditAction.MAILBOX_RETENTION, mailbox.id, _describe(rules))
    click.echo(f"Retention of {mailbox.id}: {_describe(rules)}")


@retention.command("show")
@json_option
def show(as_json: bool) -> None:
    """List the mailboxes that have retention rules."""
    store = cli_state().store
    ruled = [(m, rules_of(m)) for m in store.mailboxes.list()]
    ruled = [(m, r) for m, r in ruled if r.active]
    if as_json:
        print_json([{"id": m.id, "address": m.address, **r.as_settings()} for m, r in ruled])
        return
    if not ruled:
        click.echo("No mailbox has retention rules (all mail is kept until it is deleted).")
        return
    print_table(
        ["ID", "ADDRESS", "RETRIEVED DAYS", "UNRETRIEVED DAYS"],
        [[m.id, m.address, _days(r.retrieved_days), _days(r.unretrieved_days)] for m, r in ruled],
    )


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Only report what would be deleted.")
@json_option
def run(dry_run: bool, as_json: bool) -> None:
    """Apply every mailbox's rules now (run it daily, e.g. from a systemd timer or cron)."""
    report = apply_retention(cli_state().store, dry_run=dry_run)
    if as_json:
        print_json(
            {
                "time": format_time(report.now),
                "dry_run": dry_run,
                "deleted": report.deleted,
                "mailboxes": [
                    {
                        "id": m.mailbox_id,
                        RETRIEVED: m.rules.retrieved_days,
                        UNRETRIEVED: m.rules.unretrieved_days,
                        "retrieved": m.retrieved,
                        "unretrieved": m.unretrieved,
                    }
                    for m in report.mailboxes
                ],
            }
        )
        return
    verb = "would delete" if dry_run else "deleted"
    for m in report.mailboxes:
        click.echo(
            f"{m.mailbox_id}: {verb} {len(m.retrieved)} retrieved and"
            f" {len(m.unretrieved)} unretrieved messages"
        )
    click.echo(f"Retention {verb} {report.deleted} messages in {len(report.mailboxes)} mailboxes.")


def _days(value: int) -> str:
    return str(value) if value else "off"


def _describe(rules: RetentionRules) -> str:
    return (
        f"delete retrieved mail after {_days(rules.retrieved_days)} days,"
        f" unretrieved mail after {_days(rules.unretrieved_days)} days"
    )

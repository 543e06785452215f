"""`gateway mailbox robot set|show|clear`: a mailbox's auto-reply robot (README: Relay
copies and robots). Replies obey RFC 3834; the texts are checked by storage/robot_rules.py."""

from __future__ import annotations

import time
from pathlib import Path

import click

from storage import actions
from storage.robot_rules import INTERVAL_DEFAULT, INTERVAL_MAX, TEXT_MAX, parse_day

from .common import actor, fail, get_store, json_option, print_json


@click.group("robot")
def robot() -> None:
    """Set, show or clear the auto-reply robot of a mailbox."""


@robot.command("set")
@click.argument("mailbox_ref", metavar="ID")
@click.option("--subject", required=True, help="Subject of the replies (one line).")
@click.option(
    "--text-file",
    "text_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"UTF-8 file holding the reply text (at most {TEXT_MAX} characters).",
)
@click.option("--from", "starts", default="", metavar="DATE", help="First day (YYYY-MM-DD, UTC).")
@click.option("--until", "ends", default="", metavar="DATE", help="Last day (YYYY-MM-DD, UTC).")
@click.option("--copy-to", "copy_to", default="", metavar="ADDR", help="Send a copy of each reply.")
@click.option(
    "--interval-days",
    type=click.IntRange(1, INTERVAL_MAX),
    default=INTERVAL_DEFAULT,
    show_default=True,
    help="Answer each sender at most once in this many days.",
)
@json_option
def set_robot(
    mailbox_ref: str,
    subject: str,
    text_file: Path,
    starts: str,
    ends: str,
    copy_to: str,
    interval_days: int,
    as_json: bool,
) -> None:
    """Give the mailbox ID a robot (replacing any it has)."""
    try:
        text = text_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(f"{text_file}: the reply text must be UTF-8") from None
    wanted = actions.SetRobot(
        mailbox_ref,
        subject,
        text,
        parse_day(starts),
        parse_day(ends, end=True),
        copy_to,
        interval_days,
    )
    done = actions.set_robot(get_store(), actor(), wanted)
    if as_json:
        print_json(done.document(time.time()))
        return
    click.echo(f"Robot set for {done.mailbox_id}")


@robot.command("show")
@click.argument("mailbox_ref", metavar="ID")
@json_option
def show(mailbox_ref: str, as_json: bool) -> None:
    """Show the robot of the mailbox ID (null with --json when it has none)."""
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    found = store.robots.get(mailbox.id)
    document = found.document(time.time()) if found is not None else None
    if as_json:
        print_json(document)
        return
    if document is None:
        click.echo(f"{mailbox.id} has no robot")
        return
    for key in ("subject", "from", "until", "copy_to", "interval_days", "active", "updated"):
        value = document[key]
        click.echo(f"{key + ':':15} {'-' if value is None else value}")
    click.echo("text:")
    click.echo(document["text"])


@robot.command("clear")
@click.argument("mailbox_ref", metavar="ID")
def clear(mailbox_ref: str) -> None:
    """Remove the robot of the mailbox ID (and its memory of whom it answered)."""
    mailbox_id = get_store().mailboxes.get(mailbox_ref).id
    removed = actions.clear_robot(get_store(), actor(), actions.ClearRobot(mailbox_id))
    click.echo(f"Robot of {mailbox_id} removed" if removed else f"{mailbox_id} had no robot")

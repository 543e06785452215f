"""`gateway mailbox import FILE.csv --out PASSPHRASES.csv`: bulk onboarding.

Every row is checked first; any bad row stops the import before anything is created,
unless --skip-bad. Each mailbox is then one `create_mailbox` action (one transaction,
one `mailbox.create` entry), its first epoch sealed by Argon2id on a pool of --jobs
threads (argon2-cffi releases the GIL). Its passphrase row is in the --out file,
fsynced, before its transaction commits (import_journal.py). A re-run skips the rows
whose import key a mailbox already has.
"""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import click

from storage import Mailbox, StoreError, actions
from storage.actions import Actor, AuditAction

from .common import actor, audit, fail, get_store, json_option, print_json, state
from .import_csv import BadRow, ImportRow, InputFileError
from .import_journal import PassphraseFile
from .import_plan import ImportPlan, plan_import

NOT_RECOVERABLE = "their passphrases are in the earlier output file only and cannot be recovered"


@click.command("import")
@click.argument(
    "csv_file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="New file (mode 0600) for the passphrases; an existing file is refused.",
)
@click.option("--skip-bad", is_flag=True, help="Create the good rows even if some rows are bad.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Mailboxes sealed at once (default: login.max_concurrent_unlocks).",
)
@json_option
def import_mailboxes(
    csv_file: Path, out_path: Path, skip_bad: bool, jobs: int | None, as_json: bool
) -> None:
    """Create the mailboxes listed in CSV_FILE; their passphrases go only to --out.

    Columns (header row required): domain (required), name, description, aliases
    (separated by spaces or semicolons), quota (bytes or 10 GiB), key (optional import
    key; default domain/name). Re-running skips the rows already created.
    """
    if out_path.exists() or out_path.is_symlink():
        raise fail(f"{out_path} exists: give a new file (passphrases are never overwritten)")
    store, who = get_store(), actor()
    try:
        plan = plan_import(store, who, csv_file)
    except InputFileError as exc:
        raise fail(f"{csv_file}: {exc}") from None
    _report_bad(csv_file, plan.bad)
    if plan.bad and not skip_bad:
        raise fail(
            f"{len(plan.bad)} bad row(s); nothing was created"
            " (fix them, or pass --skip-bad to create the good rows)"
        )
    journal = PassphraseFile(out_path)
    created: list[Mailbox] = []
    failed: list[BadRow] = []
    try:
        _create_all(store, who, plan.to_create, journal, _jobs(jobs), (created, failed))
    finally:
        journal.close()
        summary = f"created={len(created)} skipped={plan.skipped} bad={len(plan.bad)}"
        audit(AuditAction.MAILBOX_IMPORT, csv_file.name, summary)
    _report_bad(csv_file, failed)
    _summarise(as_json, plan, created, failed, out_path)
    if failed:
        raise fail(f"{len(failed)} row(s) were refused while creating; the others were created")


def _jobs(jobs: int | None) -> int:
    return jobs if jobs is not None else int(state().settings["login.max_concurrent_unlocks"])


def _create_all(
    store: Any,
    who: Actor,
    rows: list[ImportRow],
    journal: PassphraseFile,
    jobs: int,
    into: tuple[list[Mailbox], list[BadRow]],
) -> None:
    """Create each row on `jobs` threads, into (created, refused); a file error (disk
    full) stops the rest."""
    created, failed = into
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="import") as pool:
        futures: dict[Future[Mailbox], ImportRow] = {
            pool.submit(_create_one, store, who, row, journal): row for row in rows
        }
        try:
            for future in as_completed(futures):
                try:
                    created.append(future.result())
                except StoreError as exc:
                    failed.append(BadRow(futures[future].line, str(exc)))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    failed.sort(key=lambda bad: bad.line)


def _create_one(store: Any, who: Actor, row: ImportRow, journal: PassphraseFile) -> Mailbox:
    """One action; the outer transaction commits only once the passphrase is on disk."""
    with store.atomic():
        result = actions.create_mailbox(store, who, row.request)
        journal.append(result.mailbox, result.passphrase, row.key)
    return result.mailbox


def _report_bad(csv_file: Path, rows: list[BadRow]) -> None:
    for row in rows:
        click.echo(f"{csv_file}:{row.line}: {row.reason}", err=True)


def _summarise(
    as_json: bool, plan: ImportPlan, created: list[Mailbox], failed: list[BadRow], out: Path
) -> None:
    if as_json:
        print_json(
            {
                "created": len(created),
                "skipped": plan.skipped,
                "bad_rows": [{"line": b.line, "reason": b.reason} for b in plan.bad],
                "failed_rows": [{"line": b.line, "reason": b.reason} for b in failed],
                "out": str(out),
            }
        )
    else:
        click.echo(f"Created {len(created)} mailboxes; their passphrases are in {out} (mode 0600)")
        if plan.bad:
            click.echo(f"Left out {len(plan.bad)} bad row(s) (listed on stderr)")
    if plan.skipped:
        click.echo(f"skipped {plan.skipped} rows already created ({NOT_RECOVERABLE})", err=True)
    sys.stderr.flush()

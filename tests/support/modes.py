"""Files at rest: walk a tree and report what is not private, and run under a umask."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path


def not_private(root: Path) -> dict[str, str]:
    """{path relative to root: mode} of every directory not 0700 and file not 0600
    under root (root itself included); symbolic links are skipped."""
    found = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue
        wanted = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
        if stat.S_IMODE(info.st_mode) != wanted:
            relpath = "." if path == root else path.relative_to(root).as_posix()
            found[relpath] = f"{stat.S_IMODE(info.st_mode):04o}"
    return found


def walked(root: Path) -> set[str]:
    """Every path under root, relative (to show a test looked at what it meant to)."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run the block under `mask` (the usual 022 of a shell or a service manager)."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)

"""Files at rest are private: directories 0700, files 0600, whoever creates them.

Everything under DATA is made with these modes explicitly (not left to the umask:
tests and library users run under umask 022). `find_loose_modes` lists what is wider
anyway (made by hand, copied in, or by an older version) for start-up warnings and
`gateway fsck`; `tighten` fixes it (`gateway fsck --repair`).
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = 0o077  # group and other bits: none of them may be set


def make_private_dirs(directory: Path) -> list[Path]:
    """mkdir -p with mode 0700 for every directory made; returns them, outermost first."""
    missing = []
    probe = directory
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    made = []
    for path in reversed(missing):
        try:
            path.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made by another process meanwhile
        os.chmod(path, DIR_MODE)
        made.append(path)
    return made


def create_private_file(path: Path, *, exclusive: bool = True) -> int:
    """Open `path` for writing, created with mode 0600 (an fd to wrap with os.fdopen)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    return os.open(path, flags, FILE_MODE)


def publish_once(path: Path, content: bytes) -> bool:
    """Create `path` (mode 0600) holding `content`, unless it exists; True if this call
    made it. Atomic and durable: a temporary file beside it, fsynced, hard-linked into
    place (of several processes racing, only one can: the others keep the winner's), the
    directory fsynced. For secrets made once on first start (keys, tokens)."""
    if path.exists():
        return False
    folder = path.parent
    make_private_dirs(folder)
    temp = folder / f".{path.name}.{secrets.token_hex(8)}"
    try:
        with os.fdopen(create_private_file(temp), "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
    finally:
        temp.unlink(missing_ok=True)
    fsync_directory(folder)
    return True


def fsync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def touch_private(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists (e.g. before SQLite opens it)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


@dataclass(frozen=True)
class LooseMode:
    """A path under DATA that group or others may use."""

    path: str  # relative to DATA ("." for DATA itself)
    mode: int
    is_dir: bool

    @property
    def wanted(self) -> int:
        return self.mode & ~_OTHERS

    def describe(self) -> str:
        kind = "directory" if self.is_dir else "file"
        return f"{kind} {self.path} has mode {self.mode:04o}, should be {self.wanted:04o}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "mode": f"{self.mode:04o}",
            "wanted": f"{self.wanted:04o}",
            "directory": self.is_dir,
        }


def find_loose_modes(data_dir: str | os.PathLike) -> list[LooseMode]:
    """Every directory and file under DATA (DATA included) with group or other bits.

    Symbolic links are neither followed nor reported (their own mode means nothing).
    """
    root = Path(data_dir)
    found = []
    for current, dirnames, filenames in os.walk(root):
        here = Path(current)
        for name in [".", *dirnames, *filenames] if here == root else [*dirnames, *filenames]:
            path = here / name if name != "." else here
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue  # deleted while we looked (a message being expunged)
            if stat.S_ISLNK(info.st_mode) or not info.st_mode & _OTHERS:
                continue
            relpath = "." if path == root else path.relative_to(root).as_posix()
            found.append(LooseMode(relpath, info.st_mode & 0o7777, stat.S_ISDIR(info.st_mode)))
    return sorted(found, key=lambda loose: loose.path)


def tighten(data_dir: str | os.PathLike, loose: list[LooseMode]) -> list[LooseMode]:
    """Drop the group and other bits of each listed path; returns those changed."""
    root = Path(data_dir)
    changed = []
    for item in loose:
        path = root if item.path == "." else root / item.path
        try:
            if path.is_symlink():
                continue
            os.chmod(path, item.wanted)
        except FileNotFoundError:
            continue
        changed.append(item)
    return changed

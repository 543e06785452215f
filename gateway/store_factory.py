"""Open the store with the crypto.* and storage.* settings (shared by serve and the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage import KdfParams, open_store

from .config import Settings


def open_configured_store(data_dir: Path, settings: Settings) -> Any:
    kdf = KdfParams(
        memory_kib=settings["crypto.argon2_memory_kib"],
        iterations=settings["crypto.argon2_iterations"],
        lanes=settings["crypto.argon2_lanes"],
    )
    return open_store(
        data_dir,
        recipient_type=settings["crypto.recipient"],
        kdf=kdf,
        compress=settings["storage.compress"],
        disk_reserve=settings["storage.disk_reserve"],
    )

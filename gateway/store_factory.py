"""Open the store with the crypto.*, storage.* and secrets.* settings (serve and the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage import KdfParams, SealError, open_store
from storage.data_dir import claim_data_directory
from storage.sealing import (
    Sealer,
    default_sealer,
    parse_key,
    read_key_file,
)

from .config import ConfigError, Settings


def open_configured_store(data_dir: Path, settings: Settings) -> Any:
    kdf = KdfParams(
        memory_kib=settings["crypto.argon2_memory_kib"],
        iterations=settings["crypto.argon2_iterations"],
        lanes=settings["crypto.argon2_lanes"],
    )
    # Before any key file is made in it: refuse a directory that is not ours.
    claim_data_directory(data_dir)
    return open_store(
        data_dir,
        index=settings["storage.index"],
        index_password=index_password(settings),
        recipient_type=settings["crypto.recipient"],
        kdf=kdf,
        compress=settings["storage.compress"],
        disk_reserve=settings["storage.disk_reserve"],
        sealer=configured_sealer(settings, data_dir),
    )


def index_password(settings: Settings) -> str | None:
    """The PostgreSQL password from storage.index_password_file (first line), or None:
    then the URL, PGPASSWORD or a passfile provide it. Never from the command line."""
    name = settings["storage.index_password_file"]
    if not name:
        return None
    path = Path(name).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"storage.index_password_file {path}: cannot read it ({exc})") from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise ConfigError(f"storage.index_password_file {path} is empty")
    return password


def configured_sealer(settings: Settings, data_dir: Path | None) -> Sealer | None:
    """The sealer from secrets.seal_key or secrets.seal_key_file; otherwise the key in
    DATA/secrets/seal.key, made on first use (None when `data_dir` is None).

    A key that is set but unusable is a ConfigError naming the setting, never the key.
    """
    key_text, key_file = settings["secrets.seal_key"], settings["secrets.seal_key_file"]
    if key_text and key_file:
        raise ConfigError(
            "secrets.seal_key and secrets.seal_key_file are both set: set only one ("
            + ", ".join(settings.sources[k] for k in ("secrets.seal_key", "secrets.seal_key_file"))
            + ")"
        )
    try:
        if key_text:
            origin = f"secrets.seal_key ({settings.sources['secrets.seal_key']})"
            return Sealer(parse_key(key_text, origin), origin)
        if key_file:
            path = Path(key_file).expanduser()
            return Sealer(read_key_file(path), f"secrets.seal_key_file {path}")
        if data_dir is None:
            return None
        return default_sealer(data_dir)
    except SealError as exc:
        raise ConfigError(str(exc)) from None

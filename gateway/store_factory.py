"""Open the store with the crypto.*, storage.* and secrets.* settings (serve and the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage import KdfParams, SealError, open_store
from storage.contract.blobs import Blobs
from storage.data_dir import claim_data_directory
from storage.index_location import POSTGRESQL, index_kind
from storage.s3.blobs import S3Blobs
from storage.s3.location import S3Location, S3Settings
from storage.s3.objects import ObjectStore, make_client
from storage.sealing import (
    Sealer,
    default_sealer,
    parse_key,
    read_key_file,
)

from .config import ConfigError, Settings
from .config.validate import Problem

S3_KEYS = (
    "storage.blobs",
    "storage.s3_endpoint",
    "storage.s3_region",
    "storage.s3_access_key_id",
    "storage.s3_secret_access_key",
    "storage.s3_secret_access_key_file",
)
# Past smtp.transaction_timeout, an unfinished upload or unindexed object is no live
# delivery's: reconciliation may then abort, adopt or quarantine it.
GRACE_MARGIN = 900.0


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
        blobs=configured_blobs(settings, data_dir),
    )


def configured_blobs(settings: Settings, data_dir: Path) -> Blobs | None:
    """S3Blobs for `storage.blobs = "s3://..."` (its bucket created if missing); None
    for files (the store's default). The object store unreachable: ObjectStoreError."""
    s3 = configured_s3(settings)
    if s3 is None:
        return None
    location, credentials = s3
    objects = ObjectStore(make_client(credentials), location)
    objects.ensure_bucket()
    grace = settings["smtp.transaction_timeout"] + GRACE_MARGIN
    return S3Blobs(objects, data_dir, temp_grace=grace, orphan_grace=grace)


def configured_s3(settings: Settings) -> tuple[S3Location, S3Settings] | None:
    """Where and how to reach the object store, checked without contacting it; None for
    files. A ConfigError names the setting, never the secret."""
    value = settings["storage.blobs"]
    if value == "files":
        return None
    location = S3Location.parse(value)  # checked by the option's own check already
    access_key = settings["storage.s3_access_key_id"]
    if not access_key:
        raise _s3_error(settings, "storage.s3_access_key_id", "must be set for s3:// blobs")
    return location, S3Settings(
        endpoint=settings["storage.s3_endpoint"],
        region=settings["storage.s3_region"],
        access_key_id=access_key,
        secret_access_key=_s3_secret(settings),
    )


def _s3_secret(settings: Settings) -> str:
    text_key, file_key = "storage.s3_secret_access_key", "storage.s3_secret_access_key_file"
    secret, path = settings[text_key], settings[file_key]
    if secret and path:
        raise _s3_error(settings, text_key, f"and {file_key} are both set: set only one")
    if path:
        try:
            lines = Path(path).expanduser().read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise _s3_error(settings, file_key, f"cannot read {path}: {reason}") from None
        secret = lines[0].strip() if lines else ""
        if not secret:
            raise _s3_error(settings, file_key, f"{path} is empty")
    if not secret:
        raise _s3_error(settings, text_key, f"(or {file_key}) must be set for s3:// blobs")
    return secret


def _s3_error(settings: Settings, key: str, message: str) -> ConfigError:
    return ConfigError([Problem(key, settings.sources.get(key, "default"), message)])


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


def node_local_seal_key(settings: Settings) -> str | None:
    """A warning when the index is shared (PostgreSQL) but the seal key is this node's own
    DATA/secrets/seal.key: every node must be given the same key, or what one seals (TOTP
    secrets, fetch-source credentials, ACME keys) the others cannot open."""
    if index_kind(settings["storage.index"]) != POSTGRESQL:
        return None
    if settings["secrets.seal_key"] or settings["secrets.seal_key_file"]:
        return None
    return (
        "storage.index is shared (PostgreSQL) but secrets.seal_key_file and secrets.seal_key"
        " are empty: this node seals with its own DATA/secrets/seal.key; give every node the"
        " same key (README: High availability)"
    )


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

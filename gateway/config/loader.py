"""Load settings: defaults, then the TOML file, then GATEWAY_* variables, then flags."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storage.policy import check_totp_requirement

from .schema import BY_KEY, OPTIONS, Option


class ConfigError(ValueError):
    """A configuration problem, naming the key (and the file line when known)."""


class _Section:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


class Settings:
    """Resolved settings: `settings.smtp.listen` or `settings["smtp.listen"]`."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str]) -> None:
        self._values = values
        self.sources = sources
        sections: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            section, name = key.split(".", 1)
            sections.setdefault(section, {})[name] = value
        for section, items in sections.items():
            setattr(self, section, _Section(items))

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with `section__name=value` changes (for tests and flags)."""
        values = dict(self._values)
        sources = dict(self.sources)
        for name, value in changes.items():
            key = name.replace("__", ".", 1)
            values[key] = _coerce(BY_KEY[key], value, "override")
            sources[key] = "override"
        return Settings(values, sources)


def _coerce(option: Option, value: Any, where: str) -> Any:
    try:
        if option.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if option.type is list:
            items = (
                value
                if isinstance(value, list)
                else [v for v in str(value).split(",") if v.strip()]
            )
            return [option.item_type(v.strip() if isinstance(v, str) else v) for v in items]
        if option.type in (int, float) and isinstance(value, bool):
            raise ValueError("expected a number")
        return option.type(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{option.key} ({where}): {exc}") from None


def line_of(text: str, section: str, name: str) -> int | None:
    """The line where `name` is set in the [section] of the TOML `text`, if it is."""
    current = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped.strip("[]").strip()
        elif current == section and stripped.split("=", 1)[0].strip() == name:
            return number
    return None


def _from_file(path: Path) -> dict[str, tuple[Any, str]]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    found: dict[str, tuple[Any, str]] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: top-level key {section!r} must be a [section] table")
        for name, value in table.items():
            key = f"{section}.{name}"
            line = line_of(text, section, name)
            where = f"{path}:{line}" if line else str(path)
            if key not in BY_KEY:
                raise ConfigError(f"{where}: unknown option {key}")
            found[key] = (_coerce(BY_KEY[key], value, where), where)
    return found


def load_settings(
    config_file: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    values = {o.key: o.default for o in OPTIONS}
    sources = {o.key: "default" for o in OPTIONS}
    if config_file:
        for key, (value, where) in _from_file(Path(config_file)).items():
            values[key], sources[key] = value, where
    for option in OPTIONS:
        if option.env in environ:
            values[option.key] = _coerce(option, environ[option.env], option.env)
            sources[option.key] = option.env
    known_env = {o.env for o in OPTIONS}
    for name in environ:
        if name.startswith("GATEWAY_") and "__" in name and name not in known_env:
            raise ConfigError(f"unknown option in environment variable {name}")
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in BY_KEY:
            raise ConfigError(f"unknown option {key}")
        values[key] = _coerce(BY_KEY[key], value, "command line")
        sources[key] = "command line"
    _validate(values)
    return Settings(values, sources)


def _validate(values: dict[str, Any]) -> None:
    if values["crypto.recipient"] not in ("mlkem768x25519", "x25519"):
        raise ConfigError("crypto.recipient must be mlkem768x25519 or x25519")
    if values["log.format"] not in ("text", "json"):
        raise ConfigError("log.format must be text or json")
    for key, value in values.items():
        if key.endswith("listen") and value:
            parse_hostport(value, key)
    if bool(values["tls.cert"]) != bool(values["tls.key"]):
        raise ConfigError("tls.cert and tls.key must be given together")
    try:
        values["web.require_totp"] = list(check_totp_requirement(values["web.require_totp"]))
    except ValueError as exc:
        raise ConfigError(f"web.require_totp: {exc}") from None
    _validate_login(values)


def _validate_login(values: dict[str, Any]) -> None:
    """Zero slots or zero room would refuse every login, the right passphrase too."""
    for key in ("max_concurrent_unlocks", "max_waiting", "max_waiting_per_address"):
        if values[f"login.{key}"] < 1:
            raise ConfigError(f"login.{key} must be at least 1")
    for key in ("max_delay", "window"):
        if values[f"login.{key}"] < 0:
            raise ConfigError(f"login.{key} must not be negative")


def parse_hostport(value: str, key: str = "listen") -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"{key}: expected host:port, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 (explicit ":port" means all)

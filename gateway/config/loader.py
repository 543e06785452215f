"""Load settings: defaults, then the TOML file, then GATEWAY_* variables, then flags."""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import validate
from .schema import BY_KEY, OPTIONS, Option
from .validate import Problem, cross_checks, option_problem


class ConfigError(ValueError):
    """Configuration problems, every one naming its key and where it is set (file:line).

    `problems` lists them all; str() is one line for one problem, else a header and a
    line per problem.
    """

    def __init__(self, problems: str | list[Problem]) -> None:
        if isinstance(problems, str):
            problems = [Problem("", "configuration", problems)]
        self.problems = list(problems)
        super().__init__(self.describe())

    def describe(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"configuration is not valid ({len(self.problems)} problems):"]
        return "\n".join(lines + [f"  {problem}" for problem in self.problems])


class _Section:
    """One [section]'s options as attributes: `settings.smtp.listen`."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    if TYPE_CHECKING:
        # Options are set from the schema at run time, each with its own type.
        def __getattr__(self, name: str) -> Any: ...


class Settings:
    """Resolved settings: `settings.smtp.listen` or `settings["smtp.listen"]`."""

    # One attribute per schema section (set in __init__; a test checks the list).
    gateway: _Section
    storage: _Section
    crypto: _Section
    secrets: _Section
    tls: _Section
    smtp: _Section
    pop3: _Section
    imap: _Section
    web: _Section
    login: _Section
    serve: _Section
    relay: _Section
    log: _Section

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
        return _typed(option, value)
    except (TypeError, ValueError) as exc:
        raise ConfigError([Problem(option.key, where, str(exc))]) from None


def _typed(option: Option, value: Any, text_layer: bool = True) -> Any:
    """`value` as the option's type. Only a text layer (environment, flags) may give a list
    as one comma-separated string; TOML has arrays for that."""
    if option.type is list:
        if not isinstance(value, list) and not (text_layer and isinstance(value, str)):
            raise ValueError(f'expected a list (e.g. ["a", "b"]), got {value!r}')
        items = value if isinstance(value, list) else value.split(",")
        return [_scalar(option.item_type or str, v) for v in items if str(v).strip()]
    if option.check == "workers" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # workers = 4 in TOML, as well as "auto"
    typed = _scalar(option.type, value)
    return typed.lower() if option.choices else typed


def _scalar(kind: type, value: Any) -> Any:
    text = value.strip() if isinstance(value, str) else value
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(text).lower() in ("1", "true", "yes", "on"):
            return True
        if str(text).lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {value!r}")
    if kind is str:
        if isinstance(value, str | os.PathLike):
            return str(value)
        raise ValueError(f"expected a string, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {value!r}")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"expected a whole number, got {value!r}")
        if isinstance(value, str) and not text.lstrip("+-").isdigit():
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(value if not isinstance(value, str) else text)
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def line_of(text: str, section: str, name: str) -> int | None:
    """The line where `name` is set in the [section] of the TOML `text`, if it is."""
    current = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped.strip("[]").strip()
        elif current == section and stripped.split("=", 1)[0].strip().strip("\"'") == name:
            return number
    return None


class _Layers:
    """Values and their sources as each layer is read, and every problem met on the way."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {o.key: o.default for o in OPTIONS}
        self.sources: dict[str, str] = {o.key: "default" for o in OPTIONS}
        self.problems: list[Problem] = []

    def set(self, option: Option, raw: Any, where: str, text_layer: bool = True) -> None:
        """Type and check one value; a bad one is a problem and leaves the key unset."""
        try:
            value = _typed(option, raw, text_layer)
        except (TypeError, ValueError) as exc:
            message = str(exc)
        else:
            message = option_problem(option, value) or ""
            if not message:
                self.values[option.key], self.sources[option.key] = value, where
                return
        self.problems.append(Problem(option.key, where, message))
        self.values.pop(option.key, None)

    def unknown(self, name: str, where: str, candidates: list[str]) -> None:
        close = difflib.get_close_matches(name, candidates, n=1)
        hint = f"did you mean {close[0]}?" if close else "see `gateway config show --defaults`"
        self.problems.append(Problem(name, where, f"unknown option ({hint})"))


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text()
        return text, tomllib.loads(text)
    except OSError as exc:
        raise ConfigError([Problem("", str(path), f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([Problem("", str(path), "not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem("", str(path), str(exc))]) from None


def _from_file(path: Path, layers: _Layers) -> None:
    text, data = _read_toml(path)
    for section, table in data.items():
        if not isinstance(table, dict):
            message = "must be in a [section] table, not at the top level"
            layers.problems.append(Problem(section, _where(path, text, "", section), message))
            continue
        for name, value in table.items():
            key, where = f"{section}.{name}", _where(path, text, section, name)
            if key in BY_KEY:
                layers.set(BY_KEY[key], value, where, text_layer=False)
            else:
                layers.unknown(key, where, list(BY_KEY))


def _where(path: Path, text: str, section: str, name: str) -> str:
    line = line_of(text, section, name)
    return f"{path}:{line}" if line else str(path)


def _from_environment(environ: Mapping[str, str], layers: _Layers) -> None:
    known = {o.env: o for o in OPTIONS}
    for name, value in environ.items():
        if name in known:
            layers.set(known[name], value, name)
        elif name.startswith("GATEWAY_") and "__" in name:
            layers.unknown(name, "environment", list(known))


def load_settings(
    config_file: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults < file < environment < `overrides`, typed and checked.

    Raises ConfigError listing every problem found (unknown keys, wrong types, invalid
    values, unreadable certificate files), each with its key and where it is set; a bad
    value is reported even when a later layer overrides it. Every command loads its
    settings here, so `config check` accepts exactly what `serve` does.
    """
    environ = os.environ if environ is None else environ
    layers = _Layers()
    if config_file:
        _from_file(Path(config_file), layers)
    _from_environment(environ, layers)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key in BY_KEY:
            layers.set(BY_KEY[key], value, "command line")
        else:
            layers.unknown(key, "command line", list(BY_KEY))
    problems = layers.problems + cross_checks(layers.values, layers.sources)
    if problems:
        path = str(config_file or "")
        raise ConfigError(sorted(problems, key=lambda p: _in_file_order(p, path)))
    return Settings(layers.values, layers.sources)


def _in_file_order(problem: Problem, path: str) -> tuple[int, int]:
    """File problems first, by line; then those of the environment and the command line."""
    if not path or not problem.where.startswith(path):
        return (1, 0)
    line = problem.where[len(path) :].lstrip(":")
    return (0, int(line) if line.isdigit() else 0)


def parse_hostport(value: str, key: str = "listen") -> tuple[str, int]:
    """("host", port) of a `*listen` value; ":port" means every address."""
    try:
        return validate.parse_hostport(value)
    except ValueError as exc:
        raise ConfigError([Problem(key, "", str(exc))]) from None

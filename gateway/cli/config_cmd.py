"""`gateway config check|show`: validate the configuration and show where values come from.

Sources, in order of precedence: command-line flags, GATEWAY_* environment variables,
the TOML file (--config / GATEWAY_CONFIG), the defaults in gateway/config/schema.py.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import click

from storage.index_location import redacted

from ..config import DEPRECATED, OPTIONS, ConfigError, Settings, load_settings
from ..config.loader import parse_hostport
from ..store_factory import node_local_seal_key
from .common import CliState, config_failure, json_option, print_json

SECRET_WORDS = ("token", "password", "secret")
MASK = "********"


def cli_state() -> CliState:
    """The global --data/--config state set by the root group (made here if it is absent)."""
    ctx = click.get_current_context()
    found = ctx.find_object(CliState)
    if found is not None:
        return found
    params = ctx.find_root().params
    data = params.get("data_dir") or params.get("data") or os.environ.get("GATEWAY_DATA")
    config = params.get("config_file") or params.get("config") or os.environ.get("GATEWAY_CONFIG")
    made = CliState(Path(data or "./gateway-data"), Path(config) if config else None)
    ctx.find_root().obj = made
    ctx.call_on_close(made.close)
    return made


@click.group("config")
def config() -> None:
    """Check the configuration and show the effective settings."""


@config.command("check")
def check() -> None:
    """Validate the configuration file and GATEWAY_* variables; list every problem.

    Checks exactly what `serve` checks (the same loader). Exit status 0 when valid
    (warnings may be printed), 1 when not, with every problem named by key and line.
    """
    path = cli_state().config_file
    settings = _load_or_fail(path)
    origin = f"{path}" if path else "no configuration file (defaults and environment)"
    counts = _source_counts(settings)
    click.echo(
        f"OK: {origin} is valid: {counts['file']} options from the file,"
        f" {counts['env']} from the environment, {counts['default']} defaults."
    )
    for message in _warnings(settings):
        click.echo(f"warning: {message}", err=True)


@config.command("show")
@click.option("--defaults", is_flag=True, help="Show the built-in defaults with descriptions.")
@json_option
def show(defaults: bool, as_json: bool) -> None:
    """Print the effective settings as TOML, each with the source of its value."""
    if defaults:
        _show_defaults(as_json)
        return
    settings = _load_or_fail(cli_state().config_file)
    values = {o.key: _display(o.key, settings[o.key]) for o in OPTIONS}
    if as_json:
        print_json({k: {"value": v, "source": settings.sources[k]} for k, v in values.items()})
        return
    click.echo("# Effective configuration; the comment names where each value comes from.")
    for section, options in _sections():
        click.echo(f"\n[{section}]")
        for option in options:
            line = f"{option.name} = {toml_value(values[option.key])}"
            click.echo(f"{line:<48} # {settings.sources[option.key]}")


def _show_defaults(as_json: bool) -> None:
    if as_json:
        print_json(
            {
                o.key: {"value": o.default, "type": _type_name(o), "doc": o.doc, "env": o.env}
                for o in OPTIONS
            }
        )
        return
    click.echo("# Journal Gateway defaults (gateway config show --defaults).")
    for section, options in _sections():
        click.echo(f"\n[{section}]")
        for option in options:
            click.echo(f"# {option.doc} (env {option.env})")
            click.echo(f"{option.name} = {toml_value(option.default)}")


def _sections() -> list[tuple[str, list[Any]]]:
    out: dict[str, list[Any]] = {}
    for option in OPTIONS:
        out.setdefault(option.section, []).append(option)
    return list(out.items())


def _type_name(option: Any) -> str:
    if option.type is list:
        return f"list[{option.item_type.__name__}]"
    return option.type.__name__


def _display(key: str, value: Any) -> Any:
    """The value, or a mask for a secret (a *_file key holds a path, not the secret)."""
    if key == "storage.index":
        return redacted(value)
    if value and not key.endswith("_file") and any(word in key for word in SECRET_WORDS):
        return MASK
    return value


def toml_value(value: Any) -> str:
    """A TOML literal for a setting value (strings as JSON-compatible basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _load_or_fail(path: Path | None) -> Settings:
    """The settings, or exit 1 after one `error:` line per problem found."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        raise config_failure(exc) from None


def _source_counts(settings: Settings) -> dict[str, int]:
    counts = {"file": 0, "env": 0, "default": 0}
    for source in settings.sources.values():
        if source == "default":
            counts["default"] += 1
        elif source.startswith("GATEWAY_"):
            counts["env"] += 1
        else:
            counts["file"] += 1
    return counts


def _is_public(listen: str) -> bool:
    if not listen:
        return False
    host, _port = parse_hostport(listen)
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host != "localhost"


def _warnings(settings: Settings) -> list[str]:
    """Legal but risky choices for a server reachable from the network."""
    out = []
    listens = [settings[o.key] for o in OPTIONS if o.key.endswith("listen")]
    if not settings["tls.cert"] and any(_is_public(v) for v in listens):
        out.append("tls.cert is empty: clients get the self-signed certificate from DATA/tls/")
    if _is_public(settings["smtp.listen"]) and not settings["smtp.allowed_networks"]:
        out.append("smtp.allowed_networks is empty: any host may deliver mail")
    if settings["web.plain_http"] and _is_public(settings["web.listen"]):
        out.append("web.plain_http serves the console unencrypted on a public address")
    for service in ("smtp", "pop3", "imap"):
        if settings[f"{service}.proxy_protocol"] and not settings["gateway.trusted_proxies"]:
            out.append(
                f"{service}.proxy_protocol is on and gateway.trusted_proxies is empty:"
                " any peer may claim any client address"
            )
    shared_index_problem = node_local_seal_key(settings)
    if shared_index_problem:
        out.append(shared_index_problem)
    for key in ("pop3.allow_plaintext_login", "imap.allow_plaintext_login"):
        if settings[key]:
            out.append(f"{key} accepts passphrases before TLS")
    for key, why in DEPRECATED.items():
        if settings.sources[key] != "default":
            out.append(f"{key} ({settings.sources[key]}) is deprecated and ignored: {why}")
    return out

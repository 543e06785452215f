"""The README's "High availability" example is what it claims: HAProxy accepts its
haproxy.cfg, and every option in its gateway.toml exists (with a value of its type)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from gateway.config.loader import _typed
from gateway.config.schema import OPTIONS
from gateway.config.validate import CHECKS
from tests.support.haproxy import haproxy_binary

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text()
    start = text.index("\n## High availability\n")
    return text[start : text.index("\n## ", start + 1)]


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", section(), re.MULTILINE | re.DOTALL)


@pytest.mark.external
def test_haproxy_accepts_the_readme_haproxy_cfg(tmp_path):
    (config,) = blocks("haproxy")
    # The stats socket's directory is HAProxy's to create in production; here a temp one.
    config = config.replace("/run/haproxy/admin.sock", str(tmp_path / "admin.sock"))
    config = config.replace("log /dev/log local0", "log stdout local0")
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    checked = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert config.count("send-proxy-v2") == 10  # both nodes of all five mail backends
    assert "option httpchk GET /readyz" in config


def test_every_option_in_the_readme_gateway_toml_exists_with_a_value_of_its_type():
    (toml,) = blocks("toml")
    options = {option.key: option for option in OPTIONS}
    parsed = tomllib.loads(toml)
    named = [(part, name, value) for part, table in parsed.items() for name, value in table.items()]
    for section_name, name, value in named:
        option = options.get(f"{section_name}.{name}")
        assert option is not None, f"{section_name}.{name} is not an option"
        typed = _typed(option, value, text_layer=False)  # raises on a wrong type
        check = CHECKS.get(option.check)
        assert check is None or check(typed) is None, (option.key, check(typed))
    keys = {f"{s}.{n}" for s, n, _ in named}
    assert {"gateway.trusted_proxies", "secrets.seal_key_file", "pop3.lock_ttl"} <= keys
    assert all(parsed[name]["proxy_protocol"] is True for name in ("smtp", "pop3", "imap"))

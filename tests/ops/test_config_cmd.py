"""`gateway config check` explains errors with key and line; `config show` names sources."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from gateway.config import OPTIONS

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return str(path)


def test_check_accepts_a_valid_file_and_counts_sources(run, tmp_path):
    path = write_config(tmp_path, '[smtp]\nlisten = "127.0.0.1:2525"\n')
    result = run("--config", path, "config", "check", env={"GATEWAY_LOG__LEVEL": "debug"})
    assert result.exit_code == 0, result.output
    assert f"OK: {path} is valid: 1 options from the file, 4 from the environment" in result.stdout


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            '[smtp]\nlisten = "0.0.0.0:25"\nmax_connections = "lots"\n',
            ["smtp.max_connections", "gateway.toml:3", "expected a whole number, got 'lots'"],
        ),
        (
            "[smtp]\n\nmax_conections = 10\n",
            [
                "gateway.toml:3",
                "unknown option smtp.max_conections",
                "did you mean smtp.max_connections?",
            ],
        ),
        ('[web]\nlisten = "8450"\n', ["web.listen", "expected host:port", "gateway.toml:2"]),
        (
            '[tls]\ncert = "/etc/ssl/x.pem"\n',
            ["tls.cert and tls.key", "tls.cert is set at", "gateway.toml:2"],
        ),
        ("[smtp\nlisten = 1\n", ["gateway.toml", "line 1"]),
        (
            "[login]\nmax_waiting = 0\n",
            ["login.max_waiting must be at least 1", "login.max_waiting is set at", ":2"],
        ),
        (
            "[login]\n\nmax_concurrent_unlocks = 0\n",
            ["login.max_concurrent_unlocks must be at least 1", "gateway.toml:3"],
        ),
    ],
    ids=[
        "bad-type",
        "unknown-key",
        "bad-listen",
        "cert-without-key",
        "toml-syntax",
        "no-login-room",
        "no-unlock-slot",
    ],
)
def test_check_names_the_key_and_the_line(run, tmp_path, text, fragments):
    path = write_config(tmp_path, text)
    result = run("--config", path, "config", "check")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_an_old_file_with_lockout_failures_loads_and_check_warns_it_is_ignored(run, tmp_path):
    path = write_config(tmp_path, "[login]\nmax_delay = 10.0\nlockout_failures = 5\n")
    result = run("--config", path, "config", "check")
    assert result.exit_code == 0, result.output
    assert f"OK: {path} is valid: 2 options from the file" in result.stdout
    assert (
        f"warning: login.lockout_failures ({path}:3) is deprecated and ignored:"
        " logins are never locked out" in result.stderr
    )
    quiet = run("config", "check")  # not set: no warning
    assert "lockout_failures" not in quiet.stderr


def test_check_names_a_bad_environment_variable(run, tmp_path):
    result = run("config", "check", env={"GATEWAY_SMTP__REQUIRE_TLS": "maybe"})
    assert result.exit_code == 1
    assert "smtp.require_tls" in result.stderr and "GATEWAY_SMTP__REQUIRE_TLS" in result.stderr
    result = run("config", "check", env={"GATEWAY_SMTP__LISTN": "127.0.0.1:25"})
    assert result.exit_code == 1 and "did you mean GATEWAY_SMTP__LISTEN?" in result.stderr


def test_check_reports_unreadable_certificate_files_with_their_line(run, tmp_path):
    path = write_config(
        tmp_path, '[tls]\ncert = "/nonexistent/c.pem"\nkey = "/nonexistent/k.pem"\n'
    )
    result = run("--config", path, "config", "check")
    assert result.exit_code == 1
    assert f"tls.cert ({path}:2): cannot read /nonexistent/c.pem" in result.stderr
    assert f"tls.key ({path}:3): cannot read /nonexistent/k.pem" in result.stderr


def test_check_passes_the_production_example_with_real_certificates(run, tls_files):
    example = str(ROOT / "contrib" / "gateway.toml")
    env = {"GATEWAY_TLS__CERT": str(tls_files[0]), "GATEWAY_TLS__KEY": str(tls_files[1])}
    result = run("--config", example, "config", "check", env=env)
    assert result.exit_code == 0, result.output
    assert "warning: smtp.allowed_networks is empty" in result.stderr


def test_check_warns_about_risky_choices(run):
    env = {"GATEWAY_SMTP__LISTEN": "0.0.0.0:25", "GATEWAY_POP3__ALLOW_PLAINTEXT_LOGIN": "yes"}
    result = run("config", "check", env=env)
    assert result.exit_code == 0
    assert "no configuration file" in result.stdout
    assert "tls.cert is empty" in result.stderr
    assert "pop3.allow_plaintext_login accepts passphrases before TLS" in result.stderr


def test_show_prints_valid_toml_with_the_source_of_each_value(run, tmp_path):
    path = write_config(tmp_path, '[smtp]\n# comment\nlisten = "0.0.0.0:25"\n')
    env = {
        "GATEWAY_WEB__METRICS_TOKEN": "s3cret-token",
        "GATEWAY_WEB__METRICS_TOKEN_FILE": "/etc/jgw/metrics.token",
        "GATEWAY_LOG__FORMAT": "json",
    }
    result = run("--config", path, "config", "show", env=env)
    assert result.exit_code == 0, result.output
    parsed = tomllib.loads(result.stdout)
    assert parsed["smtp"]["listen"] == "0.0.0.0:25"
    assert parsed["log"]["format"] == "json"
    lines = {line.split("=")[0].strip(): line for line in result.stdout.splitlines() if "=" in line}
    assert lines["listen"].endswith(f"# {path}:3") or f"# {path}:3" in result.stdout
    assert "# GATEWAY_LOG__FORMAT" in result.stdout
    assert "s3cret-token" not in result.stdout and parsed["web"]["metrics_token"] == "********"
    assert parsed["web"]["metrics_token_file"] == "/etc/jgw/metrics.token"  # a path, not a secret
    assert sum(len(v) for v in parsed.values()) == len(OPTIONS)


def test_show_json_and_defaults(run, tmp_path):
    path = write_config(tmp_path, '[pop3]\nlisten = ""\n')
    document = json.loads(run("--config", path, "config", "show", "--json").stdout)
    assert document["pop3.listen"] == {"value": "", "source": f"{path}:2"}
    assert document["imap.listen"] == {"value": "127.0.0.1:1143", "source": "default"}
    defaults = json.loads(run("--config", path, "config", "show", "--defaults", "--json").stdout)
    assert defaults["pop3.listen"]["value"] == "127.0.0.1:1110"
    assert defaults["smtp.allowed_networks"]["type"] == "list[str]"
    assert defaults["smtp.listen"]["env"] == "GATEWAY_SMTP__LISTEN"
    text = run("config", "show", "--defaults").stdout
    assert tomllib.loads(text)["smtp"]["max_message_size"] == 200 * 1024 * 1024
    for option in OPTIONS:
        assert option.doc in text


def test_show_refuses_an_invalid_configuration(run, tmp_path):
    path = write_config(tmp_path, "[smtp]\nmax_message_size = -\n")
    result = run("--config", path, "config", "show")
    assert result.exit_code == 1 and "gateway.toml" in result.stderr


def test_check_reports_an_unusable_metrics_token_file(run, tmp_path):
    empty = tmp_path / "empty-token"
    empty.write_text("\n")
    for token_file, reason in (("/nonexistent/token", "cannot read"), (empty, "is empty")):
        path = write_config(tmp_path, f'[web]\nmetrics_token_file = "{token_file}"\n')
        result = run("--config", path, "config", "check")
        assert result.exit_code == 1, result.output
        assert f"web.metrics_token_file ({token_file})" in result.stderr
        assert reason in result.stderr and f"{path}:2" in result.stderr


@pytest.mark.parametrize("value", ['["all"]', '["superadmin", "domain-admin"]', '["viewer"]', "[]"])
def test_check_accepts_the_totp_requirements(run, tmp_path, value):
    path = write_config(tmp_path, f"[web]\nrequire_totp = {value}\n")
    result = run("--config", path, "config", "check")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('["admins"]', "unknown role 'admins'"),
        ('["all", "viewer"]', 'use ["all"] alone, or a list of roles'),
        ("true", "unknown role 'True'"),
        ('"everyone"', "unknown role 'everyone'"),
    ],
)
def test_check_refuses_other_totp_requirements(run, tmp_path, value, fragment):
    path = write_config(tmp_path, f"[web]\nrequire_totp = {value}\n")
    result = run("--config", path, "config", "check")
    assert result.exit_code == 1 and "Traceback" not in result.output
    for expected in ("web.require_totp", fragment, "gateway.toml:2"):
        assert expected in result.stderr, (expected, result.stderr)


def test_check_refuses_a_bad_totp_requirement_from_the_environment(run, tmp_path):
    result = run("config", "check", env={"GATEWAY_WEB__REQUIRE_TOTP": "superadmin,root"})
    assert result.exit_code == 1
    assert "web.require_totp" in result.stderr and "unknown role 'root'" in result.stderr
    assert "GATEWAY_WEB__REQUIRE_TOTP" in result.stderr

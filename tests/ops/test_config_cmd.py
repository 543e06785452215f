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
                "smtp.max_conections (",
                "gateway.toml:3",
                "unknown option",
                "did you mean smtp.max_connections?",
            ],
        ),
        ('[web]\nlisten = "8450"\n', ["web.listen", "expected host:port", "gateway.toml:2"]),
        (
            '[tls]\ncert = "/etc/ssl/x.pem"\n',
            [
                "tls.cert (",
                "gateway.toml:2",
                "tls.cert and tls.key must be given together (tls.key is empty)",
            ],
        ),
        ("[smtp\nlisten = 1\n", ["gateway.toml", "line 1"]),
        (
            "[login]\nmax_waiting = 0\n",
            ["login.max_waiting (", "gateway.toml:2", "must be at least 1, got 0"],
        ),
        (
            "[login]\n\nmax_concurrent_unlocks = 0\n",
            ["login.max_concurrent_unlocks (", "gateway.toml:3", "must be at least 1, got 0"],
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
        expected = f"error: web.metrics_token_file ({path}:2): {token_file}: "
        assert expected in result.stderr and reason in result.stderr, result.stderr


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
        ("true", 'expected a list (e.g. ["a", "b"]), got True'),
        ('"everyone"', 'expected a list (e.g. ["a", "b"]), got \'everyone\''),
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


SEVERAL_PROBLEMS = """\
[smtp]
allowed_networks = ["10.0.0.0/33", "198.51.100.0/24"]
max_conections = 10
max_connections = "lots"
listen = "0.0.0.0"

[log]
level = "verbose"

[crypto]
recipient = "rsa"
argon2_lanes = 0

[tls]
cert = "/nonexistent/c.pem"
key = "/nonexistent/k.pem"
"""

EVERY_PROBLEM = [
    "smtp.allowed_networks ({path}:2): not a network in CIDR notation",
    "smtp.max_conections ({path}:3): unknown option (did you mean smtp.max_connections?)",
    "smtp.max_connections ({path}:4): expected a whole number, got 'lots'",
    "smtp.listen ({path}:5): expected host:port, got '0.0.0.0'",
    "log.level ({path}:8): expected one of debug, info, warning, error, got 'verbose'",
    "crypto.recipient ({path}:11): expected one of mlkem768x25519, x25519, got 'rsa'",
    "crypto.argon2_lanes ({path}:12): must be at least 1, got 0",
    "tls.cert ({path}:15): cannot read /nonexistent/c.pem",
    "tls.key ({path}:16): cannot read /nonexistent/k.pem",
]


def test_check_reports_every_problem_of_a_file_in_one_run(run, tmp_path):
    path = write_config(tmp_path, SEVERAL_PROBLEMS)
    result = run("--config", path, "config", "check")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(EVERY_PROBLEM), result.stderr
    for line, expected in zip(errors, EVERY_PROBLEM, strict=True):
        assert line.startswith(f"error: {expected.format(path=path)}"), (line, expected)
    assert "'10.0.0.0/33'" in result.stderr and "198.51.100.0/24" not in result.stderr
    assert f"Error: configuration is not valid ({len(EVERY_PROBLEM)} errors)" in result.stderr
    assert "OK:" not in result.stdout


@pytest.mark.parametrize("command", [["serve"], ["mailbox", "list"], ["config", "show"]])
def test_every_command_reports_the_same_problems_as_check(run, tmp_path, command):
    """`serve` (the unit's ExecStart after ExecStartPre=config check) and the rest of the
    CLI refuse the file with exactly the lines `config check` printed."""
    path = write_config(tmp_path, SEVERAL_PROBLEMS)
    checked = run("--config", path, "config", "check")
    args = [*command, "--web", "", "--pop3", "", "--imap", ""] if command == ["serve"] else command
    result = run("--config", path, *args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "listening" not in result.output
    assert result.stderr == checked.stderr


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[smtp]\nallowed_networks = ["10.0.0.0/33"]\n', "smtp.allowed_networks"),
        ('[smtp]\nallowed_networks = "10.0.0.0/8"\n', "smtp.allowed_networks"),
        ("[storage]\nthreads = 0\n", "storage.threads"),
        ("[smtp]\nmax_message_size = 2.5\n", "smtp.max_message_size"),
        ("[smtp]\nlisten = 25\n", "smtp.listen"),
        ("[log]\nlevel = true\n", "log.level"),
        ('[web]\nidle_timeout = "nan"\n', "web.idle_timeout"),
        ('listen = "127.0.0.1:25"\n', "listen"),
    ],
    ids=[
        "cidr",
        "list-as-string",
        "zero-threads",
        "fraction",
        "port-as-number",
        "bool-as-level",
        "nan",
        "top-level-key",
    ],
)
def test_check_refuses_what_serve_would_trip_on(run, tmp_path, text, fragment):
    path = write_config(tmp_path, text)
    result = run("--config", path, "config", "check")
    assert result.exit_code == 1, result.output
    assert f"error: {fragment} ({path}:" in result.stderr


def test_check_refuses_a_certificate_that_does_not_go_with_its_key(run, tmp_path, tls_files):
    other_key = tmp_path / "other.pem"
    other_key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    path = write_config(tmp_path, f'[tls]\ncert = "{tls_files[0]}"\nkey = "{other_key}"\n')
    result = run("--config", path, "config", "check")
    assert result.exit_code == 1
    assert f"tls.cert ({path}:2): cannot load this certificate with tls.key" in result.stderr


FEATURE_PROBLEMS = """\
[login]
max_waiting = 0
max_delay = -1
window = -5.0
lockout_failures = 5

[web]
require_totp = ["all", "viewer"]
metrics_token_file = "{token_file}"

[secrets]
seal_key = "c2hvcnQ="
"""

EVERY_FEATURE_PROBLEM = [
    "login.max_waiting ({path}:2): must be at least 1, got 0",
    "login.max_delay ({path}:3): must be at least 0, got -1",
    "login.window ({path}:4): must be at least 0, got -5.0",
    'web.require_totp ({path}:8): use ["all"] alone, or a list of roles',
    "web.metrics_token_file ({path}:9): {token_file}: the token is empty",
    "secrets.seal_key ({path}:12): not a seal key",
]


@pytest.mark.parametrize("command", [["config", "check"], ["serve"], ["admin", "list"]])
def test_login_totp_metrics_and_seal_key_problems_are_all_reported_in_one_run(
    run, tmp_path, data_dir, command
):
    """The login minimums, the TOTP roles, the /metrics token file and the seal key are
    checked by the one loader: every command lists them all, in file order, and the
    deprecated lockout_failures is no problem."""
    token_file = tmp_path / "empty-token"
    token_file.write_text("\n")
    path = write_config(tmp_path, FEATURE_PROBLEMS.format(token_file=token_file))
    args = [*command, "--web", "", "--pop3", "", "--imap", ""] if command == ["serve"] else command
    result = run("--config", path, *args)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(EVERY_FEATURE_PROBLEM), result.stderr
    for line, expected in zip(errors, EVERY_FEATURE_PROBLEM, strict=True):
        wanted = expected.format(path=path, token_file=token_file)
        assert line.startswith(f"error: {wanted}"), (line, wanted)
    assert "c2hvcnQ=" not in result.output and "Traceback" not in result.output
    assert "listening" not in result.output
    assert not data_dir.exists()  # refused before anything was made


def test_both_seal_key_settings_are_one_problem_naming_both_places(run, tmp_path):
    path = write_config(tmp_path, '[secrets]\nseal_key_file = "/etc/jgw/seal.key"\n')
    key = "A" * 43 + "="
    result = run("--config", path, "config", "check", env={"GATEWAY_SECRETS__SEAL_KEY": key})
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: secrets.seal_key (GATEWAY_SECRETS__SEAL_KEY): secrets.seal_key and"
        f" secrets.seal_key_file ({path}:2) are both set: set only one\n"
    ), result.stderr
    assert key not in result.output


def test_check_warns_when_proxy_protocol_trusts_any_peer(run, tmp_path):
    path = write_config(tmp_path, "[pop3]\nproxy_protocol = true\n")
    result = run("--config", path, "config", "check")
    assert result.exit_code == 0, result.output
    assert (
        "warning: pop3.proxy_protocol is on and gateway.trusted_proxies is empty:"
        " any peer may claim any client address"
    ) in result.stderr
    listed = write_config(
        tmp_path, '[gateway]\ntrusted_proxies = ["10.0.0.10/32"]\n[pop3]\nproxy_protocol = true\n'
    )
    result = run("--config", listed, "config", "check")
    assert result.exit_code == 0 and "trusted_proxies" not in result.stderr


def test_check_warns_when_a_shared_index_would_seal_with_a_node_local_key(run, tmp_path):
    index = '[storage]\nindex = "postgresql://gateway@db.example.net/gateway"\n'
    result = run("--config", write_config(tmp_path, index), "config", "check")
    assert result.exit_code == 0, result.output
    assert (
        "warning: storage.index is shared (PostgreSQL) but secrets.seal_key_file and"
        " secrets.seal_key are empty"
    ) in result.stderr
    key_file = tmp_path / "seal.key"
    key_file.write_text("ab" * 32 + "\n")  # 32 bytes as hex
    key_file.chmod(0o600)
    shared = write_config(tmp_path, index + f'[secrets]\nseal_key_file = "{key_file}"\n')
    result = run("--config", shared, "config", "check")
    assert result.exit_code == 0 and "seal_key" not in result.stderr, result.stderr

"""tls.acme settings that cannot work are refused by `config check` (and so by serve),
and the retry schedule doubles, stays under its cap and spreads its waits."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gateway.acme.manager import AcmeManager


def write_config(tmp_path, text: str) -> str:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            '[tls]\nacme = true\ncert = "{pem}"\nkey = "{pem}"\n',
            ["tls.cert", "tls.acme = true gets the certificate itself: leave tls.cert empty"],
        ),
        (
            "[tls]\nacme = true\nacme_renew_fraction = 1.5\n",
            ["tls.acme_renew_fraction", "must be between 0 and 1, got 1.5"],
        ),
        (
            "[tls]\nacme = true\nacme_retry_min = 600.0\nacme_retry_max = 60.0\n",
            ["tls.acme_retry_max", "must be at least tls.acme_retry_min (600.0), got 60.0"],
        ),
        (
            '[tls]\nacme = true\nacme_directory = "letsencrypt.org"\n',
            ["tls.acme_directory", "not an http(s) URL: 'letsencrypt.org'"],
        ),
        ('[tls]\nacme_http_listen = "port80"\n', ["tls.acme_http_listen", "expected host:port"]),
    ],
)
def test_check_refuses_unworkable_acme_settings(run, tmp_path, text, fragments):
    pem = tmp_path / "some.pem"
    pem.write_text("not used\n")
    path = write_config(tmp_path, text.replace("{pem}", str(pem)))
    result = run("--config", path, "config", "check")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_check_accepts_acme_with_its_defaults(run, tmp_path):
    path = write_config(tmp_path, '[tls]\nacme = true\nacme_email = "ops@example.com"\n')
    result = run("--config", path, "config", "check")
    assert result.exit_code == 0, result.output


def manager(retry_min: float, retry_max: float) -> AcmeManager:
    """Only the schedule: backoff() reads nothing but these two settings."""
    bare = AcmeManager.__new__(AcmeManager)
    bare.settings = SimpleNamespace(acme_retry_min=retry_min, acme_retry_max=retry_max)
    return bare


def test_backoff_doubles_is_capped_and_jittered():
    schedule = manager(300.0, 3600.0)
    for failures, ceiling in [(1, 300), (2, 600), (3, 1200), (4, 2400), (5, 3600), (12, 3600)]:
        waits = [schedule.backoff(failures) for _ in range(200)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits), failures
        assert max(waits) - min(waits) > ceiling / 10  # spread out, not in step


def test_a_certificate_for_another_key_or_fewer_names_never_goes_live():
    import trustme
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from gateway.acme.client import AcmeError, Issued, check_pair

    issued = trustme.CA().issue_cert("mx.example.net")
    chain = "".join(blob.bytes().decode() for blob in issued.cert_chain_pems)
    own_key = issued.private_key_pem.bytes().decode()
    check_pair(Issued(chain, own_key), ("mx.example.net",))  # the right pair passes
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(AcmeError, match="for another key"):
        check_pair(Issued(chain, other.decode()), ("mx.example.net",))
    with pytest.raises(AcmeError, match="lacks mx2.example.net"):
        check_pair(Issued(chain, own_key), ("mx.example.net", "mx2.example.net"))
    with pytest.raises(AcmeError, match="cannot be used"):
        check_pair(Issued("not a certificate", own_key), ("mx.example.net",))

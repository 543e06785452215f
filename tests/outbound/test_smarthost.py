"""The smarthost client's AUTH (password from a file or the environment, never argv)
against a real aiosmtpd server with STARTTLS, and the [relay] configuration checks."""

from __future__ import annotations

import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from gateway.config import ConfigError, load_settings
from gateway.outbound.smarthost import RelayError, Smarthost, send_message
from tests.support.ports import free_port

PASSWORD = "s3cret-smarthost-password"
MESSAGE = b"Subject: hello\r\n\r\nbody\r\n"


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"gw"
    success = ok and auth_data.password == PASSWORD.encode()
    return AuthResult(success=success, handled=False)  # aiosmtpd answers 535 itself


@pytest.fixture
def smarthost(tls_files):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    sink = Sink()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    yield controller, sink
    controller.stop()


def relay_settings(controller, ca_pem, **extra):
    overrides = {
        "relay.smarthost": f"127.0.0.1:{controller.port}",
        "relay.tls": "verify",
        "relay.ca_file": str(ca_pem),
        "relay.auth_user": "gw",
        **extra,
    }
    return load_settings(environ={}, overrides=overrides)


async def test_auth_with_the_password_from_a_file(smarthost, ca_pem, tmp_path):
    controller, sink = smarthost
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    settings = relay_settings(controller, ca_pem, **{"relay.auth_password_file": str(secret)})
    await send_message(settings, "robot@example.test", ["to@else.example"], MESSAGE)
    assert sink.messages == [("robot@example.test", ["to@else.example"], MESSAGE)]


async def test_auth_with_the_password_from_the_environment(smarthost, ca_pem, monkeypatch):
    controller, sink = smarthost
    monkeypatch.setenv("RELAY_PASSWORD_FOR_TEST", PASSWORD)
    settings = relay_settings(
        controller, ca_pem, **{"relay.auth_password_env": "RELAY_PASSWORD_FOR_TEST"}
    )
    await send_message(settings, "robot@example.test", ["to@else.example"], MESSAGE)
    assert len(sink.messages) == 1


async def test_a_wrong_password_fails_without_showing_it(smarthost, ca_pem, monkeypatch):
    controller, sink = smarthost
    monkeypatch.setenv("RELAY_PASSWORD_FOR_TEST", "wrong-" + PASSWORD)
    settings = relay_settings(
        controller, ca_pem, **{"relay.auth_password_env": "RELAY_PASSWORD_FOR_TEST"}
    )
    with pytest.raises(RelayError) as caught:
        await send_message(settings, "robot@example.test", ["to@else.example"], MESSAGE)
    assert "535" in str(caught.value) and PASSWORD not in str(caught.value)
    assert sink.messages == []
    smarthost_repr = repr(Smarthost.from_settings(settings))
    assert PASSWORD not in smarthost_repr


def test_an_unset_password_variable_is_a_clear_error(ca_pem):
    settings = load_settings(
        environ={},
        overrides={
            "relay.smarthost": "127.0.0.1:25",
            "relay.auth_user": "gw",
            "relay.auth_password_env": "NO_SUCH_VARIABLE_HERE",
        },
    )
    with pytest.raises(ValueError, match="NO_SUCH_VARIABLE_HERE is not set"):
        Smarthost.from_settings(settings)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"relay.auth_user": "gw"}, "needs relay.auth_password_file or relay.auth_password_env"),
        ({"relay.auth_password_env": "X"}, "needs relay.auth_user"),
        (
            {
                "relay.auth_user": "gw",
                "relay.auth_password_env": "X",
                "relay.auth_password_file": "/etc/hostname",
            },
            "not both",
        ),
        ({"relay.tls": "sometimes"}, "expected one of required, verify, opportunistic"),
        ({"relay.smarthost": "no-port"}, "expected host:port"),
    ],
)
def test_bad_relay_configuration_is_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={}, overrides=overrides)

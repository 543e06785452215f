"""A tiny local OAuth2 provider, so msal and google-auth run for real against it.

HTTPS (a trustme certificate) for the token services the gateway calls:
  GET  /<tenant>/v2.0/.well-known/openid-configuration   Office 365 OIDC discovery (msal)
  POST /<tenant>/oauth2/v2.0/token                       client credentials (msal)
  POST /token                                            refresh-token grant (google-auth)
plain HTTP on loopback for Dovecot's oauth2 passdb:
  POST /introspect                                       RFC 7662 token introspection
Every access token it issues is random and maps to one mail user.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Provider:
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> user
    apps: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (tenant, id, secret)
    refresh: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (id, secret, rt)
    requests: list[str] = field(default_factory=list)
    base: str = ""  # https://127.0.0.1:port
    introspection_url: str = ""

    def issue(self, user: str) -> dict:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = user
        return {"access_token": token, "token_type": "Bearer", "expires_in": 3600}


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, document: dict) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            parsed = urllib.parse.parse_qs(self.rfile.read(length).decode())
            return {k: v[0] for k, v in parsed.items()}

        def do_GET(self) -> None:
            provider.requests.append(f"GET {self.path}")
            parts = self.path.strip("/").split("/")
            if parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                tenant = f"{provider.base}/{parts[0]}"
                self._reply(
                    200,
                    {
                        "issuer": f"{tenant}/v2.0",
                        "token_endpoint": f"{tenant}/oauth2/v2.0/token",
                        "authorization_endpoint": f"{tenant}/oauth2/v2.0/authorize",
                    },
                )
                return
            self._reply(404, {"error": "not_found"})

        def do_POST(self) -> None:
            provider.requests.append(f"POST {self.path}")
            form = self._form()
            parts = self.path.strip("/").split("/")
            if self.path == "/introspect":
                user = provider.tokens.get(form.get("token", ""))
                self._reply(200, {"active": True, "username": user} if user else {"active": False})
            elif parts[1:] == ["oauth2", "v2.0", "token"]:
                key = (parts[0], form.get("client_id", ""), form.get("client_secret", ""))
                ok = form.get("grant_type") == "client_credentials" and key in provider.apps
                if (
                    ok
                    and form.get("scope", "").split()[0] == "https://outlook.office365.com/.default"
                ):
                    self._reply(200, provider.issue(provider.apps[key]))
                else:
                    self._reply(401, {"error": "invalid_client"})
            elif self.path == "/token":
                key = (
                    form.get("client_id", ""),
                    form.get("client_secret", ""),
                    form.get("refresh_token", ""),
                )
                if form.get("grant_type") == "refresh_token" and key in provider.refresh:
                    self._reply(200, provider.issue(provider.refresh[key]))
                else:
                    self._reply(400, {"error": "invalid_grant"})
            else:
                self._reply(404, {"error": "not_found"})

    return Handler


def start_provider(
    cert_pem: bytes, key_pem: bytes, directory
) -> tuple[Provider, list[ThreadingHTTPServer]]:
    provider = Provider()
    handler = _handler(provider)
    secure = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    cert, key = directory / "provider-cert.pem", directory / "provider-key.pem"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    plain = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    provider.base = f"https://127.0.0.1:{secure.server_address[1]}"
    provider.introspection_url = f"http://127.0.0.1:{plain.server_address[1]}/introspect"
    for server in (secure, plain):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return provider, [secure, plain]

"""Strict-Transport-Security on every HTTPS response, and never over plain HTTP."""

from __future__ import annotations

import ssl

import aiohttp

from web import create_app

HSTS = "max-age=31536000"
PATHS = ("/login", "/mailboxes", "/nowhere", "/static/app.css", "/healthz", "/metrics")


async def responses(base: str, client_tls: ssl.SSLContext | None = None) -> list:
    """Anonymous GETs of pages, a redirect, an error, a static file; and a refused POST."""
    got = []
    async with aiohttp.ClientSession() as client:
        for path in PATHS:
            async with client.get(f"{base}{path}", ssl=client_tls, allow_redirects=False) as r:
                got.append((path, r.status, r.headers))
        refused = await client.post(
            f"{base}/domains", ssl=client_tls, headers={"Origin": "https://evil.example"}
        )
        got.append(("POST /domains", refused.status, refused.headers))
        refused.release()
    return got


async def test_every_https_response_has_hsts(aiohttp_server, env, tls_files, client_tls):
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(*tls_files)
    server = await aiohttp_server(create_app(env.astore, env.options), ssl=server_tls)
    got = await responses(f"https://localhost:{server.port}", client_tls)
    assert {status for _path, status, _headers in got} >= {200, 302, 403, 404}
    for path, status, headers in got:
        assert headers.get("Strict-Transport-Security") == HSTS, (path, status)


async def test_plain_http_responses_have_no_hsts(aiohttp_server, env):
    server = await aiohttp_server(create_app(env.astore, env.options))
    for path, status, headers in await responses(f"http://127.0.0.1:{server.port}"):
        assert "Strict-Transport-Security" not in headers, (path, status)

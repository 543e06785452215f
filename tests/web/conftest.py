"""Fixtures for the console tests: a real store on disk, the real app, a signed-in client."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from storage import open_store
from storage.async_store import AsyncStore
from storage.sealing import default_sealer
from tests.support import mail
from tests.support.argon import FAST_KDF, FAST_PASSWORDS
from web import ConnectInfo, WebOptions, create_app

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
PASSPHRASE_RE = re.compile(r"(?:[0-9A-Z]{5}-){5}[0-9A-Z]{5}")
GROUPED_RE = re.compile(r'<p class="secret" id="passphrase"[^>]*>(.*?)</p>', re.S)


@dataclass
class FakeClock:
    """Starts at the real time (deliveries are stamped with it) and moves only on demand."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    store: object
    astore: AsyncStore
    options: WebOptions
    clock: FakeClock
    data_dir: Path
    admins: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def web_store(tmp_path: Path):
    """Real Argon2id for passphrases and admin passwords, with light parameters so the
    suite stays fast; tests/storage checks the production parameters."""
    s = open_store(
        tmp_path / "data",
        kdf=FAST_KDF,
        password_hasher=FAST_PASSWORDS,
        sealer=default_sealer(tmp_path / "data"),
    )
    yield s
    s.close()


@pytest.fixture
def env(web_store, tmp_path: Path) -> Env:
    clock = FakeClock()
    options = WebOptions(
        data_dir=tmp_path / "data",
        secure_cookies=False,
        clock=clock,
        connect=ConnectInfo(
            hostname="gw.example.test",
            certificate_sha256="AB:CD:EF",
            certificate_expires=1_900_000_000.0,
        ),
    )
    astore = AsyncStore(web_store, max_workers=4)
    yield Env(web_store, astore, options, clock, tmp_path / "data")
    astore.close(close_store=False)


@pytest.fixture
def app(env: Env):
    return create_app(env.astore, env.options)


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def passphrase_of(html: str) -> str:
    """The passphrase as shown on the one-time page (groups in spans)."""
    match = GROUPED_RE.search(html)
    assert match, "no passphrase on the page"
    text = re.sub(r"<[^>]+>", "", match.group(1))
    assert PASSPHRASE_RE.fullmatch(text), text
    return text


class Console:
    """A browser-like client: keeps cookies, sends the page's CSRF token with forms."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    async def get(self, path: str, **kwargs):
        response = await self.client.get(path, **kwargs)
        text = await response.text()
        match = CSRF_RE.search(text)
        if match:
            self.csrf = match.group(1)
        response.body_text = text
        return response

    async def post(self, path: str, data: dict | list | None = None, csrf: bool = True, **kwargs):
        if csrf and not self.csrf:
            await self.get("/settings" if await self.signed_in() else "/login")
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            fields.append(("csrf_token", self.csrf))
        kwargs.setdefault("allow_redirects", False)
        response = await self.client.post(path, data=fields, **kwargs)
        response.body_text = await response.text()
        return response

    async def signed_in(self) -> bool:
        response = await self.client.get("/settings", allow_redirects=False)
        return response.status == 200

    async def login(self, name: str, password: str = PASSWORD, code: str = ""):
        await self.get("/login")
        response = await self.post("/login", {"username": name, "password": password, "code": code})
        if response.status == 303:
            await self.get("/settings")  # the session's own CSRF token from now on
        return response


@pytest.fixture
def make_console(aiohttp_client, app, env: Env):
    async def make(name: str | None = None, role: str = "superadmin", domains=()) -> Console:
        console = Console(await aiohttp_client(app))
        if name is not None:
            if name not in env.admins:
                await env.astore.admins.create(name, role, list(domains), PASSWORD)
                env.admins[name] = role
            response = await console.login(name)
            assert response.status == 303, response.body_text
        return console

    return make


@pytest.fixture
async def superadmin(make_console) -> Console:
    return await make_console("root")


@pytest.fixture
def domains(env: Env) -> tuple[str, str]:
    env.store.domains.add("alpha.test")
    env.store.domains.add("beta.test")
    return "alpha.test", "beta.test"


def deliver(store, mailbox_id: str, number: int = 1, size: int = 200) -> None:
    """Store one message as the SMTP ingest would."""
    body = (f"Subject: message {number}\r\n\r\n" + "x" * size + "\r\n").encode()
    mail.deliver(store, mailbox_id, body)

"""TOTP in the console with sealed secrets: never in the index in plaintext, not even
while enrolling; a missing or wrong seal key is a clear message, and loses nothing."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pyotp
import pytest

from storage import open_store
from storage.async_store import AsyncStore
from storage.sealing import Sealer
from tests.support.argon import FAST_KDF
from web import WebOptions, create_app

from .conftest import PASSWORD, Console, FakeClock
from .test_auth import enrol

UNAVAILABLE = "Two-factor sign-in is unavailable: the gateway&#39;s seal key is missing or wrong."


def index_bytes(data_dir: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in (data_dir / "gateway.db", data_dir / "gateway.db-wal") if p.exists()
    )


async def test_the_secret_being_enrolled_is_never_in_the_index_in_plaintext(make_console, env):
    console = await make_console("carol")
    page = await console.get("/settings/totp")
    shown = re.search(r'id="totp-secret" data-secret>([A-Z2-7]+)<', page.body_text).group(1)
    assert shown.encode() not in index_bytes(env.data_dir)  # pending, in the session row
    again = await console.get("/settings/totp")
    assert shown in again.body_text  # the same pending secret, unsealed for the page
    secret, _codes = await enrol(console, env, "carol")
    assert secret == shown
    assert secret.encode() not in index_bytes(env.data_dir)
    await console.post("/logout", {})
    env.clock.now += 60
    ok = await console.login("carol", code=pyotp.TOTP(secret).at(env.clock.now))
    assert ok.status == 303


@pytest.fixture
async def console_with_key(tmp_path: Path, aiohttp_client):
    """make(sealer) -> (Console, store) for a store at tmp_path/data opened with `sealer`."""
    opened: list[AsyncStore] = []

    async def make(sealer: Sealer | None) -> tuple[Console, object]:
        store = open_store(tmp_path / "data", kdf=FAST_KDF, sealer=sealer)
        astore = AsyncStore(store, max_workers=2)
        opened.append(astore)
        options = WebOptions(data_dir=tmp_path / "data", secure_cookies=False, clock=FakeClock())
        return Console(await aiohttp_client(create_app(astore, options))), store

    yield make
    for astore in opened:
        astore.close()


async def test_a_wrong_seal_key_refuses_the_second_factor_clearly_and_loses_nothing(
    console_with_key, caplog
):
    right = Sealer(secrets.token_bytes(32), "the right key")
    _, store = await console_with_key(right)
    store.admins.create("erin", "superadmin", [], PASSWORD)
    totp_secret = pyotp.random_base32()
    store.admins.set_totp("erin", totp_secret, ["h"])
    store.admins.create("frank", "superadmin", [], PASSWORD)
    store.close()

    console, wrong_store = await console_with_key(Sealer(secrets.token_bytes(32), "DATA/k"))
    code = pyotp.TOTP(totp_secret).now()
    refused = await console.login("erin", code=code)
    assert refused.status == 503 and UNAVAILABLE in refused.body_text
    assert "DATA/k is not the seal key" in caplog.text  # the log says what to fix
    wrong_password = await console.login("erin", password="not it", code=code)
    assert wrong_password.status == 401 and UNAVAILABLE not in wrong_password.body_text
    assert (await console.login("frank")).status == 303  # without TOTP: signs in
    page = await console.get("/settings/totp")
    assert page.status == 503 and UNAVAILABLE in page.body_text  # cannot enrol either
    wrong_store.close()

    console, _ = await console_with_key(right)
    assert (await console.login("erin", code=code)).status == 303  # the right key: all there


async def test_without_any_seal_key_enrolment_says_so(console_with_key):
    console, store = await console_with_key(None)
    store.admins.create("gail", "superadmin", [], PASSWORD)
    assert (await console.login("gail")).status == 303
    page = await console.get("/settings/totp")
    assert page.status == 503 and UNAVAILABLE in page.body_text
    assert not store.admins.get("gail").totp_enabled

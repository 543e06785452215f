"""Fetch-source input of the console's forms and the API's JSON, as action requests,
and the jobs that need the gateway's fetcher ("fetch now", "test connection").

Credentials are write-only: accepted here, sealed by the store, never rendered back.
On an update, no credential given keeps the stored ones; any given replaces them all
(storage/sources.py check_secret names what is missing). The validation rules live
once in storage/sources.py; this module only maps fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from storage import actions
from storage.errors import InvalidInput
from storage.sources import OPTIONAL_SECRET_KEYS, SECRET_KEYS

from .state import state
from .views import actor

_ALL_KEYS = (*SECRET_KEYS.values(), *OPTIONAL_SECRET_KEYS.values())
CREDENTIAL_KEYS = tuple(dict.fromkeys(k for keys in _ALL_KEYS for k in keys))
_SETTINGS = ("host", "username", "tls", "ca_file", "fingerprint", "auth", "comment", "name")


class NoRunner(Exception):
    """This process was started without the fetcher (not by `gateway serve`)."""


# --- the console's form -----------------------------------------------------------
def form_values(form: Mapping[str, Any]) -> dict[str, Any]:
    """The raw form fields, as strings (checkboxes "on" or ""), credentials apart."""
    text = {k: _str(form, k, 4096).strip() for k in (*_SETTINGS, "protocol", "port", "interval")}
    text["folders"] = _str(form, "folders", 4096)
    for box in ("insecure", "keep", "active"):
        text[box] = "on" if form.get(box) else ""
    return text


def form_secret(form: Mapping[str, Any]) -> dict[str, str]:
    """The credential fields that were filled in ({} for none)."""
    found = {k: _str(form, "cred_" + k, 4096) for k in CREDENTIAL_KEYS}
    return {k: v for k, v in found.items() if v.strip()}


def _str(form: Mapping[str, Any], key: str, limit: int) -> str:
    value = form.get(key, "")
    return value[:limit] if isinstance(value, str) else ""


def _number(value: str, what: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        if what == "port":
            raise InvalidInput("the port must be a whole number")
        raise InvalidInput("the interval must be a whole number of seconds")
    return int(value)


def _folders(value: str) -> tuple[str, ...]:
    return tuple(f.strip() for f in value.splitlines() if f.strip())


def add_request(mailbox_id: str, v: dict[str, Any], secret: dict[str, str]) -> actions.AddSource:
    return actions.AddSource(
        mailbox=mailbox_id,
        name=v["name"],
        protocol=v["protocol"],
        host=v["host"],
        username=v["username"],
        secret=secret,
        port=_number(v["port"], "port"),
        tls=v["tls"] or "implicit",
        insecure=v["insecure"] == "on",
        ca_file=v["ca_file"] or None,
        fingerprint=v["fingerprint"] or None,
        auth=v["auth"] or "password",
        folders=_folders(v["folders"]),
        keep=v["keep"] == "on",
        interval=_number(v["interval"], "interval") or 300,
        comment=v["comment"],
        active=v["active"] == "on",
    )


def update_request(
    source_id: str, v: dict[str, Any], secret: dict[str, str]
) -> actions.UpdateSource:
    """Every field of the edit form (an empty CA file or fingerprint clears it)."""
    return actions.UpdateSource(
        source=source_id,
        name=v["name"],
        host=v["host"],
        port=_number(v["port"], "port"),
        username=v["username"],
        tls=v["tls"] or None,
        insecure=v["insecure"] == "on",
        ca_file=v["ca_file"],
        fingerprint=v["fingerprint"],
        auth=v["auth"] or None,
        secret=secret or None,
        folders=_folders(v["folders"]),
        keep=v["keep"] == "on",
        interval=_number(v["interval"], "interval"),
        comment=v["comment"],
        active=v["active"] == "on",
    )


# --- the fetcher's jobs -----------------------------------------------------------
async def run_job(request: web.Request, kind: str, source_id: str) -> Any:
    """ "fetch" (one run, recorded on the source) or "check" (test the connection) as
    the request's admin, on a thread of the app's own (a run may take minutes)."""
    st = state(request)
    runner = st.options.source_runner
    if runner is None:
        raise NoRunner()
    who = actor(request)
    job = runner.fetch if kind == "fetch" else runner.check

    def act(store: Any) -> Any:
        if kind == "fetch":
            wanted: Any = actions.RunSource(source_id, lambda source: job(store, source))
            return actions.run_source(store, who, wanted)
        wanted = actions.CheckSource(source_id, lambda source: job(store, source))
        return actions.check_source(store, who, wanted)

    if st.source_threads is None:
        st.source_threads = ThreadPoolExecutor(runner.threads, thread_name_prefix="web-fetch")
    return await st.store.run_long(st.source_threads, act)

"""The fetch-source part of the OpenAPI document (web/routes/api_sources.py)."""

from __future__ import annotations

from typing import Any

from storage.sources import AUTH_METHODS, SECRET_KEYS, SOURCE_PROTOCOLS, TLS_MODES

from .openapi import _MBX, _TIME, _json, _op, _param, _ref

_NULL_TIME = {**_TIME, "type": ["string", "null"]}
_SETTINGS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 100},
    "host": {"type": "string"},
    "port": {"type": "integer", "description": "Default: the protocol's for the TLS mode"},
    "username": {"type": "string"},
    "tls": {"type": "string", "enum": list(TLS_MODES)},
    "insecure": {"type": "boolean", "description": 'Required for tls "none"'},
    "ca_file": {"type": ["string", "null"], "description": "CA bundle on the gateway host"},
    "fingerprint": {"type": ["string", "null"], "description": "Pinned SHA-256, 64 hex"},
    "auth": {"type": "string", "enum": list(AUTH_METHODS)},
    "folders": {"type": "array", "items": {"type": "string"}, "description": "IMAP only"},
    "keep": {"type": "boolean", "description": "Keep fetched mail at the source"},
    "interval": {"type": "integer", "minimum": 10, "maximum": 604800},
    "comment": {"type": "string"},
    "active": {"type": "boolean"},
}
_CREDENTIALS = {
    "type": "object",
    "description": "Write-only, never returned. "
    + "; ".join(f"{auth}: {', '.join(keys)}" for auth, keys in SECRET_KEYS.items()),
    "additionalProperties": {"type": "string"},
}
SCHEMAS: dict[str, Any] = {
    "Source": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "example": "src-..."},
            "mailbox": {"type": "string"},
            "protocol": {"type": "string", "enum": list(SOURCE_PROTOCOLS)},
            **_SETTINGS,
            "failing": {"type": "boolean"},
            "failures": {"type": "integer", "description": "Failed runs in a row"},
            "last_count": {"type": "integer"},
            "last_error": {"type": "string"},
            "created": _TIME,
            "last_run": _NULL_TIME,
            "last_success": _NULL_TIME,
        },
    },
    "SourceCreate": {
        "type": "object",
        "required": ["name", "protocol", "host", "username", "credentials"],
        "properties": {
            "protocol": {"type": "string", "enum": list(SOURCE_PROTOCOLS)},
            **_SETTINGS,
            "credentials": _CREDENTIALS,
        },
    },
    "SourceUpdate": {
        "type": "object",
        "properties": {**_SETTINGS, "credentials": _CREDENTIALS},
        "description": "Fields left out stay; no credentials keeps the stored ones",
    },
}
_SRC = [_param("source_id", "Source id")]


def paths() -> dict[str, Any]:
    return {
        "/api/v1/mailboxes/{mailbox_id}/sources": {
            "parameters": _MBX,
            "get": _op("The mailbox's fetch sources: {id, sources}", _json({"type": "object"})),
            "post": _op(
                "Add a fetch source (credentials sealed, never returned)",
                _json(_ref("Source")),
                "SourceCreate",
                "201",
            ),
        },
        "/api/v1/sources/{source_id}": {
            "parameters": _SRC,
            "get": _op("One fetch source", _json(_ref("Source"))),
            "patch": _op("Change a fetch source", _json(_ref("Source")), "SourceUpdate"),
            "delete": _op(
                "Remove a fetch source with its tracking and credentials",
                {"description": "Removed"},
                code="204",
            ),
        },
        "/api/v1/sources/{source_id}/run": {
            "parameters": _SRC,
            "post": _op(
                "Fetch now: {id, fetched, skipped, deleted, bytes, error, failed, busy}",
                _json({"type": "object"}),
            ),
        },
        "/api/v1/sources/{source_id}/test": {
            "parameters": _SRC,
            "post": _op(
                "Test the connection: connect, sign in, list; nothing fetched or recorded."
                " {id, ok, messages, folders, tls, error}",
                _json({"type": "object"}),
            ),
        },
    }

"""The OpenAPI 3.1 document of /api/v1 (a test checks it against the router)."""

from __future__ import annotations

from typing import Any

from storage.listing import SORTS
from storage.models import STATUSES

_STATUS = {"type": "string", "enum": list(STATUSES)}
_PROTOCOLS = {"type": "array", "items": {"type": "string", "enum": ["pop3", "imap"]}}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_MAX_AGE = {
    "type": ["integer", "null"],
    "enum": [None, 0, 90, 180, 365],
    "description": "Maximum passphrase age in days; null or 0 means none",
}
_TIME = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 UTC, e.g. 2025-01-31T12:00:00Z",
}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
    "Domain": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "mailboxes": {"type": "integer"},
            "created": _TIME,
        },
    },
    "Mailbox": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "example": "mbx-k3q9..."},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "domain": {"type": "string"},
            "address": {"type": "string"},
            "addresses": _STRINGS,
            "aliases": _STRINGS,
            "status": _STATUS,
            "quota": {"type": "integer", "description": "bytes, 0 = unlimited"},
            "allowed_networks": _STRINGS,
            "protocols": _PROTOCOLS,
            "messages": {"type": "integer"},
            "bytes": {"type": "integer"},
            "created": _TIME,
            "last_login": {
                **_TIME,
                "type": ["string", "null"],
                "description": f"{_TIME['description']}; null: never logged in",
            },
            "passphrase_max_age_days": _MAX_AGE,
            "passphrase_changed": {
                **_TIME,
                "description": "When the current passphrase was set (create, change, reset,"
                f" recover); {_TIME['description']}",
            },
            "passphrase_overdue": {
                "type": "boolean",
                "description": "Older than passphrase_max_age_days; retrieval still works",
            },
            "reset_locked": {
                "type": "boolean",
                "description": "Passphrase resets need a superadmin and a typed confirmation",
            },
            "handed_over": {
                "type": "array",
                "description": "Addresses this mailbox received from deleted mailboxes, newest"
                " first: {from, name, addresses, at}",
                "items": {"type": "object"},
            },
            "sealed_messages": {"type": "integer"},
            "received_24h": {"type": "integer"},
            "passphrase": {
                "type": "string",
                "description": "Only in the response that creates it; never retrievable.",
            },
        },
    },
    "Robot": {
        "type": "object",
        "properties": {
            "mailbox": {"type": "string"},
            "subject": {"type": "string"},
            "text": {"type": "string"},
            "from": {**_TIME, "type": ["string", "null"]},
            "until": {**_TIME, "type": ["string", "null"]},
            "copy_to": {"type": ["string", "null"]},
            "interval_days": {"type": "integer"},
            "active": {"type": "boolean", "description": "Inside its date window now"},
            "updated": _TIME,
        },
    },
    "RobotSet": {
        "type": "object",
        "required": ["subject", "text"],
        "properties": {
            "subject": {"type": "string", "maxLength": 200},
            "text": {"type": "string", "maxLength": 10000},
            "from": {"type": "string", "description": "YYYY-MM-DD (UTC) or ISO 8601 time"},
            "until": {"type": "string", "description": "YYYY-MM-DD (UTC, inclusive)"},
            "copy_to": {"type": "string"},
            "interval_days": {"type": "integer", "minimum": 1, "maximum": 365},
        },
    },
    "MailboxCreate": {
        "type": "object",
        "required": ["domain"],
        "properties": {
            "domain": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "aliases": _STRINGS,
            "quota": {"type": "integer"},
            "status": _STATUS,
        },
    },
    "MailboxUpdate": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "status": _STATUS,
            "quota": {"type": "integer"},
            "allowed_networks": _STRINGS,
            "protocols": _PROTOCOLS,
            "passphrase_max_age_days": _MAX_AGE,
            "reset_locked": {
                "type": "boolean",
                "description": "true: lock passphrase resets; false (superadmin only): clear",
            },
        },
    },
    "MailboxPage": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Mailbox"}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Opaque; pass as ?cursor= for the next page; null on the last",
            },
            "total": {"type": "integer", "description": "Mailboxes matching the filters"},
        },
    },
    "DomainOverview": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "mailboxes": {"type": "integer"},
            "by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
            "messages": {"type": "integer"},
            "bytes": {"type": "integer", "description": "Storage used (encrypted bytes)"},
            "last_login": {**_TIME, "type": ["string", "null"]},
            "received_24h": {"type": "integer"},
        },
    },
    "Selection": {
        "type": "object",
        "description": 'Give "ids" or "filter", not both',
        "properties": {
            "ids": {**_STRINGS, "description": "Mailbox ids (at most 10,000)"},
            "filter": {
                "type": "object",
                "description": "Every mailbox matching, within the token's admin's domains",
                "properties": {
                    "domain": {"type": "string"},
                    "status": _STATUS,
                    "q": {"type": "string", "description": "As the list's q"},
                },
            },
        },
    },
    "BulkStatus": {
        "allOf": [
            {"$ref": "#/components/schemas/Selection"},
            {"type": "object", "required": ["status"], "properties": {"status": _STATUS}},
        ]
    },
    "BulkDelete": {
        "allOf": [
            {"$ref": "#/components/schemas/Selection"},
            {
                "type": "object",
                "properties": {
                    "confirm": {
                        "type": "string",
                        "description": "The number of deletable mailboxes in the selection."
                        " Without it (or wrong): 400 with confirm, deletable and kept",
                    }
                },
            },
        ]
    },
    "ResetConfirm": {
        "type": "object",
        "properties": {
            "confirm": {
                "type": "string",
                "description": "The mailbox id; required when passphrase resets are locked",
            }
        },
    },
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    ok: dict[str, Any],
    body: str | None = None,
    code: str = "200",
    public: bool = False,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {code: ok}}
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if not public:
        op["responses"] |= {
            "401": _json(_ref("Error"), "No or invalid token"),
            "403": _json(_ref("Error"), "The token's admin may not do this"),
        }
    else:
        op["security"] = []
    return op


def _param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


_MBX = [_param("mailbox_id", "Mailbox id or any of its addresses")]


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema}


_TEXT = {"type": "string"}
_LIST_PARAMS = [
    _query("limit", "Rows per page, 1 to 500 (default 50 when paging)", {"type": "integer"}),
    _query(
        "cursor",
        "Opaque: the next_cursor of the previous page, with the same sort and dir. Stable"
        " under inserts and deletes",
        _TEXT,
    ),
    _query("offset", "Rows to skip instead of a cursor (not both)", {"type": "integer"}),
    _query("domain", "Only this domain (one of the token's admin's)", _TEXT),
    _query("status", "Only this status", _STATUS),
    _query("q", "Search id, name, description and addresses (case-insensitive)", _TEXT),
    _query("sort", "Sort key (ties by id)", {"type": "string", "enum": list(SORTS)}),
    _query("dir", "asc (default) or desc", {"type": "string", "enum": ["asc", "desc"]}),
]
_OBJ = {"type": "object"}


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/v1/openapi.json": {"get": _op("This document", _json(_OBJ), public=True)},
        "/api/v1/me": {"get": _op("The token's admin: name, role, domains", _json(_OBJ))},
        "/api/v1/stats": {"get": _op("Totals over the visible mailboxes", _json(_OBJ))},
        "/api/v1/domains": {
            "get": _op("List domains", _json({"type": "array", "items": _ref("Domain")})),
            "post": _op(
                'Add a domain (superadmin): {"name": ...}', _json(_ref("Domain")), code="201"
            ),
        },
        "/api/v1/domains/{domain}": {
            "parameters": [_param("domain", "Domain name")],
            "delete": _op(
                "Remove an empty domain (superadmin)", {"description": "Removed"}, code="204"
            ),
        },
        "/api/v1/domains/overview": {
            "get": _op(
                "Per visible domain: mailboxes, count per status, storage, last access,"
                " received in 24 h",
                _json({"type": "array", "items": _ref("DomainOverview")}),
            ),
        },
        "/api/v1/mailboxes": {
            "get": {
                **_op(
                    "List mailboxes, filtered and sorted. Paged when limit, cursor or offset"
                    " is given ({items, next_cursor, total}); otherwise a bare array of every"
                    " match (the shape before paging existed)",
                    _json(
                        {
                            "oneOf": [
                                _ref("MailboxPage"),
                                {"type": "array", "items": _ref("Mailbox")},
                            ]
                        }
                    ),
                ),
                "parameters": _LIST_PARAMS,
            },
            "post": _op(
                "Create a mailbox; the response holds its passphrase, once",
                _json(_ref("Mailbox")),
                "MailboxCreate",
                "201",
            ),
        },
        "/api/v1/mailboxes/{mailbox_id}": {
            "parameters": _MBX,
            "get": _op("One mailbox with statistics", _json(_ref("Mailbox"))),
            "patch": _op("Change settings or status", _json(_ref("Mailbox")), "MailboxUpdate"),
            "delete": _op(
                "Delete a mailbox on hold or disabled (?confirm=<id>), irreversibly;"
                " ?hand_over_to=<id> moves its addresses to that mailbox of the same domain",
                _json(_OBJ),
            ),
        },
        "/api/v1/mailboxes/{mailbox_id}/aliases": {
            "parameters": _MBX,
            "post": _op('Add an alias: {"address": ...}', _json(_ref("Mailbox")), code="201"),
        },
        "/api/v1/mailboxes/{mailbox_id}/aliases/{address}": {
            "parameters": [*_MBX, _param("address", "The alias")],
            "delete": _op("Remove an alias", _json(_ref("Mailbox"))),
        },
        "/api/v1/mailboxes/{mailbox_id}/robot": {
            "parameters": _MBX,
            "get": _op("The mailbox's auto-reply robot (404: none)", _json(_ref("Robot"))),
            "put": _op(
                "Set or replace the robot; subject one line (no CR/LF), from/until dates"
                " (YYYY-MM-DD, UTC, until inclusive)",
                _json(_ref("Robot")),
                "RobotSet",
            ),
            "delete": _op("Remove the robot", {"description": "Removed"}, code="204"),
        },
        "/api/v1/mailboxes/{mailbox_id}/reset-passphrase": {
            "parameters": _MBX,
            "post": {
                **_op(
                    "New key epoch and passphrase (returned once); older mail becomes sealed."
                    ' When resets are locked: superadmin only, with {"confirm": "<id>"}',
                    _json(_OBJ),
                ),
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("ResetConfirm")}},
                },
            },
        },
        "/api/v1/mailboxes/bulk/status": {
            "post": _op(
                "Give every selected mailbox a status; one audit entry per mailbox changed."
                " Returns {reference, status, changed, unchanged}",
                _json(_OBJ),
                "BulkStatus",
            ),
        },
        "/api/v1/mailboxes/bulk/delete": {
            "post": _op(
                "Delete the selected mailboxes on hold or disabled, with their messages, once"
                " confirmed by their number; the others are kept and listed. Returns"
                " {reference, deleted, kept, messages_destroyed}",
                _json(_OBJ),
                "BulkDelete",
            ),
        },
        "/api/v1/mailboxes/export": {
            "post": _op(
                "The selected mailboxes as CSV (text/csv): id, name, domain, addresses,"
                " status, messages, bytes, quota, last_retrieval, received_24h",
                {"description": "CSV", "content": {"text/csv": {"schema": _TEXT}}},
                "Selection",
            ),
        },
        "/api/v1/mailboxes/{mailbox_id}/relays": {
            "parameters": _MBX,
            "get": _op("The relay targets of a mailbox, oldest first", _json(_OBJ)),
            "post": _op(
                'Add a relay target or change its policy: {"address": ..., "policy":'
                ' "required" | "best-effort", "passphrase": <the mailbox passphrase>};'
                " 400 without the right passphrase",
                _json(_OBJ),
                code="201",
            ),
        },
        "/api/v1/mailboxes/{mailbox_id}/relays/{address}": {
            "parameters": [*_MBX, _param("address", "The relay target")],
            "delete": _op("Remove a relay target (no passphrase needed)", _json(_OBJ)),
        },
        "/api/v1/mailboxes/{mailbox_id}/change-passphrase": {
            "parameters": _MBX,
            "post": _op(
                'Re-seal under a new passphrase: {"current": ...}; returns the new one', _json(_OBJ)
            ),
        },
    }
    from . import openapi_sources  # it builds on the helpers above

    paths |= openapi_sources.paths()
    return {
        "openapi": "3.1.0",
        "info": {"title": "Journal Gateway admin API", "version": "1"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS | openapi_sources.SCHEMAS,
        },
        "paths": paths,
    }

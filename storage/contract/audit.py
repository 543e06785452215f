"""AuditLog: who did what to which object, from where. Append-only through this contract."""

from __future__ import annotations

import builtins
from typing import Protocol

from ..models import AuditEntry


class AuditLog(Protocol):
    def record(
        self, actor: str, action: str, target: str = "", detail: str = "", source: str = ""
    ) -> None:
        """Append an entry, durable on return. Callers pass names and ids only: never a
        secret or message content."""
        ...

    def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 200,
        before_id: int | None = None,
    ) -> builtins.list[AuditEntry]:
        """Newest first; each filter matches a substring; `before_id` pages back."""
        ...

"""What every network service of one gateway process shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from storage.async_store import AsyncStore

from .config import Settings
from .listeners import Listeners
from .login import Authenticator
from .metrics import GatewayMetrics
from .tls import TlsManager


class Service(Protocol):
    """A running listener group (e.g. SMTP on :25 and SMTPS on :465)."""

    name: str

    @property
    def addresses(self) -> list[tuple[str, int]]: ...

    def endpoints(self) -> list[tuple[str, tuple[str, int]]]:
        """(listener kind such as "smtp" or "smtps", (host, port)) for every bound socket."""

    async def stop(self, grace: float) -> None:
        """Stop accepting; let in-flight work finish for at most `grace` seconds."""


@dataclass
class GatewayContext:
    settings: Settings
    store: AsyncStore
    tls: TlsManager
    authenticator: Authenticator
    data_dir: Path
    hostname: str
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)  # one set per process
    listeners: Listeners = field(default_factory=Listeners)  # shared by workers, or bound here

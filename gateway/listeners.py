"""Listening sockets: bound by the one process that serves them, or shared by workers.

With one process (`serve.workers = 1`, the in-process test servers) each service binds
its own sockets, with asyncio's `create_server` and aiohttp's `TCPSite`.

With several workers the supervisor binds every listener once (`bind_all`) and hands
the same sockets to every worker, also to a worker restarted after a death. Each port
then has ONE kernel accept queue that every worker takes from (`SharedServer`),
instead of SO_REUSEPORT's queue per worker, which the kernel fills by a hash of the
client's address and port whatever the worker's load (3:1 or 4:0 splits of 4
connections, and a stalled worker's queue left waiting). Two rules spread the load:

- A worker accepts one connection per event-loop pass (asyncio's own servers take up
  to 100 at a time), so a worker that is busy in a callback is late to accept and an
  idle one gets the connection.
- Every worker publishes its open connections in a shared array. A worker with more
  than the least loaded live worker waits `ACCEPT_DEFER` before taking a pending
  connection, so that the least loaded one takes it. If the connection is still
  waiting after that (the other worker is stalled), it is taken, and the worker stops
  deferring for `DEFER_PAUSE`: a stalled worker never holds connections up for long.
- A worker starts accepting once all its services are up (`Listeners.start_accepting`),
  and then waits (up to `PEERS_WAIT`) for the others still starting: connections that
  queued up meanwhile are split too, rather than all taken by the first worker up.

The kernel wakes every idle worker for each new connection (epoll without
EPOLLEXCLUSIVE; asyncio offers no exclusive wake-up); all but one find the queue empty
and go back to sleep: a few microseconds per worker, negligible next to a TLS
handshake with 2-16 workers. EPOLLEXCLUSIVE would wake the worker that last went to
sleep, which concentrates load instead of spreading it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from .config import Settings
from .config.loader import parse_hostport

log = logging.getLogger("gateway.listeners")

LISTEN_KEYS = (
    "smtp.listen",
    "smtp.smtps_listen",
    "pop3.listen",
    "pop3.pop3s_listen",
    "imap.listen",
    "imap.imaps_listen",
    "web.listen",
)
BACKLOG = 128  # the kernel queue of not yet accepted connections, per port
ACCEPT_DEFER = 0.02  # seconds a more loaded worker leaves a new connection to others
DEFER_PAUSE = 1.0  # no deferring after the others left a connection waiting
ACCEPT_RETRY = 1.0  # seconds without accepting after running out of file descriptors
NOT_RUNNING = -1  # a worker slot in the load array whose process is not running
STARTING = -2  # a worker started by the supervisor that does not accept yet
PEERS_WAIT = 10.0  # seconds a worker ready to accept waits for the ones still starting
PEERS_POLL = 0.02
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class ListenError(Exception):
    """A listener the supervisor could not bind (the address is in use, not local...)."""


def listen_keys(settings: Settings) -> list[str]:
    """The configured listeners' settings keys (the ACME responder's with tls.acme)."""
    keys = [*LISTEN_KEYS, "tls.acme_http_listen"] if settings.tls.acme else list(LISTEN_KEYS)
    return [key for key in keys if settings[key]]


def listener_kind(key: str) -> str:
    """The label of a listener: smtp, smtps, pop3, pop3s, imap, imaps, web, acme_http."""
    section, name = key.split(".")
    return section if name == "listen" else name.removesuffix("_listen")


def bind_all(settings: Settings) -> dict[str, list[socket.socket]]:
    """Bind every configured listener once: listen key → its sockets (one per address)."""
    bound: dict[str, list[socket.socket]] = {}
    try:
        for key in listen_keys(settings):
            bound[key] = bind(settings[key], key)
    except BaseException:
        close_all(bound)
        raise
    return bound


def bind(spec: str, key: str) -> list[socket.socket]:
    """Listening sockets for `host:port` as asyncio's create_server would bind them:
    every address the host resolves to, SO_REUSEADDR, IPv6 sockets IPv6-only."""
    host, port = parse_hostport(spec, key)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise ListenError(f"{key} = {spec!r}: {exc.strerror or exc}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise ListenError(f"{key} = {spec!r}: {exc.strerror or exc}") from None
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def close_all(bound: dict[str, list[socket.socket]]) -> None:
    for sockets in bound.values():
        for sock in sockets:
            sock.close()


class AcceptBalance:
    """This worker's place in the shared array of open connections per worker."""

    def __init__(self, loads: Sequence[int], index: int) -> None:
        self.loads, self.index = loads, index
        self.transports: set[asyncio.BaseTransport] = set()
        self.connecting = 0  # accepted, TLS handshake not finished yet
        self.defer_until = 0.0  # loop time: no deferring before this (others stalled)

    async def ready(self) -> None:
        """Count this worker as accepting; wait (bounded) for the others still starting."""
        self.publish()
        for _ in range(int(PEERS_WAIT / PEERS_POLL)):
            if all(n != STARTING for i, n in enumerate(self.loads) if i != self.index):
                return
            await asyncio.sleep(PEERS_POLL)  # the others write shared memory: no event

    def publish(self) -> None:
        self.transports = {t for t in self.transports if not t.is_closing()}
        self.loads[self.index] = self.connecting + len(self.transports)  # type: ignore[index]

    def should_defer(self, now: float) -> bool:
        """More open connections here than on the least loaded running worker?"""
        if now < self.defer_until:
            return False
        self.publish()
        mine = self.loads[self.index]
        others = [n for i, n in enumerate(self.loads) if i != self.index and n >= 0]
        return bool(others) and mine > min(others)

    def others_stalled(self, now: float) -> None:
        self.defer_until = now + DEFER_PAUSE


class ListeningServer(Protocol):
    """What a service keeps of a listener: asyncio.Server or SharedServer."""

    @property
    def sockets(self) -> Sequence[Any]: ...

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


class SharedServer(asyncio.AbstractServer):
    """Accepts from listening sockets that other worker processes accept from too."""

    def __init__(
        self,
        sockets: list[socket.socket],
        factory: Callable[[], asyncio.BaseProtocol],
        balance: AcceptBalance,
        *,
        ssl_context: ssl.SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
        on_accept: Callable[[], None] = lambda: None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._sockets = sockets
        self._factory, self._balance = factory, balance
        self._ssl, self._handshake_timeout = ssl_context, ssl_handshake_timeout
        self._on_accept = on_accept
        self._connecting: set[asyncio.Task] = set()
        self._serving = False

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._sockets)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        if not self._serving:
            self._serving = True
            for sock in self._sockets:
                self._loop.add_reader(sock.fileno(), self._readable, sock)

    async def serve_forever(self) -> None:
        raise NotImplementedError("the gateway's services own their stop")

    def close(self) -> None:
        """Stop accepting here; the other workers (and the supervisor) keep the sockets."""
        if self._serving:
            for sock in self._sockets:
                self._loop.remove_reader(sock.fileno())
        self._serving = False
        for sock in self._sockets:
            sock.close()  # this process's descriptor only
        for task in self._connecting:
            task.cancel()  # TLS handshakes not finished: no session started yet

    async def wait_closed(self) -> None:
        if self._connecting:
            await asyncio.wait(list(self._connecting))

    def _readable(self, sock: socket.socket) -> None:
        now = self._loop.time()
        if self._balance.should_defer(now):
            self._loop.remove_reader(sock.fileno())
            self._loop.call_later(ACCEPT_DEFER, self._after_deferring, sock)
            return
        self._accept_one(sock)

    def _after_deferring(self, sock: socket.socket) -> None:
        if not self._serving:
            return
        if self._accept_one(sock):
            self._balance.others_stalled(self._loop.time())
        self._loop.add_reader(sock.fileno(), self._readable, sock)

    def _accept_one(self, sock: socket.socket) -> bool:
        """Take one waiting connection, if another worker did not take it first."""
        try:
            conn, _address = sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return False
        except OSError as exc:
            if exc.errno not in _OUT_OF_RESOURCES:
                raise
            log.error("cannot accept connections for %.0f s: %s", ACCEPT_RETRY, exc.strerror)
            self._loop.remove_reader(sock.fileno())
            self._loop.call_later(ACCEPT_RETRY, self._resume, sock)
            return False
        conn.setblocking(False)
        self._on_accept()
        self._balance.connecting += 1
        self._balance.publish()
        task = self._loop.create_task(self._connect(conn))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)
        return True

    def _resume(self, sock: socket.socket) -> None:
        if self._serving:
            self._loop.add_reader(sock.fileno(), self._readable, sock)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            transport, _protocol = await self._loop.connect_accepted_socket(
                self._factory,
                conn,
                ssl=self._ssl,
                ssl_handshake_timeout=self._handshake_timeout if self._ssl else None,
            )
        except (OSError, TimeoutError) as exc:  # the client left or failed the handshake
            log.debug("connection setup failed: %s", type(exc).__name__)
            conn.close()
            return
        finally:
            self._balance.connecting -= 1
        self._balance.transports.add(transport)
        self._balance.publish()


class SharedSite(web.BaseSite):
    """An aiohttp site on shared sockets (the console and API, the ACME responder)."""

    __slots__ = ("_listeners", "_key")

    def __init__(
        self,
        runner: web.BaseRunner,
        listeners: Listeners,
        key: str,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._listeners, self._key = listeners, key

    @property
    def name(self) -> str:
        return self._key

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await self._listeners.serve_shared(self._key, server, self._ssl_context)


@dataclass
class Listeners:
    """Where this process's services get their listening sockets."""

    shared: dict[str, list[socket.socket]] = field(default_factory=dict)  # from the supervisor
    balance: AcceptBalance | None = None
    on_accept: Callable[[str], None] = lambda kind: None  # a worker's per-listener counter
    waiting: list[SharedServer] = field(default_factory=list)  # until start_accepting

    async def start_accepting(self) -> None:
        """Every service is up: count this worker in and accept on its shared sockets."""
        if self.balance is not None:
            await self.balance.ready()
        for server in self.waiting:
            await server.start_serving()
        self.waiting.clear()

    async def serve(
        self,
        key: str,
        spec: str,
        factory: Callable[[], asyncio.BaseProtocol],
        *,
        ssl_context: ssl.SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
    ) -> ListeningServer:
        """A started server for listener `key` (configured as `spec`)."""
        if key in self.shared:
            return await self.serve_shared(key, factory, ssl_context, ssl_handshake_timeout)
        host, port = parse_hostport(spec, key)
        return await asyncio.get_running_loop().create_server(
            factory, host, port, ssl=ssl_context, ssl_handshake_timeout=ssl_handshake_timeout
        )

    async def serve_shared(
        self,
        key: str,
        factory: Callable[[], asyncio.BaseProtocol],
        ssl_context: ssl.SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
    ) -> SharedServer:
        assert self.balance is not None, "shared sockets come with the worker's balance"
        kind = listener_kind(key)
        server = SharedServer(
            self.shared[key],
            factory,
            self.balance,
            ssl_context=ssl_context,
            ssl_handshake_timeout=ssl_handshake_timeout,
            on_accept=lambda: self.on_accept(kind),
        )
        self.waiting.append(server)
        return server

    async def web_site(
        self, runner: web.BaseRunner, key: str, spec: str, ssl_context: ssl.SSLContext | None
    ) -> web.BaseSite:
        """A started aiohttp site for listener `key`."""
        if key in self.shared:
            site: web.BaseSite = SharedSite(runner, self, key, ssl_context)
        else:
            host, port = parse_hostport(spec, key)
            site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        await site.start()
        return site

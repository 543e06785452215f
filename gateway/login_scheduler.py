"""Fair hand-out of the Argon2id unlock slots (`login.max_concurrent_unlocks`).

Every login attempt needs a slot: for its unlock, or for the stand-in unlock of a
refusal (unknown name, wrong status...), so that every failure costs the same time.
When all slots are busy, attempts wait in two tiers: first the client addresses known
for the target mailbox (they logged in to it before; the store remembers them), then
strangers. Inside a tier, slots go round-robin across client networks (IPv4 /24, IPv6
/64) and, inside a network, across addresses: however many connections one address or
one network opens, it gets one turn per round, so a new address in the attacker's own
/24 waits at most about one round.

Waiting is bounded, so memory is: at most `per_address` attempts of one failing stranger
address in the unlock path (waiting or running), at most `max_waiting` waiting in all. An
address without recent failures, or known for the target mailbox, is not held to
`per_address`: an archive server that polls many mailboxes in parallel from one address
must never get the failure reply for the right passphrase. When the queue
is full, an arriving attempt takes the place of the worst-behaved stranger waiting (see
`_badness`) or, when it is no better itself, is refused; known clients never lose
their place to strangers. A refused attempt raises QueueFull; the caller answers with
the uniform failure reply. Nothing here refuses an attempt for what it is (its
passphrase, its past failures): only for the room left.

One asyncio loop owns a scheduler; nothing here is thread-safe.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

IPV4_PREFIX = 24
IPV6_PREFIX = 64


class QueueFull(Exception):
    """No room to wait for an unlock slot (per-address or total bound)."""


@dataclass(frozen=True)
class Client:
    """A client address in canonical form and the network it is grouped by."""

    address: str
    network: str


def client_of(ip: str) -> Client:
    """The canonical address (IPv4-mapped IPv6 as IPv4) and its /24 or /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return Client(ip, ip)  # not an IP (a test transport): its own network
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return Client(str(address), str(network))


@dataclass(eq=False)
class _Ticket:
    client: Client
    known: bool
    future: asyncio.Future[bool] = field(repr=False)  # True: slot handed over; False: evicted


class _FairQueue:
    """Waiting tickets by network, then address, then arrival; served round-robin.

    Dicts keep insertion order: the first network is next; after its turn it goes to
    the back (if it still waits), and likewise its addresses inside it.
    """

    def __init__(self) -> None:
        self._networks: dict[str, dict[str, deque[_Ticket]]] = {}
        self._network_sizes: Counter[str] = Counter()
        self.size = 0

    def push(self, ticket: _Ticket) -> None:
        client = ticket.client
        addresses = self._networks.setdefault(client.network, {})
        addresses.setdefault(client.address, deque()).append(ticket)
        self._network_sizes[client.network] += 1
        self.size += 1

    def pop(self) -> _Ticket | None:
        if not self._networks:
            return None
        network = next(iter(self._networks))
        addresses = self._networks.pop(network)
        address = next(iter(addresses))
        tickets = addresses.pop(address)
        ticket = tickets.popleft()
        if tickets:
            addresses[address] = tickets
        if addresses:
            self._networks[network] = addresses
        self._count_out(network)
        return ticket

    def remove(self, ticket: _Ticket) -> bool:
        client = ticket.client
        addresses = self._networks.get(client.network, {})
        tickets = addresses.get(client.address)
        if tickets is None or ticket not in tickets:
            return False
        tickets.remove(ticket)
        if not tickets:
            del addresses[client.address]
        if not addresses:
            del self._networks[client.network]
        self._count_out(client.network)
        return True

    def _count_out(self, network: str) -> None:
        self.size -= 1
        self._network_sizes[network] -= 1
        if not self._network_sizes[network]:
            del self._network_sizes[network]

    def waiting(self, client: Client) -> tuple[int, int]:
        """(waiting from the client's network, waiting from its address)."""
        tickets = self._networks.get(client.network, {}).get(client.address, ())
        return self._network_sizes[client.network], len(tickets)

    def flows(self) -> Iterator[tuple[str, int, str, deque[_Ticket]]]:
        """(network, its waiting count, address, the address's tickets) for each address."""
        for network, addresses in self._networks.items():
            for address, tickets in addresses.items():
                yield network, self._network_sizes[network], address, tickets


Failures = Callable[[Client], tuple[int, int]]  # (network failures, address failures)


class UnlockScheduler:
    def __init__(
        self,
        slots: int,
        max_waiting: int,
        per_address: int,
        failures: Failures = lambda client: (0, 0),
    ) -> None:
        self.max_waiting = max_waiting
        self.per_address = per_address
        self._free = slots
        self._known = _FairQueue()
        self._strangers = _FairQueue()
        self._in_path: Counter[str] = Counter()  # per address: waiting or running
        self._failures = failures
        self.running = 0

    @property
    def waiting(self) -> int:
        return self._known.size + self._strangers.size

    @property
    def waiting_known(self) -> int:
        """Waiting attempts from addresses known for their target mailbox."""
        return self._known.size

    @property
    def waiting_strangers(self) -> int:
        return self._strangers.size

    @asynccontextmanager
    async def slot(self, client: Client, known: bool) -> AsyncIterator[None]:
        """Hold one unlock slot for the body; QueueFull if the attempt may not wait."""
        if self._held_to_bound(client, known) and self._in_path[client.address] >= self.per_address:
            raise QueueFull
        self._in_path[client.address] += 1
        try:
            await self._acquire(client, known)
            self.running += 1
            try:
                yield
            finally:
                self.running -= 1
                self._release()
        finally:
            self._in_path[client.address] -= 1
            if not self._in_path[client.address]:
                del self._in_path[client.address]

    def _held_to_bound(self, client: Client, known: bool) -> bool:
        """Only a stranger address that has failed lately is held to `per_address`: an
        archive server polling many mailboxes in parallel from one address (known or new,
        with no failures) must never get the failure reply for the right passphrase; the
        connection caps and `max_waiting` bound it instead."""
        return not known and self._failures(client)[1] > 0

    async def _acquire(self, client: Client, known: bool) -> None:
        if self._free > 0:
            self._free -= 1
            return
        ticket = self._admit(client, known)
        try:
            granted = await ticket.future
        except asyncio.CancelledError:
            future = ticket.future
            if future.done() and not future.cancelled() and future.result():
                self._release()  # handed over just as the waiter was cancelled: pass it on
            else:
                self._tier(ticket).remove(ticket)
            raise
        if not granted:
            raise QueueFull

    def _admit(self, client: Client, known: bool) -> _Ticket:
        ticket = _Ticket(client, known, asyncio.get_running_loop().create_future())
        if self.waiting >= self.max_waiting:
            victim = self._victim(ticket)
            if victim is None:
                raise QueueFull
            self._strangers.remove(victim)
            victim.future.set_result(False)
        self._tier(ticket).push(ticket)
        return ticket

    def _release(self) -> None:
        """A slot came free: hand it to the next live waiter, known clients first."""
        for tier in (self._known, self._strangers):
            while (ticket := tier.pop()) is not None:
                if not ticket.future.done():  # done: cancelled, its waiter is leaving
                    ticket.future.set_result(True)
                    return
        self._free += 1

    def _tier(self, ticket: _Ticket) -> _FairQueue:
        return self._known if ticket.known else self._strangers

    def _victim(self, arrival: _Ticket) -> _Ticket | None:
        """The newest ticket of the worst waiting stranger, if `arrival` is better than it.

        A known arrival displaces any stranger; a stranger arrival only a strictly worse
        one (ties keep the waiting one, so equals do not churn each other out).
        """
        worst: deque[_Ticket] | None = None
        worst_badness: tuple[int, ...] = ()
        for _network, network_waiting, _address, tickets in self._strangers.flows():
            network_failures, address_failures = self._failures(tickets[0].client)
            badness = (network_failures, address_failures, network_waiting, len(tickets))
            if worst is None or badness > worst_badness:
                worst, worst_badness = tickets, badness
        if worst is None:
            return None  # only known clients wait
        if not arrival.known and self._badness(arrival.client) >= worst_badness:
            return None
        return worst[-1]

    def _badness(self, client: Client) -> tuple[int, int, int, int]:
        """How much a stranger's attempt deserves to lose its place, as it would wait:
        failures of its network, of its address, then attempts waiting from each."""
        network_waiting, address_waiting = self._strangers.waiting(client)
        network_failures, address_failures = self._failures(client)
        return network_failures, address_failures, network_waiting + 1, address_waiting + 1

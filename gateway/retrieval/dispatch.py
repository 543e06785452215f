"""The command convention POP3 and IMAP share: a table of verbs, each with its states.

A `Verb` names its handler, the session states it is allowed in, and the parser that
turns the raw argument into a small typed object before the handler runs. Every
handler has the same shape, `async handler(session, args)`, where `session` is the
protocol's one explicit session-state object. `VerbTable.dispatch` does the steps in
one order for both protocols: look the verb up, check the state, parse the arguments,
run the handler. The protocol's engine turns UnknownVerb, NotAllowed and BadArguments
into its own error replies. (SMTP is aiosmtpd's engine: its handlers are `smtp_<VERB>`
methods and hooks, read the same way.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

SessionT = TypeVar("SessionT")
RawT = TypeVar("RawT")


class UnknownVerb(Exception):
    """No such command."""


class NotAllowed(Exception):
    """The command exists but not in the session's current state."""

    def __init__(self, verb: str, state: str) -> None:
        super().__init__(f"{verb} is not allowed in the {state} state")
        self.verb = verb
        self.state = state


class BadArguments(Exception):
    """Raised by an argument parser; str() says what is wrong (never echoes a secret)."""


@dataclass(frozen=True)
class Verb(Generic[SessionT, RawT]):
    name: str
    handler: Callable[[SessionT, Any], Awaitable[Any]]
    states: frozenset[str]
    parse: Callable[[RawT], Any]  # raw argument -> typed arguments, or BadArguments


class VerbTable(Generic[SessionT, RawT]):
    """The verbs of one protocol, by upper-case name."""

    def __init__(self, verbs: Iterable[Verb[SessionT, RawT]]) -> None:
        self._verbs: dict[str, Verb[SessionT, RawT]] = {}
        for verb in verbs:
            if verb.name in self._verbs:
                raise ValueError(f"verb {verb.name} declared twice")
            self._verbs[verb.name] = verb

    def __contains__(self, name: str) -> bool:
        return name in self._verbs

    def __iter__(self):
        return iter(self._verbs.values())

    def get(self, name: str) -> Verb[SessionT, RawT] | None:
        return self._verbs.get(name)

    async def dispatch(self, session: SessionT, state: str, name: str, raw: RawT) -> Any:
        """Run `name` for `session` in `state` with the raw argument; the handler's result."""
        verb = self._verbs.get(name)
        if verb is None:
            raise UnknownVerb(name)
        if state not in verb.states:
            raise NotAllowed(verb.name, state)
        args = verb.parse(raw)
        return await verb.handler(session, args)

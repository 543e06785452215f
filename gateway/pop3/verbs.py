"""The POP3 verb table: every command, its handler, the states it is allowed in, its arguments."""

from __future__ import annotations

from ..retrieval.dispatch import Verb, VerbTable
from . import arguments as a
from . import authorization as auth
from . import transaction as tx
from .state import AUTHORIZATION, TRANSACTION, Pop3Session

BEFORE_LOGIN = frozenset({AUTHORIZATION})
LOGGED_IN = frozenset({TRANSACTION})
EITHER = BEFORE_LOGIN | LOGGED_IN

VERBS: VerbTable[Pop3Session, str] = VerbTable(
    [
        Verb("CAPA", auth.capabilities, EITHER, a.no_args),
        Verb("STLS", auth.start_tls, BEFORE_LOGIN, a.no_args),
        Verb("USER", auth.user, BEFORE_LOGIN, a.text),
        Verb("PASS", auth.password, BEFORE_LOGIN, a.text),
        Verb("AUTH", auth.authenticate, BEFORE_LOGIN, a.auth),
        Verb("QUIT", auth.quit_session, EITHER, a.no_args),
        Verb("STAT", tx.stat, LOGGED_IN, a.no_args),
        Verb("LIST", tx.list_sizes, LOGGED_IN, a.listing),
        Verb("UIDL", tx.list_ids, LOGGED_IN, a.listing),
        Verb("RETR", tx.retrieve, LOGGED_IN, a.message_number),
        Verb("TOP", tx.top, LOGGED_IN, a.top),
        Verb("DELE", tx.delete, LOGGED_IN, a.message_number),
        Verb("RSET", tx.reset, LOGGED_IN, a.no_args),
        Verb("NOOP", tx.noop, LOGGED_IN, a.no_args),
    ]
)

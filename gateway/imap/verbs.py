"""The IMAP verb table: every command, its handler, the states it is allowed in, its grammar."""

from __future__ import annotations

from ..retrieval.dispatch import Verb, VerbTable
from . import arguments as a
from . import commands_login as login
from . import commands_mailbox as mailbox
from .fetch import fetch
from .parser import Command
from .state import AUTH, NOT_AUTH, SELECTED, ImapSession

ANY = frozenset({NOT_AUTH, AUTH, SELECTED})
BEFORE_LOGIN = frozenset({NOT_AUTH})
LOGGED_IN = frozenset({AUTH, SELECTED})
IN_MAILBOX = frozenset({SELECTED})
WRONG_STATE = {
    NOT_AUTH: "log in first",
    AUTH: "select a mailbox first",
    SELECTED: "already logged in",
}
REFUSED = ("APPEND", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE")


def _verb(name: str, handler, states: frozenset[str], parse) -> Verb[ImapSession, Command]:
    return Verb(name, handler, states, a.grammar(parse))


VERBS: VerbTable[ImapSession, Command] = VerbTable(
    [
        _verb("CAPABILITY", login.capability, ANY, a.no_args),
        _verb("NOOP", login.noop, ANY, a.no_args),
        _verb("ID", login.identify, ANY, a.id_args),
        _verb("LOGOUT", login.logout, ANY, a.no_args),
        _verb("STARTTLS", login.start_tls, BEFORE_LOGIN, a.no_args),
        _verb("LOGIN", login.login, BEFORE_LOGIN, a.login),
        _verb("AUTHENTICATE", login.authenticate, BEFORE_LOGIN, a.authenticate),
        _verb("NAMESPACE", mailbox.namespace, LOGGED_IN, a.no_args),
        _verb("LIST", mailbox.list_mailboxes, LOGGED_IN, a.list_args),
        _verb("LSUB", mailbox.list_mailboxes, LOGGED_IN, a.list_args),
        _verb("STATUS", mailbox.status, LOGGED_IN, a.status),
        _verb("SELECT", mailbox.select, LOGGED_IN, a.mailbox),
        _verb("EXAMINE", mailbox.select, LOGGED_IN, a.mailbox),
        _verb("IDLE", mailbox.idle, LOGGED_IN, a.no_args),
        *(_verb(name, mailbox.refuse, LOGGED_IN, a.ignored) for name in REFUSED),
        _verb("CHECK", mailbox.check, IN_MAILBOX, a.no_args),
        _verb("CLOSE", mailbox.close, IN_MAILBOX, a.no_args),
        _verb("UNSELECT", mailbox.unselect, IN_MAILBOX, a.no_args),
        _verb("EXPUNGE", mailbox.expunge, IN_MAILBOX, a.expunge),
        _verb("SEARCH", mailbox.search, IN_MAILBOX, a.search),
        _verb("FETCH", fetch, IN_MAILBOX, a.fetch),
        _verb("STORE", mailbox.store, IN_MAILBOX, a.store),
        _verb("COPY", mailbox.refuse, IN_MAILBOX, a.ignored),
        _verb("MOVE", mailbox.refuse, IN_MAILBOX, a.ignored),
    ]
)

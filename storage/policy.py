"""Who may give a mailbox which address, and which mailboxes may be deleted.

These rules are the same for the console, the API and the CLI, so they live once, here
(web cannot import gateway). The store applies the address rule itself on every way an
address is added (`create_mailbox(..., actor=...)`, `add_alias(..., actor=...)`), so no
face can forget it; the faces call `is_deletable` before deleting.

An actor is the `Admin` acting (signed in to the console, or owning the API token), or
`OPERATOR` (None): the CLI, run by whoever can read the data directory. The operator
could change the index directly anyway, so it acts as a superadmin.
"""

from __future__ import annotations

from collections.abc import Collection

from .errors import InvalidInput, OutOfScope
from .models import Admin, Mailbox

Actor = Admin | None
OPERATOR: Actor = None
DELETABLE_STATUSES = ("hold", "disabled")


def may_write_domain(actor: Actor, domain: str) -> bool:
    """Superadmins and the operator: every domain; domain admins: their own; viewers: none."""
    if actor is None or actor.role == "superadmin":
        return True
    return actor.role == "domain-admin" and domain in actor.domains


def check_domain(actor: Actor, domain: str) -> None:
    """Raise OutOfScope unless `actor` may create a mailbox in (normalized) `domain`."""
    if not may_write_domain(actor, domain):
        raise OutOfScope(domain)


def check_address(actor: Actor, address: str, accepted: Collection[str]) -> None:
    """Raise unless `actor` may give a mailbox the (normalized) `address`.

    Scope comes before acceptance: a domain admin hears "not one of your domains" for
    every other domain, accepted or not, and so learns nothing about other customers.
    A superadmin may use any accepted domain, also one other than the mailbox's own
    (one customer journaling several domains into one mailbox).
    """
    domain = address.rpartition("@")[2]
    if not may_write_domain(actor, domain):
        raise OutOfScope(domain, address)
    if domain not in accepted:
        raise InvalidInput(f"{address}: its domain is not an accepted domain")


def is_deletable(mailbox: Mailbox) -> bool:
    """Only a mailbox that takes no mail now (on hold or disabled) may be deleted."""
    return mailbox.status in DELETABLE_STATUSES

"""Policy rules kept once here for the console, the API and the CLI (web cannot import
gateway, so they live in storage).

Tenant scope: who may give a mailbox which address, which mailboxes may be deleted,
and to which mailbox a deleted one's addresses may be handed over (same domain only).
The admin actions (storage/actions) consult these rules; the faces do not. The store
also applies the address rule itself on every way an address is added
(`create_mailbox(..., actor=...)`, `add_alias(..., actor=...)`). An actor is the
`Admin` acting (signed in to the console, or owning the API token), or `OPERATOR`
(None): the CLI, run by
whoever can read the data directory. The operator could change the index directly
anyway, so it acts as a superadmin.

Account security:
- Forced two-factor sign-in (`web.require_totp`): which admins must enrol TOTP before
  they may do anything else.
- Passphrase maximum age per mailbox (none, 3, 6 or 12 months): an overdue passphrase is
  reported (console, API, metrics) and never blocks retrieval.
- The per-mailbox "no reset" lock: who may set and clear it, and whether a passphrase
  reset may go ahead. A reset starts a key epoch whose passphrase the resetting admin
  sees, so the lock protects a customer from a domain admin quietly reading new mail.

Per-mailbox values live in the mailbox `settings` document under MAX_AGE_KEY and
RESET_LOCK_KEY; the update_mailbox action (storage/actions/mailboxes.py) changes them.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput, OutOfScope
from .models import ROLES, Admin, Mailbox
from .timefmt import iso_utc

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
        raise OutOfScope("{domain} is not one of your domains", domain=domain)


def check_address(actor: Actor, address: str, accepted: Collection[str]) -> None:
    """Raise unless `actor` may give a mailbox the (normalized) `address`.

    Scope comes before acceptance: a domain admin hears "not one of your domains" for
    every other domain, accepted or not, and so learns nothing about other customers.
    A superadmin may use any accepted domain, also one other than the mailbox's own
    (one customer journaling several domains into one mailbox).
    """
    domain = address.rpartition("@")[2]
    if not may_write_domain(actor, domain):
        raise OutOfScope(
            "{address}: {domain} is not one of your domains", domain=domain, address=address
        )
    if domain not in accepted:
        raise InvalidInput("{address}: its domain is not an accepted domain", address=address)


def is_deletable(mailbox: Mailbox) -> bool:
    """Only a mailbox that takes no mail now (on hold or disabled) may be deleted."""
    return mailbox.status in DELETABLE_STATUSES


# --- hand-over on delete ------------------------------------------------------------
HAND_OVER_KEY = "handed_over"  # the receiving mailbox's record of what it was given
HAND_OVERS_KEPT = 20


def check_hand_over(
    actor: Actor, source: Mailbox, target: Mailbox, accepted: Collection[str]
) -> None:
    """Raise unless `actor` may hand every address of `source` (being deleted) to
    `target`: another mailbox of the same domain, so that no address ever lands in
    another customer's domain, and every address one the actor may give (check_address)."""
    if target.id == source.id:
        raise InvalidInput("a mailbox cannot be handed over to itself")
    if target.domain != source.domain:
        raise InvalidInput(
            "addresses are handed over only within a domain: {target} is in {domain}",
            target=target.id,
            domain=target.domain,
        )
    if not may_write_domain(actor, target.domain):
        raise OutOfScope("{domain} is not one of your domains", domain=target.domain)
    for address in source.addresses:
        check_address(actor, address, accepted)


@dataclass(frozen=True)
class HandOver:
    """Addresses a mailbox received from a deleted one (shown on its page)."""

    source: str  # the deleted mailbox's id
    source_name: str
    addresses: tuple[str, ...]
    at: float

    def document(self) -> dict[str, Any]:
        """The form the API and `--json` show."""
        return {
            "from": self.source,
            "name": self.source_name,
            "addresses": list(self.addresses),
            "at": iso_utc(self.at),
        }


def hand_overs(mailbox: Mailbox) -> list[HandOver]:
    """What `mailbox` was handed, newest first."""
    found = (mailbox.settings or {}).get(HAND_OVER_KEY)
    if not isinstance(found, list):
        return []
    out = []
    for item in found:
        try:
            out.append(
                HandOver(
                    str(item["source"]),
                    str(item.get("name", "")),
                    tuple(str(a) for a in item["addresses"]),
                    float(item["at"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # a damaged entry is not shown, never fatal
    return sorted(out, key=lambda h: h.at, reverse=True)


def hand_over_update(
    target: Mailbox, source: Mailbox, addresses: Iterable[str], now: float
) -> dict[str, Any]:
    """The settings change that records a hand-over on the receiving mailbox (the
    newest HAND_OVERS_KEPT are kept; the audit log keeps them all)."""
    entry = {"source": source.id, "name": source.name, "addresses": list(addresses), "at": now}
    kept = [
        {"source": h.source, "name": h.source_name, "addresses": list(h.addresses), "at": h.at}
        for h in hand_overs(target)[: HAND_OVERS_KEPT - 1]
    ]
    return {HAND_OVER_KEY: [entry, *kept]}


# --- account security ---------------------------------------------------------------
DAY = 86400.0
MAX_AGE_KEY = "passphrase_max_age_days"
RESET_LOCK_KEY = "reset_locked"
# What an admin chooses → days stored (None: no maximum age).
MAX_AGE_CHOICES: dict[str, int | None] = {"none": None, "3m": 90, "6m": 180, "12m": 365}
MAX_AGE_DAYS = tuple(d for d in MAX_AGE_CHOICES.values() if d is not None)
TOTP_ALL = "all"
CLI_ROLE = "superadmin"  # whoever runs the `gateway` CLI on the server acts as a superadmin

# Admin console passwords chosen by their owner (generated ones are longer).
MIN_PASSWORD = 12
MAX_PASSWORD = 256


def password_length_ok(password: str) -> bool:
    return MIN_PASSWORD <= len(password) <= MAX_PASSWORD


# --- forced two-factor sign-in ------------------------------------------------------
def check_totp_requirement(values: Iterable[str]) -> tuple[str, ...]:
    """`web.require_totp` validated: ("all",), some roles, or (); ValueError otherwise."""
    chosen = tuple(dict.fromkeys(v.strip() for v in values))
    if TOTP_ALL in chosen and len(chosen) > 1:
        raise ValueError('use ["all"] alone, or a list of roles')
    unknown = [v for v in chosen if v != TOTP_ALL and v not in ROLES]
    if unknown:
        raise ValueError(
            f'unknown role {unknown[0]!r}; use a list of {", ".join(ROLES)}, or ["all"]'
        )
    return chosen


def totp_required(role: str, required: Iterable[str]) -> bool:
    wanted = tuple(required)
    return TOTP_ALL in wanted or role in wanted


def must_enrol(admin: Admin, required: Iterable[str]) -> bool:
    """True when `admin` may do nothing but enrol TOTP (or sign out)."""
    return not admin.totp_enabled and totp_required(admin.role, required)


# --- passphrase maximum age ---------------------------------------------------------
def parse_max_age(text: str) -> int | None:
    """ "3m", "6m", "12m" or "none" → days (None: no maximum age)."""
    key = text.strip().lower()
    if key not in MAX_AGE_CHOICES:
        raise InvalidInput(
            "maximum passphrase age must be one of {choices}", choices=", ".join(MAX_AGE_CHOICES)
        )
    return MAX_AGE_CHOICES[key]


def check_max_age_days(value: object) -> int | None:
    """A number of days as the API takes it: null or 0 (none), 90, 180 or 365."""
    if value is None or (value == 0 and not isinstance(value, bool)):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in MAX_AGE_DAYS:
        choices = ", ".join(str(d) for d in MAX_AGE_DAYS)
        raise InvalidInput(
            "passphrase_max_age_days must be null (none) or one of {choices}", choices=choices
        )
    return value


def max_age_days(mailbox: Mailbox) -> int | None:
    value = (mailbox.settings or {}).get(MAX_AGE_KEY)
    return value if isinstance(value, int) and value in MAX_AGE_DAYS else None


def max_age_choice(days: int | None) -> str:
    """The choice ("6m", "none"...) that stores `days`."""
    return next((k for k, v in MAX_AGE_CHOICES.items() if v == days), "none")


def max_age_update(days: int | None) -> dict[str, Any]:
    return {MAX_AGE_KEY: days}


@dataclass(frozen=True)
class PassphraseAge:
    max_age_days: int | None
    changed: float  # when the current passphrase was set (Unix time)
    overdue: bool

    @property
    def due(self) -> float | None:
        """When the passphrase becomes overdue; None without a maximum age."""
        return None if self.max_age_days is None else self.changed + self.max_age_days * DAY

    def document(self) -> dict[str, Any]:
        """The keys the API and `--json` show."""
        return {
            "passphrase_max_age_days": self.max_age_days,
            "passphrase_changed": iso_utc(self.changed),
            "passphrase_overdue": self.overdue,
        }


def passphrase_age(mailbox: Mailbox, now: float) -> PassphraseAge:
    """How old the passphrase is against the mailbox's maximum age. Never blocks anything."""
    changed = mailbox.passphrase_set_at
    if changed is None:  # a store that does not record it: the mailbox's creation
        changed = mailbox.created
    days = max_age_days(mailbox)
    overdue = days is not None and now - changed > days * DAY
    return PassphraseAge(days, changed, overdue)


# --- the "no reset" lock ------------------------------------------------------------
def reset_locked(mailbox: Mailbox) -> bool:
    return (mailbox.settings or {}).get(RESET_LOCK_KEY) is True


def may_change_reset_lock(role: str, mailbox: Mailbox, lock: bool) -> bool:
    """A domain admin of the mailbox (the action checks the domain) or a superadmin may set
    the lock; only a superadmin may clear it, or a domain admin could defeat it."""
    if not lock and reset_locked(mailbox):
        return role == "superadmin"
    return role in ("superadmin", "domain-admin")


def reset_lock_update(lock: bool) -> dict[str, Any]:
    return {RESET_LOCK_KEY: True if lock else None}


class ResetDecision(enum.Enum):
    ALLOWED = "allowed"
    LOCKED = "locked"  # refused: only a superadmin may reset this mailbox
    UNCONFIRMED = "unconfirmed"  # a superadmin must type the mailbox id to confirm


def reset_decision(mailbox: Mailbox, role: str, confirm: str | None) -> ResetDecision:
    """May `role` reset the passphrase of `mailbox` now? (The CLI acts as a superadmin.)"""
    if not reset_locked(mailbox):
        return ResetDecision.ALLOWED
    if role != "superadmin":
        return ResetDecision.LOCKED
    if (confirm or "").strip().lower() != mailbox.id:
        return ResetDecision.UNCONFIRMED
    return ResetDecision.ALLOWED

"""Translated names and explanations of statuses, roles and protocols (built per request)."""

from __future__ import annotations

from .i18n import _


def status_names() -> dict[str, str]:
    return {
        "active": _("Active"),
        "hold": _("Hold"),
        "receive-only": _("Receive only"),
        "disabled": _("Disabled"),
    }


def status_help() -> dict[str, str]:
    return {
        "active": _("Accepts mail; archive software can log in and retrieve it."),
        "hold": _(
            "Suspended: new mail is deferred with a temporary error (451) so the sender keeps"
            " it queued; archive software can still log in and drain the mailbox."
        ),
        "receive-only": _("Accepts mail; logins for retrieval are refused."),
        "disabled": _(
            "New mail is rejected (550, the sender gets a bounce) and logins are refused."
        ),
    }


def role_names() -> dict[str, str]:
    return {
        "superadmin": _("Superadmin"),
        "domain-admin": _("Domain admin"),
        "viewer": _("Viewer"),
    }


def role_help() -> dict[str, str]:
    return {
        "superadmin": _("All domains, admins, the audit log and every setting."),
        "domain-admin": _("Manages mailboxes in the domains assigned below, nothing else."),
        "viewer": _(
            "Read-only: sees the domains assigned below (all domains when none are assigned)."
        ),
    }


def max_age_names() -> dict[str, str]:
    """The choices of storage.policy.MAX_AGE_CHOICES."""
    return {
        "none": _("No maximum age"),
        "3m": _("3 months"),
        "6m": _("6 months"),
        "12m": _("12 months"),
    }


def common() -> dict[str, object]:
    return {
        "status_names": status_names(),
        "status_help": status_help(),
        "role_names": role_names(),
        "role_help": role_help(),
        "max_age_names": max_age_names(),
    }

# ruff: noqa: S105 (action names such as "token.create" are names, not secrets)
"""The one list of audit action names. Every audit entry's `action` is one of these.

Names are `area.verb`, dash-separated (`mailbox.passphrase-change`), and the same
whichever face (console, API, CLI) did the act: the admin actions of this package
write them, and so do the few acts that stay in their face (console sign-in and
sign-out, retrieval logins, maintenance commands).
"""

from __future__ import annotations

import enum


class AuditAction(enum.StrEnum):
    # mailboxes (storage/actions/mailboxes.py, aliases.py)
    MAILBOX_CREATE = "mailbox.create"
    MAILBOX_UPDATE = "mailbox.update"
    MAILBOX_DELETE = "mailbox.delete"
    HAND_OVER = "mailbox.hand-over"  # target: the receiving mailbox
    ROBOT_SET = "mailbox.robot-set"  # storage/actions/robots.py
    ROBOT_CLEAR = "mailbox.robot-clear"
    ALIAS_ADD = "mailbox.alias-add"
    ALIAS_REMOVE = "mailbox.alias-remove"
    MAX_AGE = "mailbox.passphrase-max-age"
    RESET_LOCK_SET = "mailbox.reset-lock-set"
    RESET_LOCK_CLEAR = "mailbox.reset-lock-clear"
    RESET_LOCK_CLEAR_REFUSED = "mailbox.reset-lock-clear-refused"
    # bulk acts (storage/actions/bulk.py): the summary on the bulk reference; each
    # mailbox changed also gets its own mailbox.update / mailbox.delete entry
    MAILBOX_BULK_STATUS = "mailbox.bulk-status"
    MAILBOX_BULK_DELETE = "mailbox.bulk-delete"
    MAILBOX_LIST_EXPORT = "mailbox.list-export"

    # relay targets (storage/actions/relays.py) and relayed copies (gateway/smtp)
    RELAY_ADD = "mailbox.relay-add"
    RELAY_CHANGE = "mailbox.relay-change"
    RELAY_ADD_REFUSED = "mailbox.relay-add-refused"
    RELAY_REMOVE = "mailbox.relay-remove"
    RELAY_MISSED = "mailbox.relay-missed"  # a best-effort copy that did not go out
    # passphrases (storage/actions/passphrases.py)
    PASSPHRASE_CHANGE = "mailbox.passphrase-change"
    PASSPHRASE_CHANGE_FAILED = "mailbox.passphrase-change-failed"
    PASSPHRASE_RESET = "mailbox.passphrase-reset"
    PASSPHRASE_RESET_REFUSED = "mailbox.passphrase-reset-refused"
    PASSPHRASE_RECOVER = "mailbox.passphrase-recover"
    PASSPHRASE_RECOVER_FAILED = "mailbox.passphrase-recover-failed"
    PASSPHRASE_STORED = "mailbox.passphrase-stored"
    PURGE_SEALED = "mailbox.purge-sealed"
    EXPORT_IDENTITY = "mailbox.export-identity"
    # domains (storage/actions/domains.py)
    DOMAIN_ADD = "domain.add"
    DOMAIN_REMOVE = "domain.remove"
    # admins (storage/actions/admins.py)
    ADMIN_CREATE = "admin.create"
    ADMIN_UPDATE = "admin.update"
    ADMIN_DELETE = "admin.delete"
    ADMIN_PASSWORD_RESET = "admin.password-reset"
    ADMIN_PASSWORD_CHANGE = "admin.password-change"
    ADMIN_LANGUAGE = "admin.language"
    TOTP_ENABLE = "admin.totp-enable"
    TOTP_DISABLE = "admin.totp-disable"
    TOTP_RESET = "admin.totp-reset"
    # API and metrics tokens (storage/actions/tokens.py)
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    METRICS_TOKEN_REVEAL = "metrics.token-reveal"
    # fetch sources (storage/actions/sources.py)
    SOURCE_ADD = "source.add"
    SOURCE_UPDATE = "source.update"
    SOURCE_REMOVE = "source.remove"
    SOURCE_RUN = "source.run"
    SOURCE_CHECK = "source.check"
    # acts that stay in their face
    ADMIN_LOGIN = "admin.login"
    ADMIN_LOGIN_FAILED = "admin.login-failed"
    ADMIN_LOGIN_THROTTLED = "admin.login-throttled"
    ADMIN_LOGOUT = "admin.logout"
    ADMIN_SIGNOUT = "admin.signout"
    ADMIN_SIGNOUT_EVERYWHERE = "admin.signout-everywhere"
    RECOVERY_CODE_USED = "admin.recovery-code-used"
    TOTP_REQUIRED_ENROLMENT = "admin.totp-required-enrolment"
    TOTP_REQUIRED_REFUSED = "admin.totp-required-refused"
    MAILBOX_EXPORT = "mailbox.export"
    MAILBOX_IMPORT = "mailbox.import"  # the summary of `gateway mailbox import`
    MAILBOX_RETENTION = "mailbox.retention"
    BACKUP = "backup"
    # retrieval (gateway/login.py: "<protocol>.login" and "<protocol>.login-failed")
    POP3_LOGIN = "pop3.login"
    POP3_LOGIN_FAILED = "pop3.login-failed"
    IMAP_LOGIN = "imap.login"
    IMAP_LOGIN_FAILED = "imap.login-failed"
    POP3_MESSAGE_DAMAGED = "pop3.message-damaged"
    IMAP_MESSAGE_DAMAGED = "imap.message-damaged"
    # maintenance (storage/maintenance)
    FSCK_ADOPT = "fsck.adopt"
    FSCK_QUARANTINE = "fsck.quarantine"
    FSCK_TIGHTEN_MODE = "fsck.tighten-mode"
    FSCK_REMOVE_ROW = "fsck.remove-row"
    FSCK_FIX_COUNTER = "fsck.fix-counter"
    RETENTION_DELETE = "retention.delete"


def login_action(protocol: str, ok: bool) -> AuditAction:
    """The name of a retrieval login's entry: `pop3.login`, `imap.login-failed`..."""
    return AuditAction(f"{protocol}.login" if ok else f"{protocol}.login-failed")


# Names that older versions wrote for the same acts (kept in old audit entries).
RENAMED = {
    "mailbox.change_passphrase": AuditAction.PASSPHRASE_CHANGE,
    "mailbox.reset_passphrase": AuditAction.PASSPHRASE_RESET,
    "mailbox.recover": AuditAction.PASSPHRASE_RECOVER,
    "mailbox.purge_sealed": AuditAction.PURGE_SEALED,
    "mailbox.export_identity": AuditAction.EXPORT_IDENTITY,
    "admin.reset_password": AuditAction.ADMIN_PASSWORD_RESET,
    "admin.disable_totp": AuditAction.TOTP_RESET,
    "admin.token-create": AuditAction.TOKEN_CREATE,
    "admin.token-revoke": AuditAction.TOKEN_REVOKE,
}

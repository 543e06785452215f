"""Every admin action, once: validate → authorise → write → audit, in one transaction.

The console (web/routes), the JSON API (web/routes/api*.py) and the CLI
(gateway/cli) only parse input, call one action and render its result; web calls
`await astore.act(actions.create_mailbox, actor, request)`, the CLI calls the
function. Actions raise the store's errors (storage/errors.py), which each face maps
to its own rendering (a form error, a 4xx JSON body, `Error:` and exit status 1).

- mailboxes.py: create, update (fields, aliases, passphrase policy), delete, and the
  "passphrase stored" acknowledgement
- aliases.py: add and remove an alias
- bulk.py: change the status of many mailboxes, delete the deletable ones, export CSV
- passphrases.py: change, reset (the "no reset" lock), recover, purge sealed mail,
  export the age identity
- relays.py: add or change a relay target (passphrase required), remove one
- domains.py: add and remove a domain
- admins.py: admins, roles, domains, passwords, TOTP, language
- robots.py: set and clear a mailbox's auto-reply robot
- tokens.py: API tokens, revealing the /metrics token
- sources.py: fetch sources (add, update, remove, run now, test the connection)
- audit.py: the one list of audit action names (AuditAction)

ACTIONS lists them all with the faces that offer each; tests/actions checks that the
same act yields the same audit entry from every one of them.
"""

from __future__ import annotations

from . import (
    admins,
    aliases,
    bulk,
    domains,
    mailboxes,
    passphrases,
    relays,
    robots,
    sources,
    tokens,
)
from .admins import (
    AdminName,
    ChangeOwnPassword,
    CreateAdmin,
    DisableOwnTotp,
    EnableTotp,
    ResetAdminPassword,
    SetLanguage,
    UpdateAdmin,
    change_own_password,
    create_admin,
    delete_admin,
    disable_own_totp,
    enable_totp,
    reset_admin_password,
    reset_totp,
    set_language,
    update_admin,
)
from .aliases import AliasChange, add_alias, remove_alias
from .audit import AuditAction
from .base import REGISTRY, ActionSpec, Actor
from .bulk import (
    BulkDelete,
    BulkStatus,
    ExportMailboxes,
    bulk_delete,
    bulk_status,
    export_mailboxes,
    plan_bulk_delete,
)
from .domains import DomainName, add_domain, remove_domain
from .mailboxes import (
    IMPORT_KEY,
    KEEP,
    PASSPHRASE_UNCONFIRMED,
    AcknowledgePassphrase,
    CreateMailbox,
    DeleteMailbox,
    UpdateMailbox,
    acknowledge_passphrase,
    create_mailbox,
    delete_mailbox,
    update_mailbox,
)
from .passphrases import (
    ChangePassphrase,
    ExportIdentity,
    PurgeSealed,
    RecoverPassphrase,
    ResetPassphrase,
    change_passphrase,
    export_identity,
    purge_sealed,
    recover_passphrase,
    reset_passphrase,
)
from .relays import AddRelayTarget, RemoveRelayTarget, add_relay_target, remove_relay_target
from .robots import ClearRobot, SetRobot, clear_robot, set_robot
from .sources import (
    AddSource,
    CheckSource,
    RunSource,
    SourceRef,
    UpdateSource,
    add_source,
    check_source,
    remove_source,
    run_source,
    update_source,
)
from .tokens import (
    CreateToken,
    RevealMetricsToken,
    RevokeToken,
    create_token,
    reveal_metrics_token,
    revoke_token,
)

ACTIONS: dict[str, ActionSpec] = dict(sorted(REGISTRY.items()))

__all__ = [
    "sources",
    "update_source",
    "run_source",
    "check_source",
    "remove_source",
    "add_source",
    "UpdateSource",
    "SourceRef",
    "RunSource",
    "CheckSource",
    "ACTIONS",
    "IMPORT_KEY",
    "KEEP",
    "PASSPHRASE_UNCONFIRMED",
    "AcknowledgePassphrase",
    "AddRelayTarget",
    "AddSource",
    "ActionSpec",
    "Actor",
    "AdminName",
    "AliasChange",
    "AuditAction",
    "BulkDelete",
    "BulkStatus",
    "ChangeOwnPassword",
    "ChangePassphrase",
    "ClearRobot",
    "CreateAdmin",
    "CreateMailbox",
    "CreateToken",
    "DeleteMailbox",
    "DisableOwnTotp",
    "DomainName",
    "EnableTotp",
    "ExportMailboxes",
    "ExportIdentity",
    "PurgeSealed",
    "RecoverPassphrase",
    "RemoveRelayTarget",
    "ResetAdminPassword",
    "ResetPassphrase",
    "RevealMetricsToken",
    "RevokeToken",
    "SetLanguage",
    "SetRobot",
    "UpdateAdmin",
    "UpdateMailbox",
    "acknowledge_passphrase",
    "add_alias",
    "add_domain",
    "add_relay_target",
    "admins",
    "aliases",
    "bulk",
    "bulk_delete",
    "bulk_status",
    "change_own_password",
    "change_passphrase",
    "clear_robot",
    "create_admin",
    "create_mailbox",
    "create_token",
    "delete_admin",
    "delete_mailbox",
    "disable_own_totp",
    "domains",
    "enable_totp",
    "export_identity",
    "export_mailboxes",
    "mailboxes",
    "passphrases",
    "plan_bulk_delete",
    "purge_sealed",
    "recover_passphrase",
    "remove_alias",
    "remove_domain",
    "remove_relay_target",
    "relays",
    "reset_admin_password",
    "reset_passphrase",
    "reset_totp",
    "reveal_metrics_token",
    "revoke_token",
    "robots",
    "set_language",
    "set_robot",
    "tokens",
    "update_admin",
    "update_mailbox",
]

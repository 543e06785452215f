"""OAuth2 access tokens for IMAP sources (XOAUTH2), kept in memory only.

Not implemented yet: a source with `--oauth2` stores its credentials (sealed) and each
run fails with a clear error (cause "auth"), so nothing is fetched and nothing lost.
"""

from __future__ import annotations

from storage.sources import SourceSettings

from .tls import FetchError


def access_token(settings: SourceSettings, secret: dict[str, str]) -> str:
    raise FetchError(
        "auth",
        f"OAuth2 sign-in ({settings.auth}) is not supported by this version yet:"
        " use an app password (--password-file)",
    )

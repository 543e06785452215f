"""OAuth2 access tokens for IMAP sources (SASL XOAUTH2), kept in this process's memory only.

- `office365`: the client-credentials flow with msal (tenant id, client id, client
  secret; scope https://outlook.office365.com/.default). The app needs the
  IMAP.AccessAsApp application permission and Exchange access to the mailbox
  (README: Fetch sources).
- `gmail`: a refresh token exchanged with google-auth (client id, client secret,
  refresh token; scope https://mail.google.com/).

The credentials may also name the token service (`authority` for Office 365: an OIDC
authority URL; `token_uri` for Gmail): for sovereign clouds, and for the test suite's
local provider, so the real libraries run against it. Access tokens are never stored:
each process caches them until shortly before they expire.
"""

from __future__ import annotations

import datetime
import threading
import time
from typing import Any

from storage.sources import SourceSettings

from .tls import FetchError

OFFICE365_SCOPE = "https://outlook.office365.com/.default"
GMAIL_SCOPE = "https://mail.google.com/"
GMAIL_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
_EARLY = 60.0  # renew this many seconds before the provider's expiry
_cache: dict[tuple[str, ...], tuple[str, float]] = {}
_lock = threading.Lock()


def access_token(settings: SourceSettings, secret: dict[str, str]) -> str:
    """A current access token for the source's account; FetchError("auth") otherwise."""
    key = (settings.auth, *(secret.get(k, "") for k in sorted(secret)))
    with _lock:
        cached = _cache.get(key)
    if cached and cached[1] > time.time():
        return cached[0]
    if settings.auth == "office365":
        token, lifetime = _office365(secret)
    elif settings.auth == "gmail":
        token, lifetime = _gmail(secret)
    else:
        raise FetchError("auth", f"unknown OAuth2 provider {settings.auth}")
    with _lock:
        _cache[key] = (token, time.time() + max(0.0, lifetime - _EARLY))
    return token


def forget_tokens() -> None:
    """Drop every cached access token (after a refused login, and for tests)."""
    with _lock:
        _cache.clear()


def _office365(secret: dict[str, str]) -> tuple[str, float]:
    import msal

    authority = secret.get("authority")
    try:
        if authority:
            app = msal.ConfidentialClientApplication(
                secret["client_id"],
                client_credential=secret["client_secret"],
                oidc_authority=authority,
                instance_discovery=False,
                token_cache=msal.TokenCache(),
            )
        else:
            app = msal.ConfidentialClientApplication(
                secret["client_id"],
                client_credential=secret["client_secret"],
                authority=f"https://login.microsoftonline.com/{secret['tenant_id']}",
                token_cache=msal.TokenCache(),
            )
        result: dict[str, Any] = app.acquire_token_for_client(scopes=[OFFICE365_SCOPE])
    except Exception as exc:  # network, discovery: msal raises many kinds
        raise FetchError("auth", f"office365 token request failed ({type(exc).__name__})") from None
    if "access_token" not in result:
        reason = str(result.get("error") or "no token")
        raise FetchError("auth", f"office365 refused the token request: {reason}")
    return result["access_token"], float(result.get("expires_in") or 300)


def _gmail(secret: dict[str, str]) -> tuple[str, float]:
    from google.auth.exceptions import GoogleAuthError
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    credentials = Credentials(
        None,
        refresh_token=secret["refresh_token"],
        client_id=secret["client_id"],
        client_secret=secret["client_secret"],
        token_uri=secret.get("token_uri") or GMAIL_TOKEN_URI,
        scopes=[GMAIL_SCOPE],
    )
    try:
        credentials.refresh(Request())
    except GoogleAuthError as exc:
        reason = str(exc.args[0]).split(":", 1)[0] if exc.args else type(exc).__name__
        raise FetchError("auth", f"gmail refused the token refresh: {reason[:100]}") from None
    except Exception as exc:
        raise FetchError("auth", f"gmail token refresh failed ({type(exc).__name__})") from None
    expiry = credentials.expiry  # naive UTC
    lifetime = 300.0
    if expiry is not None:
        lifetime = expiry.replace(tzinfo=datetime.UTC).timestamp() - time.time()
    return str(credentials.token), lifetime

"""Access levels per route, domain scope, CSRF, cross-site refusal and response headers.

Every handler declares who may call it with `@access(level)`:

- ``public``: anyone (sign-in page, /healthz, static files, the OpenAPI document);
- ``viewer``: any signed-in admin, read-only;
- ``self``: any signed-in admin acting on their own account (language, password, TOTP,
  API tokens, sign out) — the only writes a viewer may make;
- ``domain-admin``: writes inside the admin's assigned domains (checked again per
  domain by the handler with `require_domain`);
- ``superadmin``: everything else (domains, admins, audit log).

A route without a declaration is refused (fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from storage import policy
from storage.models import Admin

LEVELS = ("public", "viewer", "self", "domain-admin", "superadmin")
ROLE_RANK = {"viewer": 1, "domain-admin": 2, "superadmin": 3}
LEVEL_RANK = {"viewer": 1, "self": 1, "domain-admin": 2, "superadmin": 3}
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# One year, this host only: includeSubDomains would also force HTTPS on every other
# service under the gateway's domain, which the gateway cannot know about.
HSTS = "max-age=31536000"

Handler = Callable[..., Any]


def access(level: str) -> Callable[[Handler], Handler]:
    """Declare the minimum access level of a route handler."""
    if level not in LEVELS:
        raise ValueError(f"unknown access level {level!r}")

    def mark(handler: Handler) -> Handler:
        # A mark on the function object itself, read back with getattr by route_level().
        handler.access_level = level  # type: ignore[attr-defined]
        return handler

    return mark


def route_level(request: web.Request) -> str | None:
    """The declared level of the matched route; static files are public."""
    route = request.match_info.route
    if isinstance(route.resource, web.StaticResource):
        return "public"
    return getattr(route.handler, "access_level", None)


def allowed(admin: Admin, level: str, method: str) -> bool:
    if level == "public":
        return True
    if ROLE_RANK.get(admin.role, 0) < LEVEL_RANK[level]:
        return False
    # A viewer may read anything in scope and write only to its own account.
    return not (admin.role == "viewer" and method in UNSAFE and level != "self")


# --- domain scope -------------------------------------------------------------------
def sees_all_domains(admin: Admin) -> bool:
    return admin.role == "superadmin" or (admin.role == "viewer" and not admin.domains)


def can_see(admin: Admin, domain: str) -> bool:
    return sees_all_domains(admin) or domain in admin.domains


def can_write(admin: Admin, domain: str) -> bool:
    """The one rule of storage/policy.py (the store applies it to addresses too)."""
    return policy.may_write_domain(admin, domain)


def require_domain(admin: Admin, domain: str, write: bool = False) -> None:
    """Raise 403 unless `admin` may see (or with write=True, change) `domain`."""
    if not (can_write(admin, domain) if write else can_see(admin, domain)):
        raise web.HTTPForbidden()


# --- CSRF ----------------------------------------------------------------------------
def csrf_token(key: bytes, binding: str) -> str:
    """The CSRF token for a session (or pre-session) secret."""
    if not key:
        raise RuntimeError("the CSRF key is not loaded (the application has not started)")
    return hmac.new(key, b"csrf|" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_valid(key: bytes, binding: str | None, presented: str | None) -> bool:
    if not binding or not presented:
        return False
    return hmac.compare_digest(csrf_token(key, binding), presented)


def cross_site(request: web.Request) -> bool:
    """True when the browser says the request comes from another site or origin."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    # "null" says nothing: with Referrer-Policy no-referrer, browsers send Origin: null even
    # for same-origin form posts. Sec-Fetch-Site (above) and the CSRF token still decide.
    if origin is None or origin == "null":
        return False
    return urlsplit(origin).netloc.lower() != (request.host or "").lower()


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: security headers on every response, errors included."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.secure:  # TLS on this connection; never over plain HTTP (web.plain_http)
        response.headers["Strict-Transport-Security"] = HSTS
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Pragma", "no-cache")

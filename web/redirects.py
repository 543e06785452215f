"""Where the console may send a browser after sign-in: a same-origin path, or "/".

Browsers drop tab, CR and LF anywhere in a URL and read "\\" as "/", so "/\\t/evil.example"
or "/\\evil.example" arrive as "//evil.example": a link to another site. aiohttp's own
URL handling drops the tab too before it writes the Location header. So a target is
accepted only when it, every percent-decoding of it, and the exact text that will be
sent in Location are all a plain path: one leading "/" not followed by "/" or "\\", no
backslash, no control or invisible character, no "." or ".." segment, no scheme, no host.
Anything else becomes "/".
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from yarl import URL

HOME = "/"
_MAX_LENGTH = 2048
_MAX_DECODINGS = 4  # "%25252f..." nested deeper than this is refused, not unwrapped


def safe_next(target: str) -> str:
    """`target` as it will be sent in Location if it is a same-origin path, else "/"."""
    if not target or len(target) > _MAX_LENGTH:
        return HOME
    try:
        sent = str(URL(target))
    except ValueError:
        return HOME
    if all(_is_plain_path(form) for form in _decodings(target) + _decodings(sent)):
        return sent
    return HOME


def login_url(path: str) -> str:
    """The sign-in page that comes back to `path` (quoted: it is a query value)."""
    return f"/login?next={quote(path, safe='/')}"


def _decodings(value: str) -> list[str]:
    """`value` and each successive percent-decoding of it, plus "" (never a plain path)
    when it is still changing after _MAX_DECODINGS rounds."""
    forms = [value]
    for _ in range(_MAX_DECODINGS):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            return forms
        forms.append(decoded)
    return [*forms, ""]


def _is_plain_path(value: str) -> bool:
    if not value.startswith("/") or value[1:2] in ("/", "\\"):
        return False
    # isprintable() is False for control, format, private and separator characters
    # (tab, CR, LF, NUL, DEL, U+2028, no-break space...), True only for the plain space.
    if "\\" in value or not value.isprintable():
        return False
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return False
    return not any(segment in (".", "..") for segment in parts.path.split("/"))

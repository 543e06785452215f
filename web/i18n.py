"""Languages (English and German), Babel catalogs, and locale-aware formatting.

Catalogs live in web/locale/<lang>/LC_MESSAGES/messages.po with the compiled .mo
beside them. A missing or stale .mo is compiled from the .po in memory at start, so a
fresh clone works without a build step. Regenerate the files with
`python -m web.i18n compile` (and `extract` to refresh messages.pot).
"""

from __future__ import annotations

import contextvars
import datetime
import io
import sys
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from storage import sizes
from storage.errors import StoreError

LANGUAGES = {"en": "English", "de": "Deutsch"}
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT)
_catalogs: dict[str, NullTranslations] = {}


def _load(lang: str) -> NullTranslations:
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    po, mo = folder / "messages.po", folder / "messages.mo"
    if not po.exists():
        return NullTranslations()
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as fh:
            return Translations(fh, domain="messages")
    return Translations(io.BytesIO(compile_po(po)), domain="messages")


def compile_po(po: Path) -> bytes:
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=po.parent.parent.name)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def translations(lang: str) -> NullTranslations:
    if lang not in _catalogs:
        _catalogs[lang] = _load(lang) if lang != DEFAULT else NullTranslations()
    return _catalogs[lang]


def set_language(lang: str) -> None:
    _current.set(lang if lang in LANGUAGES else DEFAULT)


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ungettext(singular, plural, n)


_ = gettext


def store_error_keywords() -> dict[str, None]:
    """Babel keywords that find store error templates: the StoreError class names.

    `raise AlreadyExists("address {address} is already in use", address=...)` in
    storage/ puts its template in the catalogue (see `python -m web.i18n extract`).
    Only the classes of storage/errors.py, the ones the console shows: the set must not
    depend on what else was imported (the CLI's BackupError, say)."""
    found: dict[str, None] = {}
    pending = [StoreError]
    while pending:
        cls = pending.pop()
        if cls.__module__ == StoreError.__module__:
            found[cls.__name__] = None
            pending.extend(cls.__subclasses__())
    return found


def error_text(exc: StoreError) -> str:
    """A store error in the console's language: its template translated, then filled in.

    str(exc), the English sentence, is what the CLI and the API show; it is also the
    fallback for an error raised without a template or a translation that does not fit.
    """
    if not exc.template:
        return str(exc)
    try:
        return gettext(exc.template).format(**exc.params)
    except (KeyError, IndexError, ValueError):
        return str(exc)


def negotiate(accept_language: str) -> str:
    """Pick en or de from an Accept-Language header."""
    wanted = []
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag:
            wanted.append(tag)
    best = Locale.negotiate(wanted, list(LANGUAGES), sep="_") if wanted else None
    return str(best) if best else DEFAULT


def format_time(ts: float | None) -> str:
    if ts is None:
        return "—"
    moment = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    return format_datetime(moment, "yyyy-MM-dd HH:mm", locale=_current.get()) + " UTC"


def format_bytes(size: int) -> str:
    """ "1.5 GiB", "1 GiB", "512 B" (storage/sizes.py), in the current language's digits."""
    number, unit = sizes.scaled(size)
    return f"{format_decimal(number, '0.##', locale=_current.get())} {unit}"  # < 1024: no grouping


def format_number(n: int) -> str:
    return format_decimal(n, locale=_current.get())


def _main(argv: list[str]) -> int:  # pragma: no cover - developer tool
    import subprocess

    if argv[:1] == ["extract"]:
        keywords = [f"-k{name}" for name in store_error_keywords()]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "babel.messages.frontend",
                "extract",
                "-F",
                str(LOCALE_DIR / "babel.cfg"),
                *keywords,
                "-o",
                str(LOCALE_DIR / "messages.pot"),
                "--no-location",
                "--sort-output",
                str(LOCALE_DIR.parent),
                str(LOCALE_DIR.parent.parent / "storage"),  # store error templates
            ],
            check=True,
        )
        return 0
    if argv[:1] == ["compile"]:
        for lang in LANGUAGES:
            po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
            if po.exists():
                po.with_suffix(".mo").write_bytes(compile_po(po))
        return 0
    print("usage: python -m web.i18n extract|compile", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))

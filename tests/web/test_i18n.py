"""The German catalog is complete, up to date with the sources, and its .mo is fresh."""

from __future__ import annotations

import importlib
import io
import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import storage
from storage.errors import AlreadyExists
from web import i18n

LOCALE = Path(i18n.__file__).parent / "locale"
STORAGE = Path(storage.__file__).parent
PO = LOCALE / "de" / "LC_MESSAGES" / "messages.po"


def source_ids() -> set:
    """Every string the console shows: its own, and the store's error templates."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {**DEFAULT_KEYWORDS, **i18n.store_error_keywords()}
    found = set()
    for directory in (LOCALE.parent, STORAGE):
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(directory), method_map, options, keywords=keywords
        ):
            found.add(message if isinstance(message, str) else tuple(message))
    return found


def catalog_ids(catalog) -> set:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


def test_template_is_up_to_date_with_the_sources():
    with (LOCALE / "messages.pot").open("rb") as fh:
        pot = read_po(fh)
    missing = source_ids() - catalog_ids(pot)
    assert not missing, (
        f"run `python -m web.i18n extract`; new strings: {sorted(map(str, missing))[:5]}"
    )


def test_every_string_has_a_german_translation():
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="de")
    assert catalog_ids(catalog) >= source_ids()
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), message.id
        assert "fuzzy" not in message.flags, message.id
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for placeholder in ("%(name)s", "%(num)d", "%(n)d", "%(value)s", "%(host)s", "%(port)s"):
            if any(placeholder in i for i in ids):
                assert all(placeholder in s for s in strings), (message.id, placeholder)
        braces = {b for i in ids for b in re.findall(r"\{[^{}]*\}", i)}  # store templates
        for translated in strings:
            assert set(re.findall(r"\{[^{}]*\}", translated)) == braces, message.id


def test_compiled_catalog_matches_the_po():
    with PO.with_suffix(".mo").open("rb") as fh:
        committed = read_mo(fh)
    fresh = read_mo(io.BytesIO(i18n.compile_po(PO)))

    def pairs(catalog) -> dict:
        return {str(m.id): str(m.string) for m in catalog}

    assert pairs(committed) == pairs(fresh)


def test_german_translations_are_used():
    i18n.set_language("de")
    try:
        assert i18n.gettext("Sign in") == "Anmelden"
        assert i18n.ngettext("%(num)d mailbox", "%(num)d mailboxes", 2) == "%(num)d Postfächer"
        assert i18n.format_bytes(1536) == "1,5 KiB"
    finally:
        i18n.set_language("en")
    assert i18n.gettext("Sign in") == "Sign in"
    assert i18n.format_bytes(1536) == "1.5 KiB"


def test_negotiation():
    assert i18n.negotiate("de-AT,de;q=0.9") == "de"
    assert i18n.negotiate("fr-FR, en;q=0.5") == "en"
    assert i18n.negotiate("") == "en"


def test_store_errors_are_translated_and_keep_their_english_str():
    exc = AlreadyExists("address {address} is already in use", address="a@b.test")
    assert str(exc) == "address a@b.test is already in use"  # the CLI and the API
    i18n.set_language("de")
    try:
        assert i18n.error_text(exc) == "Adresse a@b.test ist bereits vergeben"
        assert i18n.error_text(AlreadyExists("not in the catalogue")) == "not in the catalogue"
    finally:
        i18n.set_language("en")
    assert i18n.error_text(exc) == "address a@b.test is already in use"


def test_the_error_keywords_do_not_depend_on_what_was_imported():
    """Extraction (`python -m web.i18n extract`, a fresh process) and this test module see
    the same keywords: the classes of storage/errors.py. The CLI-only BackupError of
    storage/maintenance is not one of them, whether or not it was imported."""
    importlib.import_module("storage.maintenance.restore")  # defines BackupError(StoreError)
    keywords = set(i18n.store_error_keywords())
    assert "BackupError" not in keywords
    assert {"StoreError", "AlreadyExists", "OutOfScope", "DomainInUse", "SealError"} <= keywords

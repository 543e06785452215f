"""Settings declares its sections for the type checker: the list must match the schema."""

from __future__ import annotations

from typing import get_type_hints

from gateway.config import Settings, load_settings
from gateway.config.loader import _Section
from gateway.config.schema import OPTIONS


def test_settings_declares_exactly_the_schema_sections():
    declared = {name for name, hint in get_type_hints(Settings).items() if hint is _Section}
    assert declared == {option.section for option in OPTIONS}


def test_every_option_reads_as_a_section_attribute():
    settings = load_settings(None, environ={})
    for option in OPTIONS:
        assert getattr(getattr(settings, option.section), option.name) == settings[option.key]

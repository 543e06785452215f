"""Docs that tests keep honest: README documents every option, link and make target."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.config.docs import default_text
from gateway.config.schema import OPTIONS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\b.*?(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(0)


def test_every_config_option_is_documented_with_its_default_and_env_var():
    section = _section("Configuration")
    for option in OPTIONS:
        row = next((line for line in section.splitlines() if f"| `{option.key}` |" in line), None)
        assert row is not None, f"{option.key} is not in README's configuration table"
        assert f"`{default_text(option)}`" in row, f"{option.key}: default differs in README"
        assert f"`{option.env}`" in row and option.doc in row, option.key


def test_readme_shows_the_two_commands_and_ci_calls_make_test():
    assert "make run" in README and "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_relative_links_in_readme_point_to_files():
    for target in re.findall(r"\]\(((?!https?:|#)[^)]+)\)", README):
        assert (ROOT / target).exists(), f"README links to missing {target}"


def test_every_make_target_in_readme_exists():
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"\bmake (\w+)", README)):
        assert re.search(rf"^{target}:", makefile, re.M), f"make {target} is not in the Makefile"

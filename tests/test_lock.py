"""The lock files pin what pyproject.toml asks for, with hashes, at one set of versions.

`make lock` writes them; these tests fail when pyproject.toml changed without it (or a
lock was edited by hand), before an install on a fresh machine would.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
TEST = [Requirement(r) for r in PROJECT["optional-dependencies"]["test"]]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)((?:\s*;[^\\]*)?)\s*\\$")


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """{name: (version, number of hashes)} of a lock file written by `make lock`."""
    found: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / lock).read_text().splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match.group(1))
            assert name not in found, f"{lock} pins {name} twice"
            found[name] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
        elif line and not line.startswith(("#", " ")):
            pytest.fail(f"{lock}: unexpected line {line!r} (regenerate it with make lock)")
    return found


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [("requirements.lock", RUNTIME), ("requirements-test.lock", RUNTIME + TEST)],
)
def test_the_lock_pins_every_dependency_within_its_range(lock: str, requirements) -> None:
    locked = pins(lock)
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{lock} lacks {requirement}: run make lock"
        version = locked[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, outside pyproject's {requirement}: run make lock"
        )


def test_every_pin_has_hashes_and_runtime_versions_are_the_tested_ones() -> None:
    runtime, tested = pins("requirements.lock"), pins("requirements-test.lock")
    for lock, locked in (("requirements.lock", runtime), ("requirements-test.lock", tested)):
        unhashed = sorted(name for name, (_, hashes) in locked.items() if hashes == 0)
        assert not unhashed, f"{lock} has no hash for {unhashed}"
    differing = {
        name: (version, tested.get(name, ("absent",))[0])
        for name, (version, _) in runtime.items()
        if tested.get(name, ("absent",))[0] != version
    }
    assert not differing, f"requirements.lock differs from the tested versions: {differing}"
    assert not {canonicalize_name(r.name) for r in TEST} & set(runtime), (
        "requirements.lock (the image's) holds test-only packages"
    )

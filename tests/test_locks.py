"""The locks cover what the project asks for: every requirement of pyproject.toml (and of
requirements-rasa.txt) is pinned, with hashes, in its lock — a dependency added without
`make lock` fails here rather than on the next newcomer's machine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _pins(lock: Path) -> dict[str, str]:
    """name → pinned version; every pin must carry at least one hash."""
    pins: dict[str, str] = {}
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text(encoding="utf-8"))
    for entry in entries:
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)", entry)
        if match:
            assert "--hash=sha256:" in entry, f"{match.group(1)} has no hash in {lock.name}"
            pins[_name(match.group(1))] = match.group(3)
    return pins


def _requirements(path: Path) -> list[str]:
    if path.suffix == ".toml":
        project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
        return [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    lines = (line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


@pytest.mark.parametrize(
    ("source", "lock"),
    [
        ("pyproject.toml", "requirements/app.lock"),
        ("requirements-rasa.txt", "requirements/rasa.lock"),
    ],
)
def test_every_requirement_is_pinned_within_its_range(source: str, lock: str) -> None:
    pins = _pins(ROOT / lock)
    assert len(pins) > 50
    for text in _requirements(ROOT / source):
        requirement = Requirement(text)
        name = _name(requirement.name)
        assert name in pins, f"{name} is not in {lock}: run make lock"
        specifier: SpecifierSet = requirement.specifier
        assert specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} in {lock} is outside {specifier}: run make lock"
        )


def test_the_rasa_lock_is_a_training_input() -> None:
    from bot.training import INPUTS

    assert "requirements/rasa.lock" in INPUTS

"""The words of bot/places that live in data: ``words.yml`` (read) and ``labels.yml`` (written)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bot.wording import load

HERE = Path(__file__).resolve().parent
WORDS = HERE / "words.yml"
LABELS = HERE / "labels.yml"


def _strings(name: str) -> frozenset[str]:
    return frozenset(str(word) for word in load(WORDS)[name])


@cache
def unit_words() -> dict[tuple[str, ...], str]:
    """Unit words as folded tokens → the folded division type they name."""
    table: dict[str, list[str]] = load(WORDS)["unit_words"]
    return {
        tuple(str(spelling).split()): unit
        for unit, spellings in table.items()
        for spelling in spellings
    }


@cache
def aliases() -> dict[str, str]:
    """Other names people use for a province (old or current) → the name the data uses."""
    table: dict[str, str] = load(WORDS)["aliases"]
    return {str(alias): str(name) for alias, name in table.items()}


@cache
def everyday_names() -> frozenset[str]:
    """Folded names that are also everyday words: in a sentence only with a unit word."""
    return _strings("everyday_names")


@cache
def fillers() -> frozenset[str]:
    """Folded "ở/tại/thuộc": skipped between a name and its qualifier."""
    return _strings("fillers")


@cache
def before_place() -> frozenset[str]:
    """Folded words after which a name in a sentence is meant as a place (fillers included)."""
    return fillers() | _strings("before_place")


@cache
def towards() -> frozenset[str]:
    """Folded words before the place someone travels to ("về", "đến", "đi"…)."""
    return _strings("towards")


@cache
def leaving() -> frozenset[str]:
    """Folded words before the place someone travels from ("từ")."""
    return _strings("leaving")


def label(kind: str, **values: str) -> str:
    """How an old unit is named to people (``old_ward``, ``old_district``, ...)."""
    return str(load(LABELS)[kind]).format(**values)


def short_district(name: str) -> str:
    """A district's name with its type shortened ("Thành phố Lạng Sơn" → "TP Lạng Sơn")."""
    short_forms: dict[str, str] = load(LABELS)["short_forms"]
    for long, short in short_forms.items():
        if name.startswith(long):
            return str(short) + name[len(long) :]
    return name

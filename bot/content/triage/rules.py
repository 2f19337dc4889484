"""The triage rules: triage.yml (next to this module) loaded and compiled once."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.content.triage.readings import Readers, compile_readers
from bot.content.triage.words import Phrase, phrase, phrases
from bot.text import normalize

DATA_FILE = Path(__file__).with_name("triage.yml")

# Kinds of entry.
SIGN = "sign"
SYMPTOM = "symptom"
RISK = "risk"


@dataclass(frozen=True)
class Entry:
    """One danger sign, common symptom or risk group and the phrases that name it."""

    kind: str  # SIGN | SYMPTOM | RISK
    code: str
    child_only: bool
    patterns: tuple[Phrase, ...]
    exclude: tuple[Phrase, ...]


@dataclass(frozen=True)
class Rules:
    """Everything triage.yml says, ready to match."""

    entries: tuple[Entry, ...]
    labels: dict[str, str]  # sign and risk group code → label
    negations: tuple[Phrase, ...]
    fillers: frozenset[str]
    breakers: tuple[Phrase, ...]
    carriers: tuple[Phrase, ...]
    relief: tuple[Phrase, ...]
    relief_fillers: frozenset[str]
    spellings: dict[Phrase, tuple[frozenset[str], ...]]  # per word: accepted raw spellings
    readings: dict[str, str]
    readers: Readers


def _entries(data: Mapping[str, Any], section: str, kind: str) -> tuple[Entry, ...]:
    items = data.get(section)
    if not isinstance(items, list):
        raise ValueError(f"triage.yml: {section} must be a list")
    entries = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise ValueError(f"triage.yml: every item of {section} needs a code")
        entries.append(
            Entry(
                kind=kind,
                code=item["code"],
                child_only=bool(item.get("child_only", False)),
                patterns=phrases(item, "patterns"),
                exclude=phrases(item, "exclude"),
            )
        )
    return tuple(entries)


def _spellings(data: Mapping[str, Any]) -> dict[Phrase, tuple[frozenset[str], ...]]:
    spellings: dict[Phrase, tuple[frozenset[str], ...]] = {}
    for pattern, allowed in (data.get("spellings") or {}).items():
        words = phrase(str(pattern))
        forms = [normalize(str(form)).lower().split() for form in allowed]
        if any(len(form) != len(words) for form in forms):
            raise ValueError(f"triage.yml: spellings of {pattern!r} must have as many words")
        spellings[words] = tuple(frozenset(form[i] for form in forms) for i in range(len(words)))
    return spellings


@functools.cache
def rules() -> Rules:
    """The rules of DATA_FILE, read on first use."""
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or str(data.get("version")) != "1":
        raise ValueError('triage.yml: expected a mapping with version "1"')
    signs = _entries(data, "signs", SIGN)
    symptoms = _entries(data, "symptoms", SYMPTOM)
    risks = _entries(data, "risk_groups", RISK)
    labels: dict[str, str] = {}
    for section in ("signs", "risk_groups"):
        for item in data[section]:
            labels[item["code"]] = unicodedata.normalize("NFC", str(item["label"]))
    spellings = _spellings(data)
    readings = data.get("readings")
    words = data.get("reading_words")
    if not isinstance(readings, dict) or not isinstance(words, dict):
        raise ValueError("triage.yml: readings and reading_words must be mappings")
    return Rules(
        entries=signs + symptoms + risks,
        labels=labels,
        negations=phrases(data, "negations"),
        fillers=frozenset(w for p in phrases(data, "negation_fillers") for w in p),
        breakers=phrases(data, "negation_breakers"),
        carriers=phrases(data, "negation_carriers"),
        relief=phrases(data, "relief_after"),
        relief_fillers=frozenset(w for p in phrases(data, "relief_fillers") for w in p),
        spellings=spellings,
        readings={
            name: unicodedata.normalize("NFC", str(label)) for name, label in readings.items()
        },
        readers=compile_readers(words),
    )

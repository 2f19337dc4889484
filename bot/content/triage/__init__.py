"""Danger-sign triage of a free-text message: signs, risk groups and readings → call 115 or not."""

# One job per module: words (phrases of triage.yml), readings (numbers), rules (triage.yml
# loaded), matching (signs in clauses, negation, relief), thresholds (limits, from settings),
# outcome (the Triage result), assessment (the decision).

from __future__ import annotations

from bot.content.triage.assessment import CHILD, ELDERLY, assess
from bot.content.triage.outcome import EMERGENCY, HOME_CARE, URGENT, Triage
from bot.content.triage.rules import DATA_FILE
from bot.content.triage.thresholds import DEFAULT_THRESHOLDS, Thresholds

__all__ = [
    "CHILD",
    "DATA_FILE",
    "DEFAULT_THRESHOLDS",
    "ELDERLY",
    "EMERGENCY",
    "HOME_CARE",
    "URGENT",
    "Thresholds",
    "Triage",
    "assess",
]

"""Where readings cross into emergency or urgent: the configurable ones come from settings."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings

# Fixed by the rules, not settings (Bộ Y tế guidance).
FEVER_MEDICINE_FROM = 38.5  # paracetamol advice from this temperature
FEVER_FROM = 37.5  # a fever (Bộ Y tế: over 37.5 °C)
HIGH_FEVER_FROM = 39.5  # high fever: seek care today
ELDERLY_FROM_AGE = 60
CHILD_UP_TO_AGE = 12


@dataclass(frozen=True)
class Thresholds:
    """The limits one assessment uses; ``from_settings`` builds them (defaults: bot.settings)."""

    spo2_below: int  # SpO2 below this → call 115 (home care only with SpO2 ≥ 96 %)
    spo2_below_at_risk: int  # lower threshold to seek care for risk groups
    breaths_above: int  # adult breaths/min above this → 115
    breaths_above_at_risk: int  # QĐ 4038: home care only with ≤ 20/min
    fever_medicine_from: float
    fever_from: float
    high_fever_from: float
    elderly_from_age: int
    child_up_to_age: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The settings' SpO2 and breathing limits with the fixed temperature and age ones."""
        return cls(
            spo2_below=settings.triage_spo2_below,
            spo2_below_at_risk=settings.triage_spo2_below_at_risk,
            breaths_above=settings.triage_breaths_above,
            breaths_above_at_risk=settings.triage_breaths_above_at_risk,
            fever_medicine_from=FEVER_MEDICINE_FROM,
            fever_from=FEVER_FROM,
            high_fever_from=HIGH_FEVER_FROM,
            elderly_from_age=ELDERLY_FROM_AGE,
            child_up_to_age=CHILD_UP_TO_AGE,
        )


# The defaults of bot.settings (not the environment): what ``assess`` uses unless told.
DEFAULT_THRESHOLDS = Thresholds.from_settings(Settings())

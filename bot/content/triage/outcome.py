"""The result of a triage: its level, what was found, and the reasons in Vietnamese."""

from __future__ import annotations

from dataclasses import dataclass

from bot.content.triage.rules import rules
from bot.content.triage.thresholds import DEFAULT_THRESHOLDS, Thresholds

EMERGENCY = "emergency"
URGENT = "urgent"
HOME_CARE = "home_care"


@dataclass(frozen=True)
class Triage:
    """What a message says about the person's condition, and how urgent it is."""

    level: str  # EMERGENCY | URGENT | HOME_CARE
    signs: tuple[str, ...]  # codes of danger signs found, in rule order
    risk_groups: tuple[str, ...]  # codes found, in rule order
    spo2: int | None
    temperature: float | None
    breaths_per_minute: int | None
    fever_medicine: bool  # temperature >= fever_medicine_from
    symptoms: tuple[str, ...] = ()  # codes of common symptoms found, in rule order
    thresholds: Thresholds = DEFAULT_THRESHOLDS

    @property
    def at_risk(self) -> bool:
        return bool(self.risk_groups)

    def reasons(self) -> list[str]:
        """Vietnamese labels of what made it emergency or urgent: signs, then readings."""
        loaded = rules()
        limits = self.thresholds
        found = [loaded.labels[code] for code in self.signs]
        if self.spo2 is not None and (
            self.spo2 < limits.spo2_below
            or (self.at_risk and self.spo2 < limits.spo2_below_at_risk)
        ):
            found.append(loaded.readings["spo2"].format(value=self.spo2))
        if (
            self.breaths_per_minute is not None
            and self.breaths_per_minute > limits.breaths_above_at_risk
        ):
            found.append(loaded.readings["breaths"].format(value=self.breaths_per_minute))
        if self.temperature is not None and (
            self.temperature >= limits.high_fever_from
            or (self.at_risk and self.temperature >= limits.fever_from)
        ):
            value = f"{self.temperature:g}".replace(".", ",")  # Vietnamese decimal comma
            found.append(loaded.readings["temperature"].format(value=value))
        return found

    def risk_labels(self) -> list[str]:
        """Vietnamese labels of the risk groups found."""
        labels = rules().labels
        return [labels[code] for code in self.risk_groups]

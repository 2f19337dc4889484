"""The decision: danger signs, risk groups and readings of one message → call 115 or not."""

# Rules (Bộ Y tế guidance 2020–2022; QĐ 4038/QĐ-BYT of 21/8/2021 allowed home care only for
# mild cases with breathing ≤ 20/min and SpO2 ≥ 96 %):
#
# - EMERGENCY (call 115 now): any danger sign (difficulty breathing, chest pain or tightness,
#   confusion or drowsiness, bluish lips, convulsions, fast heart rate, low blood pressure; in a
#   child also abnormal breathing or not feeding); or SpO2 < 96 %; or more than 25 breaths/min;
#   or, for a pregnant woman, an elderly person, someone with a chronic illness or a child,
#   SpO2 < 97 % or more than 20 breaths/min (a lower threshold for risk groups).
# - URGENT (contact the health station / seek care today): a risk group with any symptom or a
#   fever; or a temperature ≥ 39.5 °C; or more than 20 breaths/min.
# - HOME_CARE otherwise. Paracetamol advice from 38.5 °C.
#
# The SpO2 and breathing limits are settings (bot.settings, TRIAGE_*); the numbers above are
# their defaults. Every Vietnamese word (patterns, negations, labels) is in triage.yml.

from __future__ import annotations

from bot.content.triage.matching import clauses, present
from bot.content.triage.outcome import EMERGENCY, HOME_CARE, URGENT, Triage
from bot.content.triage.readings import read_numbers
from bot.content.triage.rules import RISK, SIGN, SYMPTOM, rules
from bot.content.triage.thresholds import DEFAULT_THRESHOLDS, Thresholds

# Risk group codes with a meaning in the rules.
CHILD = "child"
ELDERLY = "elderly"


def assess(text: str, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Triage:
    """Triage one message (Vietnamese, with or without diacritics, chat abbreviations)."""
    loaded = rules()
    found: set[tuple[str, str]] = set()
    for tokens in clauses(text):
        found.update((hit.entry.kind, hit.entry.code) for hit in present(tokens, loaded))
    readings = read_numbers(text, loaded.readers)
    for age in readings.ages:
        if age >= thresholds.elderly_from_age:
            found.add((RISK, ELDERLY))
        elif age <= thresholds.child_up_to_age:
            found.add((RISK, CHILD))

    def codes(kind: str) -> tuple[str, ...]:
        ordered = (e.code for e in loaded.entries if e.kind == kind and (kind, e.code) in found)
        return tuple(dict.fromkeys(ordered))

    risk_groups = codes(RISK)
    child = CHILD in risk_groups
    signs = tuple(
        code
        for code in codes(SIGN)
        if child or not any(e.child_only for e in loaded.entries if e.code == code)
    )
    symptoms = codes(SYMPTOM)
    temperature = readings.temperature
    fever = temperature is not None and temperature >= thresholds.fever_from
    level = _level(
        thresholds,
        signs=bool(signs),
        at_risk=bool(risk_groups),
        unwell=bool(symptoms) or fever,
        spo2=readings.spo2,
        temperature=temperature,
        breaths=readings.breaths,
    )
    return Triage(
        level=level,
        signs=signs,
        risk_groups=risk_groups,
        spo2=readings.spo2,
        temperature=temperature,
        breaths_per_minute=readings.breaths,
        fever_medicine=temperature is not None and temperature >= thresholds.fever_medicine_from,
        symptoms=symptoms,
        thresholds=thresholds,
    )


def _level(
    limits: Thresholds,
    *,
    signs: bool,
    at_risk: bool,
    unwell: bool,
    spo2: int | None,
    temperature: float | None,
    breaths: int | None,
) -> str:
    low_spo2 = spo2 is not None and spo2 < limits.spo2_below
    low_spo2_at_risk = spo2 is not None and spo2 < limits.spo2_below_at_risk
    fast = breaths is not None and breaths > limits.breaths_above
    fast_at_risk = breaths is not None and breaths > limits.breaths_above_at_risk
    if signs or low_spo2 or fast or (at_risk and (low_spo2_at_risk or fast_at_risk)):
        return EMERGENCY
    high_fever = temperature is not None and temperature >= limits.high_fever_from
    if (at_risk and unwell) or high_fever or fast_at_risk:
        return URGENT
    return HOME_CARE

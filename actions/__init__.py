"""rasa-sdk custom actions, one module per feature; thin: they call functions in bot/.

The foundation answers from domain responses only; the knowledge issue adds the actions that
read the content store (lockdown zones, alert levels, schemes, hotlines, triage).
"""

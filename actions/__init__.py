"""rasa-sdk actions, one module per feature; thin: they read slots, call bot/, and utter.

Importing the package imports every feature, so every place-aware question is registered
(``PlaceAction.topics``) wherever an action runs — the action server or a test.
"""

from actions import (  # noqa: F401
    alert_level,
    answers,
    false_info,
    help_request,
    hotline,
    lockdown,
    place,
    prevention,
    privacy,
    reply,
    subscription,
    support_scheme,
    symptoms,
)

"""Every conversation test story (tests/conversations/) passes on the model the stack serves.

Rasa evaluates them in the running server (``POST /model/test/stories``, the same evaluation
as ``rasa test core``): a ``rasa test core`` process would import Rasa and load the model a
second time, about two minutes of a core, for the same check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

pytestmark = pytest.mark.slow

CONVERSATIONS = Path(__file__).resolve().parents[1] / "conversations"


def conversation_stories() -> str:
    """The stories of every file in tests/conversations/, as one YAML document."""
    stories: list[dict[str, Any]] = []
    for path in sorted(CONVERSATIONS.glob("*.yml")):
        stories += yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]
    return yaml.safe_dump({"version": "3.1", "stories": stories}, allow_unicode=True)


def test_every_conversation_story_passes(rasa_api: httpx.Client) -> None:
    """What ``rasa test core --fail-on-prediction-errors`` fails on: a story fails when an
    intent, an entity or an action was predicted other than written; Rasa's accuracy is over
    all of them, so anything below 1 is a failed story."""
    stories = conversation_stories()
    response = rasa_api.post("/model/test/stories", content=stories.encode(), timeout=600)
    assert response.status_code == 200, response.text
    result = response.json()
    actions = result["actions"]
    wrong_actions = [a for a in actions if a["predicted"] != a["action"]]
    wrong_labels = {
        name: scores
        for name, scores in result["report"].items()
        if isinstance(scores, dict) and scores.get("f1-score", 1.0) < 1.0
    }
    assert len(actions) >= stories.count("- story:"), "fewer predictions than stories"
    assert wrong_actions == []
    assert result["accuracy"] == 1.0, wrong_labels  # an intent or an entity read wrong

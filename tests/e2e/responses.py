"""The assistant's response texts as the domain files hold them: what the end-to-end tests
expect the running stack to answer."""

from __future__ import annotations

from pathlib import Path

import yaml

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "assistant" / "domain"


def response_texts() -> dict[str, list[str]]:
    """Every ``utter_*`` response's variants, by name."""
    texts: dict[str, list[str]] = {}
    for path in DOMAIN.glob("*.yml"):
        for name, variants in (yaml.safe_load(path.read_text()).get("responses") or {}).items():
            texts[name] = [v["text"] for v in variants]
    return texts

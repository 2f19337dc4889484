"""The small content file the content tests load, and the province it is read for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.content import files

SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "content" / "small.yml"
HOME = "Lạng Sơn"


def small() -> dict[str, Any]:
    return files.read_file(SMALL)

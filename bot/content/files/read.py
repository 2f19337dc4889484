"""Reading a content file: its raw mapping, or the reason it cannot be read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot import wording
from bot.content.files.problems import ContentError

DEMO = Path(__file__).resolve().parents[1] / "demo" / "lang_son.yml"
# The demo: the province's content first (its sources), then the question bank's files.
DEMO_FILES = (DEMO, *sorted(DEMO.parent.glob("questions-*.yml")))
MAX_FILE_BYTES = 20_000_000  # a province's content is a few MB; 10,000 zones ≈ 3 MB

_error = wording.error


def read_file(path: Path) -> dict[str, Any]:
    """The raw mapping of a content file, or ContentError for an unreadable or non-YAML one."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ContentError([_error("file", path=path, reason=f"> {MAX_FILE_BYTES} bytes")])
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContentError([_error("file", path=path, reason=exc.strerror or exc)]) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContentError([_error("not_yaml", reason=str(exc).splitlines()[0])]) from exc
    if not isinstance(raw, dict):
        raise ContentError([_error("version")])
    return raw

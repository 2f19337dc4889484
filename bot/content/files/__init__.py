"""Content files (YAML) in and out: validated whole before one transaction, or refused."""

from __future__ import annotations

from bot.content.files.check import area_codes, parse
from bot.content.files.dump import dump, to_yaml
from bot.content.files.load import load
from bot.content.files.problems import ContentError
from bot.content.files.read import DEMO, DEMO_FILES, read_file
from bot.content.files.schema import FORMAT_VERSION, SECTIONS, Parsed

__all__ = [
    "DEMO",
    "DEMO_FILES",
    "FORMAT_VERSION",
    "SECTIONS",
    "ContentError",
    "Parsed",
    "area_codes",
    "dump",
    "load",
    "parse",
    "read_file",
    "to_yaml",
]

"""Each storage module, imported alone (as the action server imports only what its actions
use), brings the tables its foreign keys point to: no NoReferencedTableError at the first
insert. Each module is checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(
    f"bot.storage.{path.stem}"
    for path in (ROOT / "bot" / "storage").glob("*.py")
    if path.stem not in ("__init__", "models", "migrate", "engine", "private")
)
CHECK = """
import importlib, sys
from sqlalchemy.schema import CreateTable
from bot.storage.base import Base
importlib.import_module(sys.argv[1])
for table in Base.metadata.sorted_tables:
    CreateTable(table).compile()
"""


@pytest.mark.parametrize("module", MODULES)
def test_a_storage_module_alone_knows_every_table_it_points_to(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK, module], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]

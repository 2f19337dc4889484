"""The import-layer contract (scripts/check_layers.py): it holds on the tree, and it fails on an
arrow that points up, on an action importing another, on bench importing tests, and on a test
importing another test module."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_layers.py"


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_layers", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_import_of_the_tree_points_down() -> None:
    assert _checker().check(ROOT) == []


def _only_python(folder: str, names: list[str]) -> list[str]:
    return [
        n
        for n in names
        if n == "__pycache__" or (Path(folder, n).is_file() and not n.endswith(".py"))
    ]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages the check reads, to break on purpose."""
    for top in ("bot", "connectors", "actions", "tests", "bench", "testkit"):
        shutil.copytree(ROOT / top, tmp_path / top, ignore=_only_python)
    return tmp_path


@pytest.mark.parametrize(
    ("label", "file", "line", "expected"),
    [
        (
            "storage imports a feature",
            "bot/storage/base.py",
            "from bot.gateway import Gateway",
            "bot.storage (layer 2) imports bot.gateway (layer 3)",
        ),
        (
            "a connector imports storage",
            "connectors/base.py",
            "from bot.storage import conversations",
            "connectors (layer 2) imports bot.storage (layer 2)",
        ),
        (
            "text imports settings",
            "bot/text.py",
            "import bot.settings",
            "bot.text (layer 1) imports bot.settings (layer 1)",
        ),
        (
            "an action imports another",
            "actions/lockdown.py",
            "from actions.hotline import ActionListHotlines",
            "an action imports another feature's action",
        ),
        (
            "content imports the web app",
            "bot/content/store.py",
            "def later():\n    from bot.web import app",
            "bot.content (layer 3) imports bot.web (layer 4)",
        ),
        (
            "bench imports tests",
            "bench/common.py",
            "from tests.conftest import fake_rasa",
            "bench imports tests",
        ),
        (
            "a test imports another test module",
            "tests/content/test_store.py",
            "from tests.content.test_files import counts",
            "a test module imported: share through a fixture or a helper module",
        ),
        (
            "a test imports a test module, relatively",
            "tests/connectors/test_settle.py",
            "from . import test_webhooks",
            "a test module imported",
        ),
        (
            "the product imports the testkit",
            "bot/gateway.py",
            "from testkit.fakes.server import serve",
            "the product imports testkit",
        ),
    ],
)
def test_an_arrow_that_points_up_fails(
    tree: Path, label: str, file: str, line: str, expected: str
) -> None:
    checker = _checker()
    before = set(checker.check(tree))
    with (tree / file).open("a", encoding="utf-8") as f:
        f.write(f"\n{line}  # noqa\n")
    found = [p for p in checker.check(tree) if p not in before]
    assert len(found) == 1, found
    assert found[0].startswith(f"{file}:") and expected in found[0]


def test_the_script_exits_nonzero_on_a_bad_import(tree: Path) -> None:
    (tree / "scripts").mkdir()
    shutil.copy(SCRIPT, tree / "scripts" / "check_layers.py")
    ok = subprocess.run([sys.executable, tree / "scripts" / "check_layers.py"], text=True)
    assert ok.returncode == 0
    with (tree / "bot" / "places" / "__init__.py").open("a", encoding="utf-8") as f:
        f.write("\nfrom bot.content import store  # noqa\n")
    bad = subprocess.run(
        [sys.executable, tree / "scripts" / "check_layers.py"], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "bot.places (layer 2) imports bot.content (layer 3)" in bad.stdout

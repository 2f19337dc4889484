#!/usr/bin/env python3
"""The import-layer contract of DESIGN.md: every arrow points down; prints each one that does
not and exits 1 (``make lint`` and ``tests/test_layers.py`` run it).

Layers, top to bottom — a module may import only modules of a lower layer, and the packages
of one layer stand side by side (none imports another), except where noted:
  entry     bot.web · actions · bot.cli · bot.assistant (what Rasa loads)
  features  bot.content · bot.gateway · bot.outbox · bot.channels · bot.rasa_client ·
            bot.helpdesk · bot.alerts · bot.training · bot.supervisor · bot.logs
            (may use one another)
  base      bot.places · bot.storage · connectors
  core      bot.text · bot.settings · bot.clock · bot.wording
Inside ``actions`` a feature module imports only the shared ``actions.common``,
``actions.base`` and ``actions.guard``, never another feature (the package's ``__init__``
imports them all, so rasa-sdk registers every action). ``tests`` and ``bench`` may import
the product and ``testkit`` but never each other; the product imports none of the three.
Inside ``tests`` no module imports a ``test_*`` module: shared helpers live in fixtures or
helper modules.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_ROOTS = ("bot", "connectors", "actions")
TOOL_ROOTS = ("tests", "bench", "testkit")

ENTRY, FEATURES, BASE, CORE = 4, 3, 2, 1
LAYERS: dict[str, int] = {
    "bot.web": ENTRY,
    "actions": ENTRY,
    "bot.cli": ENTRY,
    "bot.assistant": ENTRY,
    "bot.content": FEATURES,
    "bot.gateway": FEATURES,
    "bot.outbox": FEATURES,
    "bot.channels": FEATURES,
    "bot.rasa_client": FEATURES,
    "bot.helpdesk": FEATURES,
    "bot.alerts": FEATURES,
    "bot.training": FEATURES,
    "bot.supervisor": FEATURES,
    "bot.logs": FEATURES,
    "bot.places": BASE,
    "bot.storage": BASE,
    "connectors": BASE,
    "bot.text": CORE,
    "bot.settings": CORE,
    "bot.clock": CORE,
    "bot.wording": CORE,
}
SIBLINGS_MAY_IMPORT = {FEATURES}  # features may use one another
SHARED_ACTIONS = ("actions.common", "actions.base", "actions.guard")


def unit(module: str) -> str | None:
    """The layered package a module belongs to (longest prefix in LAYERS)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return prefix
    return None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file, at any depth."""
    found: list[tuple[int, str]] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def problem(importer: str, target: str) -> str | None:
    """Why ``importer`` may not import ``target``; None when it may."""
    top, target_top = importer.split(".")[0], target.split(".")[0]
    ours = (*PRODUCT_ROOTS, *TOOL_ROOTS)
    if top == target_top == "tests" and any(p.startswith("test_") for p in target.split(".")):
        # A test module is a list of tests, not a library: importing one ties two test files
        # together, and a test function imported is collected (and run) twice.
        return "a test module imported: share through a fixture or a helper module"
    if target_top not in ours or (top == target_top and top in TOOL_ROOTS):
        return None
    if top in TOOL_ROOTS:
        if target_top in ("tests", "bench") and target_top != top:
            return f"{top} imports {target_top}: share through testkit instead"
        return None
    if target_top in TOOL_ROOTS:
        return f"the product imports {target_top}"
    source, dest = unit(importer), unit(target)
    if source is None:
        return f"{importer} has no layer: add it to LAYERS in scripts/check_layers.py"
    if dest is None:
        return f"{target} has no layer: add it to LAYERS in scripts/check_layers.py"
    if source == dest:
        # The package itself imports every feature so rasa-sdk registers them all.
        if source == "actions" and importer not in ("actions", *SHARED_ACTIONS):
            imported = ".".join(target.split(".")[:2])
            if imported not in SHARED_ACTIONS and imported != "actions":
                return "an action imports another feature's action (share through common/base)"
        return None
    if LAYERS[dest] < LAYERS[source]:
        return None
    if LAYERS[dest] == LAYERS[source] and LAYERS[source] in SIBLINGS_MAY_IMPORT:
        return None
    return f"{source} (layer {LAYERS[source]}) imports {dest} (layer {LAYERS[dest]})"


def check(root: Path = ROOT) -> list[str]:
    """Every import that breaks the contract, as ``path:line: importer → target: why``."""
    found: list[str] = []
    for top in (*PRODUCT_ROOTS, *TOOL_ROOTS):
        for path in sorted((root / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = module_name(path, root)
            for line, target in imports(path, module):
                why = problem(module, target)
                if why:
                    where = path.relative_to(root)
                    found.append(f"{where}:{line}: {module} → {target}: {why}")
    return found


def main() -> int:
    problems = check()
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} import(s) point the wrong way (see scripts/check_layers.py).")
        return 1
    print("Layers: every import points down.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

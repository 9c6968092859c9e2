"""The house reads as the pipeline: `search` is the ground floor, `ingest` builds on it, the web app on
both, and `app.py` only wires. Checked on the source with `ast`, so a stray import fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("search", "ingest", "webapp")
#: Which top-level packages each package's modules may import (besides itself and third parties).
ALLOWED = {"search": set(), "ingest": {"search"}, "webapp": {"search", "ingest"}}
#: Command-line entry points sit on top and may compose packages (the evaluation builds BEIR indexes).
ENTRY_POINTS = {"__main__.py"}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    """First-party top-level packages (and `app`) that a module imports, lazily or not."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & {*PACKAGES, "app"}


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_climbs_a_floor(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    if path.name in ENTRY_POINTS:
        return
    forbidden = imported_packages(path) - ALLOWED[package] - {package}
    assert not forbidden, f"{path.relative_to(ROOT)} imports {sorted(forbidden)}: {package} must not"


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from webapp.service import X\n    import ingest.load\n")
    assert imported_packages(module) == {"webapp", "ingest"}


def test_app_only_wires() -> None:
    """app.py talks to the web app package and settings; retrieval and ingest stay behind it."""
    used = imported_packages(ROOT / "app.py")
    assert "ingest" not in used


@pytest.mark.parametrize("path", [*modules(), ROOT / "app.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_small(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert source.count("\n") <= MAX_MODULE_LINES, f"{path.name}: over {MAX_MODULE_LINES} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path.name}:{node.lineno} {node.name} has {length} lines"

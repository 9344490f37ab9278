"""The shape the code promises (ARCHITECTURE.md), checked so it stays that way.

- Only the store package touches a database connection: no other module imports
  duckdb or reaches for a connection attribute.
- Only ``convolab/settings.py`` reads the environment.
- Widgets and dashboard notebooks call store and domain functions, never SQL.
- Every pip extra convolab names exists in pyproject.toml.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from convolab._deps import EXTRA_OF

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "convolab"
STORE = PACKAGE / "store"


def _modules(root: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _outside_store() -> list[Path]:
    return [p for p in _modules() if STORE not in p.parents]


@pytest.mark.parametrize("path", _outside_store(), ids=lambda p: str(p.relative_to(REPO)))
def test_only_the_store_touches_a_database_connection(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not any(a.name.split(".")[0] == "duckdb" for a in node.names), f"{path}:{node.lineno} imports duckdb"
        elif isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] != "duckdb", f"{path}:{node.lineno} imports from duckdb"
            assert not (node.module or "").startswith("convolab.store._"), \
                f"{path}:{node.lineno} imports a private store module"
        elif isinstance(node, ast.Attribute):
            assert node.attr not in ("con", "_con"), f"{path}:{node.lineno} reaches for a connection (.{node.attr})"


def test_only_settings_reads_the_environment() -> None:
    readers = []
    for path in _modules():
        if path == PACKAGE / "settings.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bos\.(environ|getenv)\b|\bgetenv\(", text):
            readers.append(str(path.relative_to(REPO)))
    for notebook in sorted((PACKAGE / "dashboards").glob("*.ipynb")):
        if re.search(r"\bos\.(environ|getenv)\b", _code(notebook)):
            readers.append(str(notebook.relative_to(REPO)))
    assert readers == []


def _code(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


_SQL_CALL = re.compile(r"\.(sql|execute|executemany)\(")


def test_widgets_and_dashboards_run_no_sql() -> None:
    offenders = []
    for path in _modules(PACKAGE / "widgets"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("sql", "execute", "executemany"):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    notebooks = sorted((PACKAGE / "dashboards").glob("*.ipynb"))
    assert notebooks, "no dashboard notebooks found"
    for notebook in notebooks:
        if _SQL_CALL.search(_code(notebook)) or re.search(r"\bSELECT\b", _code(notebook)):
            offenders.append(str(notebook.relative_to(REPO)))
    assert offenders == []


def test_every_extra_named_exists() -> None:
    defined = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    assert set(EXTRA_OF.values()) <= defined
    named = set()
    for path in [*_modules(), REPO / "README.md"]:
        named |= set(re.findall(r"convolab\[([a-z,]+)\]", path.read_text(encoding="utf-8")))
    named = {extra for group in named for extra in group.split(",")}
    assert named <= defined, named - defined


def test_the_schema_imports_no_domain_module() -> None:
    """The schema does not import flags, live or ingest (they used to import each other in a circle)."""
    code = ("import sys, convolab.store.schema; "
            "print(sorted(m for m in sys.modules if m.startswith(('convolab.flags', 'convolab.live', 'convolab.ingest'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

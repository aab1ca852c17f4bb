"""The layers of docs/architecture.md, checked on the source: imports only point down.

Read with :mod:`ast` (nothing is imported): every ``import`` / ``from ... import`` of a module
of ``resilience`` (functions' local imports included, ``TYPE_CHECKING`` ones too), the DAG files
and the plugin.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "resilience"

#: The vocabulary at the bottom: imports nothing of resilience above it.
BASE = {"topology", "errors", "settings", "files", "yamlfile", "timestamps", "jit", "__version__"}
#: What each package may import (besides BASE and itself). Entry points (api, cli, exporter,
#: receivers, dashboards) sit on top; the pure packages import neither the store nor files.
ALLOWED = {
    "store": set(),
    "analysis": set(),
    "scenarios": {"analysis"},
    "restoration": {"analysis", "scenarios"},
    "hardening": {"analysis", "scenarios", "restoration"},
    "feeds": {"store"},
    "reports": {"analysis", "store"},
    "sample": {"restoration"},
    "exporter": {"analysis", "store"},
    "api": {"analysis", "scenarios", "restoration", "hardening", "feeds", "store", "reports", "sample"},
    "receivers": {"api", "feeds", "store"},
    "dashboards": set(),
    "cli": {"api", "exporter", "receivers", "reports", "sample", "store"},
}
PURE = {"analysis", "scenarios", "restoration", "hardening"}
#: Query building of SQLAlchemy: only the store writes queries.
QUERY_NAMES = {"select", "insert", "update", "delete", "text", "func", "bindparam", "union_all",
               "and_", "or_", "case", "literal", "column", "table"}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(ROOT).with_suffix("")
        out.append((".".join(p for p in rel.parts if p != "__init__"), path))
    return out


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, imported names, line) of every import statement of a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((a.name, [], node.lineno) for a in node.names)
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_package_has_a_place_in_the_layers():
    packages = {_package(m) for m, _ in _modules()} - {""}
    assert packages <= BASE | set(ALLOWED), packages - BASE - set(ALLOWED)


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_imports_only_point_down(module, path):
    own = _package(module)
    wrong = []
    for target, names, line in _imports(path):
        if not target.startswith("resilience"):
            if own != "store" and target.startswith("sqlalchemy") and set(names) & QUERY_NAMES:
                wrong.append(f"line {line}: builds a query ({target}: {sorted(set(names) & QUERY_NAMES)})")
            if own in PURE and target.split(".")[0] in {"sqlalchemy", "requests", "urllib"}:
                wrong.append(f"line {line}: pure package imports {target}")
            continue
        full = [target] + [f"{target}.{n}" for n in names]
        pkg = _package(full[1] if target == "resilience" and len(full) > 1 else target)
        if pkg in ("", own):
            pass
        elif own in BASE:
            if pkg not in BASE:
                wrong.append(f"line {line}: the vocabulary imports {target}")
        elif pkg not in BASE and pkg not in ALLOWED.get(own, set()):
            wrong.append(f"line {line}: {own} imports {target} (allowed: {sorted(ALLOWED[own])})")
        if pkg != own and any(p.startswith("_") and not p.startswith("__")
                              for n in full for p in n.split(".")[1:]):
            wrong.append(f"line {line}: reaches into a private module or name of {pkg}: {target}")
        if target == "resilience.store.tables" and own != "store":
            wrong.append(f"line {line}: uses the store's tables")
    assert not wrong, f"{path.relative_to(ROOT)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", sorted((ROOT / "dags").glob("*.py")) + [ROOT / "plugins" / "resilience_plugin.py"],
                         ids=lambda p: p.name)
def test_dags_and_plugin_call_the_front_hall(path):
    """A DAG or the plugin calls :mod:`resilience.api` and the vocabulary, nothing below."""
    allowed = {"resilience.api", "resilience.api.request", "resilience.errors", "resilience.files",
               "resilience.settings", "resilience.reports.hardening"}
    wrong = [f"line {line}: {target}" for target, _names, line in _imports(path)
             if target.startswith("resilience.") and target not in allowed]
    assert not wrong, f"{path.name} reaches past the facade:\n" + "\n".join(wrong)

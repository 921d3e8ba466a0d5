"""The layering rules of docs/ARCHITECTURE.md, checked on the source itself.

The source folders ``app/``, ``model/``, ``training/`` are the packages ``photocull.app``,
``photocull.model``, ``photocull.training`` (pyproject.toml maps them):

- no PySide6 / Qt outside ``app/ui``;
- ``photocull.model`` and ``photocull.training`` never import ``photocull.app``;
- ``photocull.app.core`` never imports ``photocull.app.ui``;
- nothing imports the bare names ``app``, ``model`` or ``training`` (they are not installed).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "photocull"
BARE = ("app", "model", "training")
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "superqt", "qtpy", "pytestqt")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the file's package
                package = (PACKAGE, *path.relative_to(ROOT).parent.parts)
                base = package[: len(package) - (node.level - 1)]
                name = ".".join(base + ((node.module,) if node.module else ()))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def _files(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def _is(name: str, top: str) -> bool:
    return name == top or name.startswith(top + ".")


def _violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{f.relative_to(ROOT)}:{line} imports {name}"
        for f in files
        for line, name in _imports(f)
        if any(_is(name, top) for top in forbidden)
    ]


def test_source_trees_exist():
    for part in ("model", "training", "app/core", "app/ui"):
        assert _files(*part.split("/")), f"{part} has no Python files"


@pytest.mark.parametrize("package", ["model", "training"])
def test_libraries_are_qt_free_and_never_import_app(package):
    assert _violations(_files(package), QT_MODULES + ("photocull.app",)) == []


def test_core_is_qt_free_and_never_imports_ui():
    assert _violations(_files("app", "core"), QT_MODULES + ("photocull.app.ui",)) == []


def test_only_learn_brings_training_into_the_engine():
    files = [f for f in _files("app") if f.name != "learn.py" or f.parent.name != "core"]
    assert _violations(files, ("photocull.training",)) == []


def test_no_bare_top_level_imports():
    files = [f for top in (*BARE, "tests", "benchmarks", "tools", "packaging") for f in _files(top)]
    assert _violations(files, BARE) == []


def test_nothing_outside_app_ui_imports_qt():
    outside = [
        f
        for top in ("app", "model", "training", "benchmarks")
        for f in _files(top)
        if "ui" not in f.relative_to(ROOT).parts[:2]
    ]
    assert _violations(outside, QT_MODULES) == []


def test_checker_sees_violations(tmp_path, monkeypatch):
    """The rule checker itself must be able to fail."""
    pkg = tmp_path / "model"
    pkg.mkdir()
    (pkg / "bad.py").write_text("from PySide6 import QtCore\nfrom ..app import x\nimport photocull.app.core\n"
                                "import app\nfrom .heads import y\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    found = _violations(_files("model"), QT_MODULES + ("photocull.app",))
    assert [f.split(" imports ")[1] for f in found] == ["PySide6", "photocull.app", "photocull.app.core"]
    assert [f.split(" imports ")[1] for f in _violations(_files("model"), BARE)] == ["app"]

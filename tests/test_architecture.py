"""The documented import rules hold: docs/architecture.md's layer table against every import.

Each module's imports are read with `ast` (nothing is imported or run). A module missing from
the table, or importing from a layer above its own, fails with its name and the import.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
ROW = re.compile(r"^\| (\d) [^|]*\| (.+?) \|[^|]*\|$")


def documented_layers() -> dict[str, int]:
    """Unit (`ui`, `analysis/`, `pages/`, `app.py`) -> layer, from the doc's table."""
    layers: dict[str, int] = {}
    for line in DOC.read_text().splitlines():
        row = ROW.match(line)
        if row:
            for unit in re.findall(r"`([^`]+)`", row.group(2)):
                layers[unit] = int(row.group(1))
    return layers


def unit_of(path: Path) -> str:
    """The table's name for a source file: `pages/`, `app.py`, `serve.py`, `ui`, `analysis/`, ..."""
    relative = path.relative_to(ROOT)
    if relative.parts[0] != "practice":
        return relative.name if len(relative.parts) == 1 else f"{relative.parts[0]}/"
    if len(relative.parts) > 2:
        return f"{relative.parts[1]}/"
    return "" if relative.stem == "__init__" else relative.stem


def practice_unit(module: str) -> str:
    """The unit a `practice.x.y` import names (`practice.analysis.groups` -> `analysis/`)."""
    parts = module.split(".")
    if len(parts) == 1:
        return ""
    name = parts[1]
    return f"{name}/" if (ROOT / "practice" / name).is_dir() else name


def imports_of(path: Path) -> list[str]:
    """Absolute module names `path` imports (`from practice import ui` gives practice.ui)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "practice":
                names += [f"practice.{alias.name}" for alias in node.names]
            else:
                names.append(node.module)
    return names


def sources() -> list[Path]:
    files = [ROOT / "app.py", ROOT / "serve.py", *sorted((ROOT / "pages").glob("*.py"))]
    files += sorted(
        p for p in (ROOT / "practice").rglob("*.py") if "versions" not in p.relative_to(ROOT).parts
    )
    return files


SOURCES = sources()


def test_every_module_and_folder_is_in_the_documented_layers() -> None:
    layers = documented_layers()
    units = {unit_of(path) for path in SOURCES} - {""}
    assert sorted(units - set(layers)) == []
    assert sorted(set(layers) - units) == []  # the table names nothing that does not exist


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    layers = documented_layers()
    unit = unit_of(path)
    own = layers.get(unit, 0)  # practice/__init__.py: the package itself, no layer
    upward = [
        name
        for name in imports_of(path)
        if name.startswith("practice") and layers.get(practice_unit(name), 0) > own
    ]
    assert upward == [], f"{unit} (layer {own}) imports from a layer above: {upward}"


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_only_ui_imports_streamlit_inside_the_package(path: Path) -> None:
    if unit_of(path) in {"app.py", "serve.py", "pages/", "ui"}:
        return
    streamlit = [n for n in imports_of(path) if n.split(".")[0] == "streamlit"]
    assert streamlit == [], f"{path.relative_to(ROOT)} imports {streamlit}"


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    """The checks themselves: an analysis module importing ui or streamlit would be caught."""
    layers = documented_layers()
    bad = tmp_path / "bad.py"
    bad.write_text("import streamlit as st\nfrom practice import ui\n")
    names = imports_of(bad)
    assert names == ["streamlit", "practice.ui"]
    assert layers[practice_unit("practice.ui")] > layers["analysis/"]
    assert practice_unit("practice.analysis.groups") == "analysis/"

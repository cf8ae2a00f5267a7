"""The documents users and engineers rely on stay true: a test fails when one falls behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from practice.cli import build_parser
from practice.columns import COLUMNS

ROOT = Path(__file__).resolve().parent.parent
CSV_FORMAT = (ROOT / "docs" / "csv-format.md").read_text()
README = (ROOT / "README.md").read_text()
ALL_DOCS = README + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("column", [c.name for c in COLUMNS])
def test_every_csv_column_is_documented_in_the_format_page(column: str) -> None:
    assert f"| `{column}` |" in CSV_FORMAT


def _environment_settings() -> list[str]:
    source = "".join(p.read_text() for p in (ROOT / "practice").rglob("*.py"))
    named = set(re.findall(r"\bPRACTICE_[A-Z_]+\b", source))
    built = {f"PRACTICE_{name}" for name in re.findall(r'_env_number\("([A-Z_]+)"', source)}
    return sorted(named | built)


@pytest.mark.parametrize("setting", _environment_settings())
def test_every_environment_setting_is_documented(setting: str) -> None:
    assert setting in ALL_DOCS


def _commands() -> list[str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return sorted(subparsers.choices)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"python -m practice {command}" in README


def test_readme_starts_with_the_two_setup_commands() -> None:
    first_lines = "\n".join(README.splitlines()[:30])
    assert "bash scripts/dashboard" in first_lines
    assert "bash scripts/test" in first_lines


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^bash scripts/test$", ci, flags=re.MULTILINE)

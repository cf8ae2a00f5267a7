"""The benchmark (bench/, docs/performance.md) runs end to end at its smallest size.

A smoke test only: it checks that every stage runs and that the printed tables have their
shape, never how long anything took (machines differ; the figures live in the docs).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import report, run

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = {
    "Import": ["sessions", "database", "import (s)", "rows/s", "floor (s)", "ratio"],
    "Analysis": ["sessions", "database", "load frames (s)", "floor (s)", "ratio"],
    "Dashboard": ["sessions", "database", "page", "first run (s)", "rerun (s)", "payload (KB)"],
}
PAGES = 6


def tables_of(text: str) -> dict[str, list[list[str]]]:
    """Each `### Title` section's Markdown table as rows of cells, the header row first."""
    tables: dict[str, list[list[str]]] = {}
    title = None
    for line in text.splitlines():
        if line.startswith("### "):
            title = line[4:].split()[0]
            tables[title] = []
        elif title and line.startswith("|") and not line.startswith("|-"):
            tables[title].append([cell.strip() for cell in line.strip("|").split("|")])
    return tables


def run_smallest(tmp_path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    results = run.main(
        [
            "--sizes",
            "2k",
            "--repeat",
            "1",
            "--reruns",
            "1",
            "--in-process",
            "--workdir",
            str(tmp_path),
            *options,
        ]
    )
    assert {r["size"] for r in results} == {"2k"}
    return capsys.readouterr().out


def check_tables(out: str, databases: list[str]) -> None:
    tables = tables_of(out)
    for section, columns in SECTIONS.items():
        header, *rows = tables[section]
        assert set(columns) <= set(header), section
        expected = len(databases) * (PAGES if section == "Dashboard" else 1)
        assert len(rows) == expected, section
        assert [row[header.index("database")] for row in rows] == [
            report.DATABASE_LABELS[d] for d in databases for _ in range(expected // len(databases))
        ]
        assert all(len(row) == len(header) for row in rows)
    assert "Growth" in tables
    assert "Measured on" in out
    assert "python -m bench --sizes 2k --repeat 1 --reruns 1 --in-process" in out
    assert "--workdir" not in out.split("Machine:")[0]


def test_the_smallest_size_runs_on_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run_smallest(tmp_path, capsys, "--databases", "sqlite")
    check_tables(out, ["sqlite"])
    import_rows = tables_of(out)["Import"][1:]
    assert import_rows[0][0] == "2,064"  # the sessions of 320 generated clients


@pytest.mark.postgres
def test_the_smallest_size_runs_on_both_databases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_url: str
) -> None:
    out = run_smallest(
        tmp_path, capsys, "--databases", "sqlite,postgresql", "--postgres-url", postgres_url
    )
    check_tables(out, ["sqlite", "postgresql"])


def test_the_performance_page_holds_a_measured_table() -> None:
    text = (ROOT / "docs" / "performance.md").read_text()
    section = text.split(report.BEGIN, 1)[1].split(report.END, 1)[0]
    tables = tables_of(section)
    for name in SECTIONS:
        assert len(tables[name]) > 1, name
    assert "python -m bench" in section

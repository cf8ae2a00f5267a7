"""The command line: exit codes, summaries and problem listings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from practice import db
from practice.cli import main
from tests.conftest import csv_bytes

GOOD = csv_bytes(
    "Client ID,Intake date,Date,Practitioner,Treatment,Pain before",
    "C1,2025-01-02,2025-01-05,Jo Park,TPT,6",
    "C1,2025-01-02,2025-01-12,Jo Park,TPT,4",
)
BAD = csv_bytes(
    "Client ID,Intake date,Date,Practitioner,Treatment,Pain before",
    "C1,2025-01-02,2025-01-05,Jo Park,TPT,eleven",
    "C1,2025-01-02,2025-02-30,Jo Park,,4",
)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def session_count(url: str) -> int:
    with db.create_engine_for(url).connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM sessions")).scalar_one())


def test_import_prints_a_summary_and_exits_0(tmp_path, db_url, capsys) -> None:
    code = main(["import", str(write(tmp_path, "good.csv", GOOD)), "--db", db_url])
    assert code == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith(
            "imported 2 row(s) from 1 file(s): clients 1 added, 0 updated; "
            "sessions 2 added, 0 updated, 0 unchanged (import #1)"
        )
    )
    assert session_count(db_url) == 2


def test_import_lists_every_problem_exits_1_and_writes_nothing(tmp_path, db_url, capsys):
    main(["import", str(write(tmp_path, "good.csv", GOOD)), "--db", db_url])
    report = tmp_path / "problems.csv"
    bad = write(tmp_path, "bad.csv", BAD)
    code = main(["import", str(bad), "--db", db_url, "--report", str(report)])
    err = capsys.readouterr().err
    assert code == 1
    assert "import refused: 3 problem(s); nothing was written" in err
    assert "bad.csv row 2, column Pain before (pain_pre): is not a number ('eleven')" in err
    assert "bad.csv row 3, column Date (session_date): is not a valid date" in err
    assert "bad.csv row 3, column Treatment (techniques): an attended session needs" in err
    assert report.read_text().count("\n") == 4  # header + 3 problems
    assert session_count(db_url) == 2


def test_dry_run_counts_but_writes_nothing(tmp_path, db_url, capsys) -> None:
    main(["init-db", "--db", db_url])
    code = main(["import", str(write(tmp_path, "g.csv", GOOD)), "--db", db_url, "--dry-run"])
    assert code == 0
    assert "would import 2 row(s)" in capsys.readouterr().out
    assert session_count(db_url) == 0


def test_mapping_and_date_order_options(tmp_path, db_url) -> None:
    us = csv_bytes(
        "Client ID,Intake date,Visit,Practitioner,Kind", "C1,03/04/2025,03/05/2025,Jo,TPT"
    )
    path = write(tmp_path, "us.csv", us)
    assert main(["import", str(path), "--db", db_url, "--map", "Kind=techniques"]) == 1
    assert (
        main(
            [
                "import",
                str(path),
                "--db",
                db_url,
                "--map",
                "Kind=techniques",
                "--map",
                "Visit=session_date",
                "--monthfirst",
            ]
        )
        == 0
    )
    with db.create_engine_for(db_url).connect() as conn:
        stored = conn.execute(text("SELECT session_date FROM sessions")).scalar_one()
    assert str(stored) == "2025-03-05"


def test_undo_and_history(tmp_path, db_url, capsys) -> None:
    main(["import", str(write(tmp_path, "good.csv", GOOD)), "--db", db_url])
    assert main(["undo", "1", "--db", db_url]) == 0
    assert session_count(db_url) == 0
    assert main(["undo", "1", "--db", db_url]) == 1
    assert "import #1 is already undone" in capsys.readouterr().err
    assert main(["imports", "--db", db_url]) == 0
    assert "undone" in capsys.readouterr().out


def test_a_missing_file_is_named(tmp_path, db_url, capsys) -> None:
    assert main(["import", str(tmp_path / "nope.csv"), "--db", db_url]) == 1
    assert "nope.csv: no such file" in capsys.readouterr().err


def test_sample_writes_a_practice(tmp_path, capsys) -> None:
    out = tmp_path / "practice.csv"
    assert main(["sample", "--clients", "20", "--seed", "3", "--out", str(out)]) == 0
    assert out.read_text().startswith("client_id,")
    assert "20 synthetic clients" in capsys.readouterr().out


def test_the_problem_report_csv_defuses_formula_like_values(tmp_path, db_url) -> None:
    bad = write(
        tmp_path,
        "bad.csv",
        csv_bytes(
            "client_id,client_name,intake_date,session_date,therapist,techniques,pain_pre",
            "C1,Ann,2025-01-01,2025-01-02,Jo,TPT,=1+1",
        ),
    )
    report = tmp_path / "report.csv"
    assert main(["import", str(bad), "--db", db_url, "--report", str(report)]) == 1
    assert report.read_text(encoding="utf-8-sig").splitlines()[1].endswith(",'=1+1")


def test_summary_choices_match_the_analysis() -> None:
    from practice import cli
    from practice.analysis import POPULATIONS
    from practice.analysis.summary import SUMMARY_BY

    assert (tuple(SUMMARY_BY), tuple(POPULATIONS)) == (cli.SUMMARY_BY, cli.POPULATIONS)


def test_imports_and_undos_from_the_command_line_are_audited_with_the_os_user(
    tmp_path, db_url, monkeypatch
) -> None:
    from practice import auth

    monkeypatch.setattr("getpass.getuser", lambda: "maria")
    main(["import", str(write(tmp_path, "good.csv", GOOD)), "--db", db_url])
    main(["undo", "1", "--db", db_url])
    with db.create_engine_for(db_url).connect() as conn:
        log = auth.fetch_audit_log(conn)
    assert log[["username", "event"]].values.tolist() == [
        ["maria (command line)", "undo"],
        ["maria (command line)", "import"],
    ]
    with db.create_engine_for(db_url).connect() as conn:
        by = conn.execute(text("SELECT imported_by FROM imports")).scalar_one()
    assert by == "maria (command line)"


def test_every_command_is_declared_in_cli_py() -> None:
    """One place lists the command line: no other module adds a command or its arguments."""
    import argparse

    from practice.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {"init-db", "import", "sample", "imports", "undo", "summary", "users", "backup"} <= set(
        commands.choices
    )
    package = Path(__file__).resolve().parent.parent / "practice"
    declaring = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "cli.py" and "add_parser(" in path.read_text(encoding="utf-8")
    )
    assert declaring == []

"""What the command line and the audit log say to people: no None, NaN or Python dicts, and a
closed pipe (`| head`) ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from practice import auth, db
from practice.cli import main
from practice.config import PROJECT_ROOT
from practice.formatting import (
    audit_table,
    counts_text,
    plain_table,
    readable_detail,
    users_table,
)
from tests.test_cli import GOOD


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite database for one test."""
    return f"sqlite:///{tmp_path / 'text.sqlite3'}"


def no_missing_words(text: str) -> bool:
    words = set(text.replace("|", " ").split())
    return not words & {"None", "NaN", "nan", "NaT", "<NA>"}


def test_plain_table_shows_a_dash_for_every_kind_of_missing_value() -> None:
    frame = pd.DataFrame(
        {
            "name": ["anna", None],
            "number": [1.5, float("nan")],
            "when": pd.to_datetime(["2026-01-02", None]),
            "flag": pd.array([True, None], dtype="boolean"),
        }
    )
    lines = plain_table(frame).splitlines()
    assert lines[2].split() == ["-", "-", "-", "-"]
    assert no_missing_words(plain_table(frame))


def test_users_list_prints_no_none(db_url, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a long enough password\n"))
    assert (
        main(["users", "add", "fred", "--role", "front_desk", "--password-stdin", "--db", db_url])
        == 0
    )
    capsys.readouterr()
    assert main(["users", "list", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "fred" in out
    assert no_missing_words(out), out
    # Role names and yes/no, not codes and Python booleans (issue 13).
    assert "Front desk" in out and "front_desk" not in out
    assert "False" not in out and " no " in out


def test_users_add_with_locations_limits_the_user_and_users_list_shows_them(
    db_url, capsys, monkeypatch
) -> None:
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a long enough password\n"))
    args = ["users", "add", "nora", "--role", "owner", "--password-stdin", "--db", db_url]
    assert main([*args, "--location", "Old Town", "--location", "Harbour"]) == 0
    assert "added owner nora limited to Old Town, Harbour" in capsys.readouterr().out
    assert main(["users", "list", "--db", db_url]) == 0
    assert "Harbour; Old Town" in capsys.readouterr().out


def test_imports_prints_no_none_and_undo_is_logged_in_words(tmp_path, db_url, capsys) -> None:
    path = tmp_path / "good.csv"
    path.write_bytes(GOOD)
    assert main(["import", str(path), "--db", db_url]) == 0
    assert main(["imports", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "completed" in out
    assert no_missing_words(out), out  # the never-undone import has no undo date: "-"
    assert main(["undo", "1", "--db", db_url]) == 0
    with db.create_engine_for(db_url).connect() as conn:
        detail = auth.fetch_audit_log(conn)["detail"].iloc[0]
    assert "{" not in detail and "'" not in detail
    assert "sessions removed 2" in detail


def test_stored_dict_details_read_as_words() -> None:
    stored = "import #3: {'sessions_removed': 5, 'clients_removed': 1}"
    assert readable_detail(stored) == "import #3: sessions removed 5, clients removed 1"
    assert readable_detail(None) == ""
    assert readable_detail("wrong password") == "wrong password"
    assert counts_text({"clients_restored": 0}) == "clients restored 0"


def test_a_closed_pipe_ends_without_a_traceback(db_url) -> None:
    """`python -m practice imports | head` with head gone before the output is written."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "practice", "imports", "--db", db_url],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before the child has started up
    error = child.stderr.read().decode()
    child.wait(timeout=120)
    assert "Traceback" not in error, error
    assert "BrokenPipeError" not in error, error


def test_the_users_table_names_roles_and_shows_no_none() -> None:
    users = pd.DataFrame(
        {
            "username": ["anna", "fred"],
            "role": ["owner", "front_desk"],
            "therapist_name": [None, None],
            "disabled": [False, False],
            "locked_until": pd.to_datetime([None, None]),
            "created_at": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "locations": ["Harbour; North", ""],
        }
    )
    shown = users_table(users)
    assert shown["role"].tolist() == ["Owner", "Front desk"]
    assert shown["therapist_name"].tolist() == ["", ""]
    assert shown["disabled"].tolist() == ["no", "no"]
    assert shown["locations"].tolist() == ["Harbour; North", "all"]


def test_the_audit_log_reads_as_words() -> None:
    events = pd.DataFrame(
        {
            "at": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 11:00", "2026-01-01 12:00"] * 2),
            "username": [None, "fred", "anna", "anna", "anna", "anna"],
            "event": ["undo", "sign_in", "sign_in_failed", "user_added", "export", "page_odd"],
            "detail": [
                "import #3: {'sessions_removed': 5, 'clients_removed': 1}",
                "front_desk",
                None,
                "fred (front_desk)",
                "therapist-report.csv: 3 rows",
                "x",
            ],
        }
    )
    shown = audit_table(events)
    assert shown["event"].tolist() == [
        "Undo",
        "Signed in",
        "Failed sign-in",
        "User added",
        "Download",
        "Page odd",
    ]
    assert shown["detail"].tolist() == [
        "import #3: sessions removed 5, clients removed 1",
        "Front desk",
        "",
        "fred (Front desk)",
        "therapist-report.csv: 3 rows",
        "x",
    ]
    assert shown["username"].tolist()[:2] == ["", "fred"]


def test_import_help_says_how_many_problems_it_lists(capsys) -> None:
    """The import lists the first SHOWN_PROBLEMS problems and a count; --report has them all."""
    from practice.cli import SHOWN_PROBLEMS

    with pytest.raises(SystemExit):
        main(["import", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "listing every problem" not in help_text
    assert f"first {SHOWN_PROBLEMS} problems" in help_text
    assert "--report FILE writes them all" in help_text

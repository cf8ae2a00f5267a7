"""`python -m practice import diary.csv` and the summary it feeds, on real-shaped files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from practice import db
from practice.cli import main
from tests.diary_files import diary_csv, diary_rows, sessions_csv
from tests.test_cli import db_url, write

CLIENTS = 40
__all__ = ["db_url"]  # the fixture, shared with tests/test_cli.py


def diary_day_count(url: str) -> int:
    with db.create_engine_for(url).connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM diary_days")).scalar_one())


def test_import_of_a_real_shaped_diary_exits_0_with_a_diary_summary(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["import", str(write(tmp_path, "s.csv", sessions_csv(CLIENTS))), "--db", db_url]) == 0
    )
    capsys.readouterr()
    diary = write(tmp_path, "diary.csv", diary_csv(CLIENTS))
    assert main(["import", str(diary), "--db", db_url]) == 0
    days = len(diary_rows(CLIENTS))
    out = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert out == [
        "notice: diary.csv row 103: repeats the same diary day as diary.csv row 102",
        f"imported {days + 1} diary row(s) from 1 file(s): diary days {days} added, 0 updated, "
        "0 unchanged (import #2)",
    ]
    assert diary_day_count(db_url) == days


def test_a_diary_for_unknown_clients_is_refused_with_exit_1(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    diary = write(tmp_path, "diary.csv", diary_csv(2, repeat_row=None))
    assert main(["import", str(diary), "--db", db_url, "--kind", "diary"]) == 1
    err = capsys.readouterr().err
    assert "import refused: 2 problem(s); nothing was written" in err
    assert "diary.csv row 2, column client_id: client D001 is not in Headway" in err
    assert diary_day_count(db_url) == 0

"""`python -m practice import diary.csv` and the summary it feeds, on real-shaped files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from practice import db
from practice.cli import main
from tests.diary_files import client_code, diary_csv, diary_rows, first_session, sessions_csv
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


def expected_baselines() -> dict[str, float]:
    """Mean baseline headache days per 28 days per technique, worked out from the diary rows:
    the 28 days before each client's first session, counted as logged (>= 20 days logged) or
    pro-rated (14-19); the intake's 12 for a client without a diary baseline."""
    frame = pd.DataFrame(
        [r.split(";") for r in diary_rows(CLIENTS)],
        columns=["client", "day", "headache", "intensity", "medication", "notes"],
    )
    frame["day"] = pd.to_datetime(frame["day"], format="%d/%m/%Y")
    per_technique: dict[str, list[float]] = {"craniosacral": [], "trigger_point": []}
    for n in range(1, CLIENTS + 1):
        start = pd.Timestamp(first_session(n))
        mine = frame[frame["client"] == client_code(n)]
        window = mine[(mine["day"] >= start - pd.Timedelta(days=28)) & (mine["day"] < start)]
        logged, hurt = len(window), int((window["headache"] == "yes").sum())
        value = 12.0 if logged < 14 else hurt if logged >= 20 else hurt * 28 / logged
        per_technique["trigger_point" if n % 2 else "craniosacral"].append(value)
    return {k: sum(v) / len(v) for k, v in per_technique.items()}


def test_summary_json_reports_diary_derived_headache_days(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["import", str(write(tmp_path, "s.csv", sessions_csv(CLIENTS))), "--db", db_url])
    assert (
        main(["import", str(write(tmp_path, "diary.csv", diary_csv(CLIENTS))), "--db", db_url]) == 0
    )
    capsys.readouterr()
    assert main(["summary", "--by", "technique", "--format", "json", "--db", db_url]) == 0
    summary = json.loads(capsys.readouterr().out)
    groups = {g["group"]: g["hd28"] for g in summary["groups"]}
    expected = expected_baselines()
    for technique in ("craniosacral", "trigger_point"):
        hd28 = groups[technique]
        # 16 of each 20 clients kept a diary before treatment; 4 started it afterwards.
        assert (hd28["n"], hd28["baseline_from_diary"], hd28["baseline_from_intake"]) == (20, 16, 4)
        assert (hd28["last_from_diary"], hd28["last_from_sessions"]) == (20, 0)
        assert hd28["baseline_mean"] == pytest.approx(expected[technique])
        assert hd28["baseline_mean"] != 12.0  # not the intake's reported figure


def test_client_report_from_the_command_line_uses_the_diary(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["import", str(write(tmp_path, "s.csv", sessions_csv(4))), "--db", db_url])
    main(["import", str(write(tmp_path, "d.csv", diary_csv(4, repeat_row=None))), "--db", db_url])
    out = tmp_path / "D001.pdf"
    assert main(["report", "client", "D001", "--out", str(out), "--db", db_url]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert main(["report", "practice", "--out", str(tmp_path / "p.pdf"), "--db", db_url]) == 0

"""`python -m practice summary` against figures worked out by hand on a tiny practice.

Seven clients, four weekly sessions each, one technique per client. Baselines come from the
intake; the latest pain is the last session's pain_pre; the latest headache days per 28 days
are 4 x the weekly count, which is the same at every follow-up session here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats

from practice.cli import main

# client, technique, baseline pain, last pain, baseline HD28, weekly headache days at follow-up
CLIENTS = [
    ("T1", "trigger point", 8, 3, 12, 1),
    ("T2", "trigger point", 6, 3, 10, 2),
    ("T3", "trigger point", 7, 5, 8, 3),
    ("T4", "trigger point", 5, 4, 6, 3),
    ("S1", "swedish", 6, 5, 8, 2),
    ("S2", "swedish", 6, 4, 8, 1),
    ("S3", "swedish", 6, 6, 8, 2),
]
DATES = ["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"]


def practice_csv() -> str:
    lines = [
        "client_id,intake_date,baseline_pain,baseline_headache_days_28d,session_date,"
        "therapist,techniques,pain_pre,headache_days_7d"
    ]
    for client, technique, pain0, pain1, hd0, weekly in CLIENTS:
        pains = [pain0, pain0, pain0, pain1]
        for date, pain in zip(DATES, pains, strict=True):
            lines.append(
                f"{client},2025-01-02,{pain0},{hd0},{date},Jo Park,{technique},{pain},{weekly}"
            )
    return "\n".join(lines) + "\n"


def t_interval(values: list[float]) -> list[float]:
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return [mean - half, mean + half]


def wilson(k: int, n: int) -> list[float]:
    z = stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [centre - half, centre + half]


@pytest.fixture
def summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    url = f"sqlite:///{tmp_path / 'tiny.sqlite3'}"
    csv = tmp_path / "tiny.csv"
    csv.write_text(practice_csv())
    assert main(["import", str(csv), "--db", url]) == 0
    capsys.readouterr()
    assert main(["summary", "--by", "technique", "--format", "json", "--db", url]) == 0
    return json.loads(capsys.readouterr().out)


def test_summary_json_matches_hand_computed_figures(summary: dict) -> None:
    groups = {g["group"]: g for g in summary["groups"]}
    assert (summary["population"], summary["by"], summary["reference"]) == (
        "all",
        "technique",
        "trigger_point",
    )
    tp, sw = groups["trigger_point"], groups["swedish"]
    assert (tp["n_clients"], sw["n_clients"]) == (4, 3)

    # Pain: changes -5, -3, -2, -1 and -1, -2, 0.
    assert tp["pain"]["change_mean"] == pytest.approx(-2.75)
    assert tp["pain"]["change_ci"] == pytest.approx(t_interval([-5, -3, -2, -1]))
    assert sw["pain"]["change_ci"] == pytest.approx(t_interval([-1, -2, 0]))
    # >= 30 % and >= 2 points: T1 (62 %), T2 (50 %); S2 (33 %, 2 points).
    assert (tp["pain"]["responders_30"], sw["pain"]["responders_30"]) == (2, 1)
    assert tp["pain"]["responder_rate_30_ci"] == pytest.approx(wilson(2, 4))

    # HD28: 4 x weekly -> 4, 8, 12, 12 against 12, 10, 8, 6; 8, 4, 8 against 8.
    assert tp["hd28"]["baseline_mean"] == pytest.approx(9.0)
    assert tp["hd28"]["last_mean"] == pytest.approx(9.0)
    assert sw["hd28"]["change_mean"] == pytest.approx(-4 / 3)
    # >= 50 % fewer days: T1 (12 -> 4) and S2 (8 -> 4).
    assert (tp["hd28"]["responders_50"], sw["hd28"]["responders_50"]) == (1, 1)
    assert sw["hd28"]["responder_rate_50_ci"] == pytest.approx(wilson(1, 3))
    assert tp["hd28"]["adjusted_difference"] == 0
    assert tp["hd28"]["adjusted_difference_ci"] is None


def test_summary_table_is_readable_and_names_the_reference(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'tiny.sqlite3'}"
    csv = tmp_path / "tiny.csv"
    csv.write_text(practice_csv())
    main(["import", str(csv), "--db", url])
    capsys.readouterr()
    assert main(["summary", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "group minus Trigger point therapy" in out  # labels, not keys (issue 13 item 4)
    assert "-2.8 [" in out  # trigger point's pain change, rounded


def test_unknown_reference_is_an_error(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'tiny.sqlite3'}"
    csv = tmp_path / "tiny.csv"
    csv.write_text(practice_csv())
    main(["import", str(csv), "--db", url])
    assert main(["summary", "--reference", "reiki", "--db", url]) == 1
    assert "reiki" in capsys.readouterr().err


def test_the_count_at_a_time_point_is_a_whole_number_or_a_dash(summary: dict) -> None:
    """`summary --at 3m`: "n at 3 months" read "16.0" and "NaN" (issue 13)."""
    from practice.cli import format_summary

    at_summary = {**summary, "at": "3m", "at_days": 91, "at_window_days": 14}
    first, second = at_summary["groups"]
    for key in ("hd28", "pain"):
        first[key]["at_n"] = 16.0
        second[key]["at_n"] = float("nan")
    table = format_summary(at_summary)
    assert "NaN" not in table and "16.0" not in table
    rows = [line.split() for line in table.splitlines() if line.strip().startswith(("Tr", "Sw"))]
    # The last two columns: "n at 3 months" and "change at 3 months" (empty here).
    assert [row[-2] for row in rows] == ["16", "-", "16", "-"]


def test_the_summary_names_who_is_counted_and_the_grouping_in_words(tmp_path, capsys) -> None:
    """Not "dropouts_as_nonresponders", "headache_type" or "population 'completers'" (issue 13)."""
    url = f"sqlite:///{tmp_path / 'tiny.sqlite3'}"
    csv = tmp_path / "tiny.csv"
    csv.write_text(practice_csv())
    main(["import", str(csv), "--db", url])
    capsys.readouterr()
    args = ["summary", "--population", "dropouts_as_nonresponders", "--by", "headache_type"]
    assert main([*args, "--db", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Who is counted: everyone; dropouts count as not improved; groups by headache type"
    ), out
    assert "dropouts_as_nonresponders" not in out and "headache_type" not in out

    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    assert main(["init-db", "--db", empty]) == 0
    args = ["summary", "--population", "completers", "--reference", "swedish", "--db", empty]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert '("completers only")' in error and "'completers'" not in error, error

"""Time points ("at 3 months"), the unadjusted difference, SDs and covariates in the summary."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats

from practice import config
from practice.analysis import build_summary, compute_client_outcomes, summary_table
from practice.analysis.timepoints import TimePoint, parse_time_point
from practice.cli import main
from tests.analysis_frames import make_clients, make_sessions
from tests.test_cli_summary import practice_csv


@pytest.mark.parametrize(
    ("text", "days", "label"),
    [
        ("3m", 91, "3 months"),
        ("12w", 84, "12 weeks"),
        ("1m", 30, "1 month"),
        (" 6M ", 183, "6 months"),
    ],
)
def test_time_points_are_read_from_weeks_and_months(text: str, days: int, label: str) -> None:
    point = parse_time_point(text)
    assert (point.days, point.label) == (days, label)
    assert parse_time_point(point) is point


@pytest.mark.parametrize("bad", ["3", "3x", "0m", "", "m3", 3, None])
def test_a_bad_time_point_is_named(bad: object) -> None:
    with pytest.raises(ValueError, match=r"like 12w or 3m, got " + repr(bad).replace("(", r"\(")):
        parse_time_point(bad)


# One client: pain 8 at intake, follow-up reports at days 28, 84, 98 and 140 after session 1.
PAIN_BY_DAY = {0: 8, 28: 7, 84: 5, 98: 4, 140: 2}


def one_client() -> tuple:
    clients = make_clients([{"client_id": "A", "baseline_pain": 8.0}])
    sessions = make_sessions(
        [{"client_id": "A", "day": day, "pain_pre": pain} for day, pain in PAIN_BY_DAY.items()]
    )
    return clients, sessions


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (None, 2.0),  # the last available value
        ("12w", 5.0),  # day 84 exactly
        ("3m", 5.0),  # day 91: days 84 and 98 are equally near, the earlier wins
        ("14w", 4.0),  # day 98
        ("4w", 7.0),  # day 28
        ("6m", None),  # day 183: the nearest report (day 140) is 43 days away
    ],
)
def test_the_value_at_a_time_point_is_the_nearest_report_within_the_window(
    at: str | None, expected: float | None
) -> None:
    outcomes = compute_client_outcomes(*one_client(), at=at)
    latest = outcomes.at[0, "pain_latest"]
    if expected is None:
        assert math.isnan(latest)
        assert math.isnan(outcomes.at[0, "pain_change"])
    else:
        assert latest == expected
        assert outcomes.at[0, "pain_change"] == expected - 8


def test_the_window_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "TIME_POINT_WINDOW_DAYS", 45)
    outcomes = compute_client_outcomes(*one_client(), at="6m")
    assert outcomes.at[0, "pain_latest"] == 2.0  # day 140 is now within reach of day 183
    assert TimePoint(6, "m").days - 140 <= config.TIME_POINT_WINDOW_DAYS


def welch(a: list[float], b: list[float]) -> tuple[float, list[float]]:
    """Mean of a minus mean of b with Welch's 95 % interval, by hand."""
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1) / len(a)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    return ma - mb, [ma - mb - half, ma - mb + half]


@pytest.fixture
def tiny_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tiny.sqlite3'}"
    csv = tmp_path / "tiny.csv"
    csv.write_text(practice_csv())
    assert main(["import", str(csv), "--db", url]) == 0
    return url


def summary_json(url: str, capsys: pytest.CaptureFixture[str], *options: str) -> dict:
    capsys.readouterr()
    assert main(["summary", "--format", "json", "--db", url, *options]) == 0
    return json.loads(capsys.readouterr().out)


def test_summary_reports_sds_the_unadjusted_difference_and_covariates(tiny_db, capsys) -> None:
    groups = {g["group"]: g for g in summary_json(tiny_db, capsys)["groups"]}
    tp, sw = groups["trigger_point"]["pain"], groups["swedish"]["pain"]
    # Pain changes: trigger point -5, -3, -2, -1; swedish -1, -2, 0 (tests/test_cli_summary.py).
    assert tp["change_sd"] == pytest.approx(stats.tstd([-5, -3, -2, -1]))
    assert tp["baseline_sd"] == pytest.approx(stats.tstd([8, 6, 7, 5]))
    assert tp["last_sd"] == pytest.approx(stats.tstd([3, 3, 5, 4]))
    difference, interval = welch([-1, -2, 0], [-5, -3, -2, -1])
    assert sw["unadjusted_difference"] == pytest.approx(difference)
    assert sw["unadjusted_difference_ci"] == pytest.approx(interval)
    assert (tp["unadjusted_difference"], tp["unadjusted_difference_ci"]) == (0, None)
    # Nobody's age, sex or headache type is recorded: the model adjusts for the baseline only.
    assert sw["adjusted_covariates"] == ["baseline"]
    assert sw["at_n"] is None and sw["at_change_mean"] is None


def test_summary_at_a_time_point_sits_beside_the_last_value(tiny_db, capsys) -> None:
    # Sessions on days 0, 7, 14, 21: "3w" is the day-21 report, "1w" the day-7 one.
    at_three = summary_json(tiny_db, capsys, "--at", "3w")
    at_one = summary_json(tiny_db, capsys, "--at", "1w")
    assert (at_three["at"], at_three["at_days"], at_one["at_days"]) == ("3w", 21, 7)
    assert at_three["at_window_days"] == config.TIME_POINT_WINDOW_DAYS
    tp3 = {g["group"]: g for g in at_three["groups"]}["trigger_point"]["pain"]
    tp1 = {g["group"]: g for g in at_one["groups"]}["trigger_point"]["pain"]
    assert tp3["at_change_mean"] == pytest.approx(tp3["change_mean"]) == pytest.approx(-2.75)
    assert tp3["at_n"] == 4
    # At day 7 everyone still reports their intake pain: no change yet, no responders.
    assert tp1["at_mean"] == pytest.approx(6.5) and tp1["at_change_mean"] == 0
    assert tp1["at_responders_30"] == 0
    assert tp1["change_mean"] == pytest.approx(-2.75)  # the last value is still reported
    table = summary_table(at_one)
    assert table["at"].eq("1w").all()
    assert table.set_index("group").at["trigger_point", "pain_at_change_mean"] == 0


def test_the_terminal_table_shows_pain_adjusted_differences_and_the_time_point(
    tiny_db, capsys
) -> None:
    summary = summary_json(tiny_db, capsys)
    swedish = next(g for g in summary["groups"] if g["group"] == "swedish")
    capsys.readouterr()
    assert main(["summary", "--db", tiny_db, "--at", "3w"]) == 0
    out = capsys.readouterr().out
    pain_table = out.split("Pain (0-10)", 1)[1]
    assert "adjusted diff" in pain_table and "unadjusted diff" in pain_table
    assert f"{swedish['pain']['adjusted_difference']:+.1f} [" in pain_table
    assert "change at 3 weeks" in pain_table
    assert "'at 3 weeks'" in out


def test_a_bad_at_option_is_named(tiny_db, capsys) -> None:
    capsys.readouterr()
    assert main(["summary", "--db", tiny_db, "--at", "3 moons"]) == 1
    assert "--at" in capsys.readouterr().err


def test_build_summary_without_a_time_point_keeps_the_at_keys_null() -> None:
    summary = build_summary(*one_client())
    assert summary["at"] is None
    assert summary["groups"][0]["pain"]["at_mean"] is None

"""Per-client outcomes and populations, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from practice import config
from practice.analysis import OUTCOME_COLUMNS, compute_client_outcomes, select_population
from tests.analysis_frames import make_clients, make_sessions, weekly


@pytest.fixture(scope="module")
def practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four clients, weekly sessions from 2025-01-06 (day 0); the data ends on day 21."""
    clients = make_clients(
        [
            {
                "client_id": "A",
                "baseline_pain": 8,
                "baseline_headache_days_28d": 12,
                "baseline_medication_days_28d": 12,
                "birth_year": 1990.0,
            },
            {"client_id": "B", "baseline_pain": 0, "baseline_headache_days_28d": 0},
            {"client_id": "C"},
            {"client_id": "D", "baseline_pain": 7},
        ]
    )
    sessions = make_sessions(
        weekly(
            "A",
            {
                "pain_pre": [8, 7, 5, 4],
                "pain_post": [6, 5, 4, 3],
                "headache_days_7d": [3, 2, 2, 1],
                "medication_days_7d": [3, 2, 1, 1],
            },
        )
        + weekly(
            "B",
            {"pain_pre": [0, 1], "headache_days_7d": [0, 1]},
            therapist="Ben",
            techniques="swedish;stretching",
        )
        + weekly("C", {"pain_pre": [6, 5, 3], "headache_days_28d": [10, np.nan, 4]})
        + weekly("D", {"pain_pre": [7]})
    )
    return clients, sessions


@pytest.fixture(scope="module")
def outcomes(practice: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    return compute_client_outcomes(*practice).set_index("client_id")


# Pain baselines per client: A 8, B 0, C 6, D 7 -> sum of squared deviations from 5.25 is
# 2.75^2 + 5.25^2 + 0.75^2 + 1.75^2 = 38.75, SD = sqrt(38.75 / 3).
PAIN_SE = math.sqrt(38.75 / 3) * math.sqrt(2) * math.sqrt(1 - config.RELIABILITY["pain"])


@pytest.mark.parametrize(
    ("client", "column", "expected"),
    [
        # A: intake pain 8; follow-up pre-session pain 7, 5, 4 -> latest 4.
        ("A", "pain_baseline", 8.0),
        ("A", "pain_baseline_from", "intake"),
        ("A", "pain_latest", 4.0),
        ("A", "pain_change", -4.0),
        ("A", "pain_pct_change", -50.0),  # 100 * -4 / 8
        ("A", "pain_rci", -4.0 / PAIN_SE),  # -1.76: not reliable
        ("A", "pain_reliable", False),
        ("A", "pain_change_label", "meaningful"),  # >= 30 % and >= 2 points
        ("A", "pain_responder_30", True),
        ("A", "pain_responder_50", True),
        ("A", "pain_sessions_to_response", 3.0),  # session 3: 8 -> 5 is 37.5 % and 3 points
        ("A", "pain_days_to_response", 14.0),
        ("A", "pain_last_report_session", 4.0),
        # A: weekly headache days 2, 2, 1 after session 1 -> 8, 8, 4 per 28 days, averaged.
        ("A", "hd28_latest", 20 / 3),
        ("A", "hd28_change", 20 / 3 - 12),
        ("A", "hd28_pct_change", 100 * (20 / 3 - 12) / 12),  # -44.4 %
        ("A", "hd28_responder_30", True),
        ("A", "hd28_responder_50", False),
        ("A", "hd28_responder_75", False),
        ("A", "hd28_sessions_to_response", np.nan),  # 8, (8+8)/2, 20/3: never <= 6
        # A: medication 4 x (2, 1, 1) = 8, 4, 4 -> 16/3 against 12 at intake.
        ("A", "medication_days_latest", 16 / 3),
        ("A", "possible_medication_overuse", True),  # 12 >= 10
        ("A", "medication_overuse", False),  # 12 < 15
        ("A", "chronic_headache", False),  # 12 < 15
        ("A", "immediate_relief_mean", 1.5),  # (2 + 2 + 1 + 1) / 4
        ("A", "immediate_relief_sessions", 4),
        ("A", "age_at_intake", 35.0),  # 2025 - 1990
        ("A", "series_status", "completer"),
        ("A", "coverage", 1.0),
        # B: baselines of 0 give no percent change and never a responder.
        ("B", "hd28_baseline", 0.0),
        ("B", "hd28_latest", 4.0),
        ("B", "hd28_pct_change", np.nan),
        ("B", "hd28_responder_50", pd.NA),
        ("B", "pain_responder_30", pd.NA),
        ("B", "primary_technique", "stretching"),  # tie with swedish -> alphabetical
        ("B", "exposure_techniques", "stretching;swedish"),
        ("B", "therapist", "Ben"),
        # B: last session day 7, data ends day 21: 14 days <= 2 x 7-day interval -> ongoing.
        ("B", "series_status", "ongoing"),
        # C: no intake values -> baselines from the first report (session 1).
        ("C", "pain_baseline", 6.0),
        ("C", "pain_baseline_from", "first report"),
        ("C", "pain_latest", 3.0),
        ("C", "pain_responder_30", True),  # -50 %, -3 points
        ("C", "hd28_baseline", 10.0),
        ("C", "hd28_latest", 4.0),  # the only follow-up report (session 3)
        ("C", "hd28_pct_change", -60.0),
        ("C", "hd28_responder_50", True),
        ("C", "hd28_responder_75", False),
        ("C", "hd28_sessions_to_response", 3.0),
        ("C", "hd28_days_to_response", 14.0),
        ("C", "hit6_baseline", np.nan),  # never recorded
        ("C", "hit6_change_label", np.nan),
        # D: one session, none since day 0 (21 days > 2 x 7) -> dropout without follow-up.
        ("D", "pain_baseline", 7.0),
        ("D", "pain_latest", np.nan),
        ("D", "pain_responder_30", pd.NA),
        ("D", "series_status", "dropout"),
        ("D", "dropout", True),
        ("D", "active", False),
    ],
)
def test_client_outcome_values(
    outcomes: pd.DataFrame, client: str, column: str, expected: object
) -> None:
    value = outcomes.at[client, column]
    if expected is pd.NA:
        assert value is pd.NA
    elif isinstance(expected, float) and math.isnan(expected):
        assert pd.isna(value)
    elif isinstance(expected, float):
        assert value == pytest.approx(expected)
    else:
        assert value == expected


def test_columns_and_one_row_per_series(outcomes: pd.DataFrame) -> None:
    assert list(outcomes.reset_index().columns) == OUTCOME_COLUMNS
    assert list(outcomes.index) == ["A", "B", "C", "D"]


def test_input_is_not_mutated(practice: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    clients, sessions = practice
    before = (clients.copy(), sessions.copy())
    compute_client_outcomes(clients, sessions, gap_days=30)
    pd.testing.assert_frame_equal(clients, before[0])
    pd.testing.assert_frame_equal(sessions, before[1])


def test_hd28_averages_the_last_28_days_of_weekly_reports() -> None:
    # Follow-up reports on days 7..35: 4 x (4, 3, 2, 1, 1) = 16, 12, 8, 4, 4. The 28 days up
    # to day 35 are days 8..35, so the latest value is (12 + 8 + 4 + 4) / 4 = 7.
    clients = make_clients([{"client_id": "A", "baseline_headache_days_28d": 20}])
    sessions = make_sessions(weekly("A", {"headache_days_7d": [5, 4, 3, 2, 1, 1]}))
    row = compute_client_outcomes(clients, sessions).iloc[0]
    assert row["hd28_latest"] == pytest.approx(7.0)
    # The 28-day average first reaches <= 10 at day 21: (16 + 12 + 8) / 3 = 12 > 10 on day 21,
    # (16 + 12 + 8 + 4) / 4 = 10 on day 28 (session 5).
    assert row["hd28_sessions_to_response"] == 5


def test_later_series_start_from_their_own_first_report() -> None:
    clients = make_clients([{"client_id": "E", "baseline_pain": 9}])
    rows = weekly("E", {"pain_pre": [8, 6]}) + [
        {"client_id": "E", "day": 200 + 7 * i, "pain_pre": p} for i, p in enumerate([5, 4, 2])
    ]
    outcomes = compute_client_outcomes(clients, make_sessions(rows))
    assert outcomes["series_number"].tolist() == [1, 2]
    assert outcomes["pain_baseline"].tolist() == [9.0, 5.0]
    assert outcomes["pain_baseline_from"].tolist() == ["intake", "first report"]
    assert outcomes["pain_latest"].tolist() == [6.0, 2.0]
    # A 365-day gap makes it one series: intake 9 against the last report 2.
    merged = compute_client_outcomes(clients, make_sessions(rows), gap_days=365)
    assert merged[["series_number", "pain_baseline", "pain_latest"]].values.tolist() == [
        [1, 9.0, 2.0]
    ]


def test_therapist_and_technique_ties_and_exposure() -> None:
    sessions = make_sessions(
        [
            {"client_id": "T", "day": 0, "therapist": "Ben", "techniques": "swedish"},
            {"client_id": "T", "day": 7, "therapist": "Ana", "techniques": "trigger_point"},
            {
                "client_id": "T",
                "day": 14,
                "therapist": "Ana",
                "techniques": "swedish;trigger_point",
            },
            {"client_id": "T", "day": 21, "therapist": "Ben", "techniques": "stretching"},
            {
                "client_id": "T",
                "day": 28,
                "therapist": "Cleo",
                "status": "no_show",
                "techniques": "",
            },
            {"client_id": "U", "day": 0, "therapist": "Dev", "status": "cancelled"},
        ]
    )
    out = compute_client_outcomes(make_clients([{"client_id": "T"}]), sessions)
    out = out.set_index("client_id")
    # Ben 2, Ana 2 attended sessions: Ben saw the client first. The no-show does not count.
    assert out.at["T", "therapist"] == "Ben"
    # swedish 2 (first session 1), trigger_point 2 (first session 2) -> swedish.
    assert out.at["T", "primary_technique"] == "swedish"
    # Shares: swedish 2/4, trigger_point 2/4, stretching 1/4 -> the first two (>= 50 %).
    assert out.at["T", "exposure_techniques"] == "swedish;trigger_point"
    assert out.at["T", "sessions_booked"] == 5
    assert out.at["T", "sessions_attended"] == 4
    # U never attended: its only therapist, no technique, a dropout without dates.
    assert out.at["U", "therapist"] == "Dev"
    assert pd.isna(out.at["U", "primary_technique"])
    assert out.at["U", "sessions_attended"] == 0
    assert out.at["U", "series_status"] == "dropout"
    assert pd.isna(out.at["U", "coverage"])


def test_coverage_counts_attended_sessions_with_any_score() -> None:
    scores = {"pain_pre": [5, np.nan, np.nan, 4], "stress": [np.nan, 3, np.nan, np.nan]}
    cancelled = {"client_id": "A", "day": 30, "status": "cancelled", "techniques": ""}
    sessions = make_sessions([*weekly("A", scores), cancelled])
    row = compute_client_outcomes(make_clients([{"client_id": "A"}]), sessions).iloc[0]
    assert row["coverage"] == pytest.approx(0.75)  # sessions 1, 2 and 4 of 4 have a score


@pytest.mark.parametrize(
    ("stress", "label"),
    [
        # Stress baselines 2, 6, 10: SD 4, SE of a change 4 * sqrt(2) * sqrt(1 - 0.7) = 3.10;
        # reliable beyond 1.96 x 3.10 = 6.07 points. Stress has no "meaningful" threshold.
        ((10, 2), "reliable"),
        ((2, 9), "reliable worsening"),
        ((6, 5), "no clear change"),
    ],
)
def test_reliable_change_labels(stress: tuple[int, int], label: str) -> None:
    pairs = {"X": (10, 2), "Y": (2, 9), "Z": (6, 5)}
    clients = make_clients([{"client_id": k, "baseline_stress": v[0]} for k, v in pairs.items()])
    rows = [r for k, v in pairs.items() for r in weekly(k, {"stress": [v[0], v[1]]})]
    out = compute_client_outcomes(clients, make_sessions(rows)).set_index("client_id")
    client = next(k for k, v in pairs.items() if v == stress)
    se = 4 * math.sqrt(2) * math.sqrt(1 - config.RELIABILITY["stress"])
    assert out.at[client, "stress_rci"] == pytest.approx((stress[1] - stress[0]) / se)
    assert out.at[client, "stress_change_label"] == label


@pytest.mark.parametrize(
    ("pain", "label"),
    [
        # Pain baselines 2, 6, 10: SD 4, SE 4 * sqrt(2) * sqrt(0.2) = 2.53; reliable beyond 4.96.
        ((10, 4), "meaningful and reliable"),  # -6 points, -60 %
        ((6, 9), "meaningful worsening"),  # +3 points, +50 %, not beyond noise
        ((2, 2), "no clear change"),
    ],
)
def test_meaningful_and_reliable_labels(pain: tuple[int, int], label: str) -> None:
    pairs = {"X": (10, 4), "Y": (6, 9), "Z": (2, 2)}
    clients = make_clients([{"client_id": k, "baseline_pain": v[0]} for k, v in pairs.items()])
    rows = [r for k, v in pairs.items() for r in weekly(k, {"pain_pre": [v[0], v[1]]})]
    out = compute_client_outcomes(clients, make_sessions(rows)).set_index("client_id")
    client = next(k for k, v in pairs.items() if v == pain)
    assert out.at[client, "pain_change_label"] == label


def test_sleep_quality_improves_upwards() -> None:
    pairs = {"X": (2, 10), "Y": (6, 6), "Z": (10, 10)}
    clients = make_clients(
        [{"client_id": k, "baseline_sleep_quality": v[0]} for k, v in pairs.items()]
    )
    rows = [r for k, v in pairs.items() for r in weekly(k, {"sleep_quality": [v[0], v[1]]})]
    out = compute_client_outcomes(clients, make_sessions(rows)).set_index("client_id")
    # +8 points against a reliable-change limit of 1.96 x 4 x sqrt(2) x sqrt(0.3) = 6.07.
    assert out.at["X", "sleep_quality_change"] == 8
    assert out.at["X", "sleep_quality_change_label"] == "reliable"


@pytest.mark.parametrize(
    ("baseline", "latest", "grades", "responder"),
    [
        (25, 8, (4.0, 2.0, -2.0), True),  # IV -> II
        (12, 10, (3.0, 2.0, -1.0), True),  # III -> II
        (9, 6, (2.0, 2.0, 0.0), False),  # II -> II
        (4, 0, (1.0, 1.0, 0.0), pd.NA),  # grade I cannot improve by a grade
        (5, 6, (1.0, 2.0, 1.0), pd.NA),  # 5 is still grade I; 6 is grade II
    ],
)
def test_midas_grades(
    baseline: int, latest: int, grades: tuple[float, float, float], responder: object
) -> None:
    clients = make_clients([{"client_id": "M", "baseline_midas": baseline}])
    sessions = make_sessions(weekly("M", {"midas": [np.nan, latest]}))
    row = compute_client_outcomes(clients, sessions).iloc[0]
    columns = ["midas_grade_baseline", "midas_grade_latest", "midas_grade_change"]
    assert tuple(row[columns]) == grades
    assert row["midas_responder"] is responder or row["midas_responder"] == responder


@pytest.mark.parametrize(("latest", "responder"), [(60, True), (61, False), (72, False)])
def test_hit6_responder_needs_six_points(latest: int, responder: bool) -> None:
    clients = make_clients([{"client_id": "H", "baseline_hit6": 66}])
    sessions = make_sessions(weekly("H", {"hit6": [np.nan, latest]}))
    assert compute_client_outcomes(clients, sessions).at[0, "hit6_responder"] == responder


@pytest.mark.parametrize(
    ("medication", "hd28", "flags"),
    [
        (9, 14, (False, False, False)),
        (10, 15, (True, False, True)),
        (15, 20, (True, True, True)),
        (np.nan, np.nan, (pd.NA, pd.NA, pd.NA)),
    ],
)
def test_intake_risk_flags(medication: float, hd28: float, flags: tuple[object, ...]) -> None:
    clients = make_clients(
        [
            {
                "client_id": "R",
                "baseline_medication_days_28d": medication,
                "baseline_headache_days_28d": hd28,
            }
        ]
    )
    row = compute_client_outcomes(clients, make_sessions(weekly("R", {"pain_pre": [5]}))).iloc[0]
    names = ["possible_medication_overuse", "medication_overuse", "chronic_headache"]
    assert [row[n] if row[n] is not pd.NA else pd.NA for n in names] == list(flags)


def test_ongoing_window_follows_the_clients_own_interval() -> None:
    # Fortnightly client: last session day 14, data ends day 40 -> 26 <= 2 x 14: ongoing.
    # Weekly client with its last session on day 14: 26 > 2 x 7 -> dropout.
    sessions = make_sessions(
        [{"client_id": "F", "day": d} for d in (0, 14)]
        + [{"client_id": "W", "day": d} for d in (0, 7, 14)]
        + [{"client_id": "Z", "day": d} for d in (26, 33, 40)]
    )
    out = compute_client_outcomes(make_clients([]), sessions).set_index("client_id")
    assert out["series_status"].to_dict() == {"F": "ongoing", "W": "dropout", "Z": "ongoing"}
    later = compute_client_outcomes(make_clients([]), sessions, as_of="2025-03-31")
    assert later["series_status"].tolist() == ["dropout", "dropout", "dropout"]


def test_empty_sessions_give_an_empty_frame_with_the_columns() -> None:
    out = compute_client_outcomes(make_clients([]), make_sessions([]))
    assert out.empty
    assert list(out.columns) == OUTCOME_COLUMNS


def test_all_nan_measure_stays_empty(practice: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    clients, sessions = practice
    out = compute_client_outcomes(clients, sessions.drop(columns=["hit6", "midas"]))
    assert out["hit6_latest"].isna().all()
    assert out["midas_responder"].isna().all()


@pytest.mark.parametrize(
    ("clients", "sessions", "kwargs", "message"),
    [
        ("not a frame", None, {}, "clients must be a pandas DataFrame"),
        (None, "not a frame", {}, "sessions must be a pandas DataFrame"),
        (None, "drop:status", {}, "sessions is missing columns \\['status'\\]"),
        ("drop:client_id", None, {}, "clients is missing columns"),
        (None, None, {"gap_days": -1}, "gap_days must be"),
        (None, None, {"as_of": "not a date"}, "as_of must be a date"),
        ("duplicate", None, {}, "duplicate client_id"),
    ],
)
def test_invalid_arguments_are_named(
    practice: tuple[pd.DataFrame, pd.DataFrame],
    clients: object,
    sessions: object,
    kwargs: dict,
    message: str,
) -> None:
    good_clients, good_sessions = practice

    def pick(value: object, good: pd.DataFrame) -> object:
        if value is None:
            return good
        if value == "duplicate":
            return pd.concat([good, good])
        if isinstance(value, str) and value.startswith("drop:"):
            return good.drop(columns=value[5:])
        return value

    with pytest.raises(ValueError, match=message):
        compute_client_outcomes(
            pick(clients, good_clients), pick(sessions, good_sessions), **kwargs
        )


# --- populations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "clients"),
    [
        ("all", ["A", "B", "C"]),  # D has no follow-up score
        ("completers", ["A"]),  # only A attended >= 4 sessions
        ("dropouts_as_nonresponders", ["A", "B", "C", "D"]),  # everyone with a baseline
    ],
)
def test_populations(outcomes: pd.DataFrame, population: str, clients: list[str]) -> None:
    chosen = select_population(outcomes.reset_index(), population)
    assert chosen["client_id"].tolist() == clients
    assert set(chosen["population"]) == {population}
    assert chosen.attrs["population"] == population


def test_dropouts_count_as_nonresponders(outcomes: pd.DataFrame) -> None:
    chosen = select_population(outcomes.reset_index(), "dropouts_as_nonresponders")
    chosen = chosen.set_index("client_id")
    assert chosen.at["D", "pain_responder_30"] is not pd.NA
    assert not chosen.at["D", "pain_responder_30"]  # dropout with baseline 7, no follow-up
    assert chosen.at["D", "hd28_responder_50"] is pd.NA  # no headache-day baseline at all
    assert chosen.at["B", "pain_responder_30"] is pd.NA  # baseline 0: never a responder
    # The input keeps its NA.
    assert outcomes.at["D", "pain_responder_30"] is pd.NA


def test_population_is_checked(outcomes: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="population must be one of"):
        select_population(outcomes.reset_index(), "everyone")
    completers = select_population(outcomes.reset_index(), "completers")
    with pytest.raises(ValueError, match="already restricted"):
        select_population(completers, "all")
    pd.testing.assert_frame_equal(select_population(completers, "completers"), completers)

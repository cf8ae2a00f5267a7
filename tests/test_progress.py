"""One client's progress (practice.progress) on a hand-made client with exact values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from practice import config, progress
from practice.analysis import compute_client_outcomes

NAN = np.nan


def make_clients() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": ["C1", "C2", "C3"],
            "client_name": ["Ana Ng", "Bo *Bold*", None],
            "intake_date": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-01-07"]),
            "birth_year": [1980.0, NAN, 1990.0],
            "sex": ["female", "male", None],
            "headache_type": ["tension_type", "migraine", "migraine"],
            "headache_years": [12.0, NAN, 3.0],
            "baseline_pain": [7.0, NAN, 5.0],
            "baseline_headache_days_28d": [16.0, NAN, 4.0],
            "baseline_medication_days_28d": [12.0, NAN, 2.0],
            "baseline_hit6": [64.0, NAN, NAN],
            "baseline_midas": [NAN, NAN, NAN],
            "baseline_stress": [6.0, NAN, NAN],
            "baseline_sleep_quality": [5.0, NAN, NAN],
            "baseline_source": ["diary", None, "recall"],
            "triggers": ["stress; screens;", None, "alcohol"],
            "referral_source": ["GP", None, "friend"],
        }
    )


def make_sessions() -> pd.DataFrame:
    """C1: three attended sessions and a no-show in series 1; C2 only no-shows; C3 one visit."""
    # fmt: off
    rows = [
        # client, date, therapist, status, techniques, pain pre, pain post, headache days 7 d,
        # headache days 28 d, medication days 7 d, stress, sleep quality, notes, cancel reason
        ("C1", "2026-01-05", "Jo Park", "attended", "trigger_point;swedish", 6, 3, 3, NAN, 2, 7,
         4, "Neck stiff", None),
        ("C1", "2026-01-12", "Jo Park", "no_show", "swedish", NAN, NAN, NAN, NAN, NAN, NAN, NAN,
         None, "forgot"),
        ("C1", "2026-01-19", "Sam Wu", "attended", "trigger_point", 4, 2, 2, NAN, 1, NAN, 6,
         None, None),
        ("C1", "2026-02-02", "Jo Park", "attended", "craniosacral", 3, 1, NAN, 6, NAN, 5, NAN,
         "Better", None),
        ("C2", "2026-01-08", "Sam Wu", "no_show", "swedish", NAN, NAN, NAN, NAN, NAN, NAN, NAN,
         None, "ill"),
        ("C3", "2026-01-09", "Jo Park", "attended", "", 5, 4, NAN, NAN, NAN, NAN, NAN, None, None),
    ]
    # fmt: on
    columns = [
        "client_id",
        "session_date",
        "therapist",
        "status",
        "techniques",
        "pain_pre",
        "pain_post",
        "headache_days_7d",
        "headache_days_28d",
        "medication_days_7d",
        "stress",
        "sleep_quality",
        "notes",
        "cancel_reason",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    frame["session_date"] = pd.to_datetime(frame["session_date"])
    frame.insert(0, "session_id", range(1, len(frame) + 1))
    frame["series_number"] = 1
    frame["hit6"] = NAN
    frame["midas"] = NAN
    return frame


@pytest.fixture
def outcome() -> pd.Series:
    outcomes = compute_client_outcomes(make_clients(), make_sessions())
    return outcomes.set_index("client_id").loc["C1"]


# --- finding the client ------------------------------------------------------------------------
def test_client_choices_label_every_client_by_id_and_name() -> None:
    choices = progress.client_choices(make_clients(), make_sessions())
    assert choices.to_dict("list") == {
        "client_id": ["C1", "C2", "C3"],
        "label": ["C1 · Ana Ng", "C2 · Bo *Bold*", "C3"],
    }


@pytest.mark.parametrize(
    ("therapists", "types", "expected"),
    [
        (["Sam Wu"], [], ["C1", "C2"]),
        (["Jo Park"], ["migraine"], ["C3"]),
        ([], ["tension_type"], ["C1"]),
        (["Nobody"], [], []),
    ],
)
def test_client_choices_follow_the_therapist_and_headache_type_filters(
    therapists: list[str], types: list[str], expected: list[str]
) -> None:
    choices = progress.client_choices(
        make_clients(), make_sessions(), therapists=therapists, headache_types=types
    )
    assert choices["client_id"].tolist() == expected


def test_client_choices_follow_the_location_filter() -> None:
    sessions = make_sessions()
    # C1 was seen at Harbour once (a later session elsewhere), C3 only at Old Town.
    sessions["location"] = ["Harbour", None, "Old Town", "Old Town", None, "Old Town"]
    clients = make_clients()
    harbour = progress.client_choices(clients, sessions, locations=["Harbour"])
    assert harbour["client_id"].tolist() == ["C1"]
    old_town = progress.client_choices(clients, sessions, locations=["Old Town"])
    assert old_town["client_id"].tolist() == ["C1", "C3"]
    assert progress.client_choices(clients, sessions, locations=["Nowhere"]).empty
    # A practice whose data names no location: the filter cannot narrow anything.
    unnamed = progress.client_choices(clients, make_sessions(), locations=["Harbour"])
    assert unnamed["client_id"].tolist() == ["C1", "C2", "C3"]


@pytest.mark.parametrize(
    ("query", "limit", "expected", "found"),
    [
        ("", 2, ["C1", "C2"], 3),  # no search: the first `limit` ids
        (None, 5, ["C1", "C2", "C3"], 3),
        ("ana", 5, ["C1"], 1),  # part of a name, ignoring case
        ("  BOLD ", 5, ["C2"], 1),
        ("c", 2, ["C1", "C2"], 3),  # part of an id: at most `limit`, and how many matched
        ("c3", 5, ["C3"], 1),  # a client without a name is found by id
        ("zz", 5, [], 0),
    ],
)
def test_search_clients_finds_by_id_or_name_and_offers_at_most_limit(
    query: object, limit: int, expected: list[str], found: int
) -> None:
    choices = progress.client_choices(make_clients(), make_sessions())
    matches, count = progress.search_clients(choices, query, limit=limit)
    assert matches["client_id"].tolist() == expected
    assert count == found
    assert list(matches.columns) == ["client_id", "label"]


def test_search_clients_puts_an_exact_id_first() -> None:
    choices = pd.DataFrame(
        {"client_id": ["A10", "A100", "A1000"], "label": ["A10 · Zoe", "A100", "A1000 · A100x"]}
    )
    matches, count = progress.search_clients(choices, "a1000", limit=2)
    assert matches["client_id"].tolist() == ["A1000"] and count == 1
    matches, count = progress.search_clients(choices, "A100", limit=2)
    assert matches["client_id"].tolist() == ["A100", "A1000"] and count == 2
    with pytest.raises(ValueError, match="limit"):
        progress.search_clients(choices, "", limit=0)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [("C1", "C1"), (" c2 ", "C2"), ("C9", None), ("", None), (None, None)],
)
def test_find_client_matches_exactly_or_ignoring_case(requested: object, expected: object) -> None:
    assert progress.find_client(make_clients(), requested) == expected


@pytest.mark.parametrize(
    ("requested", "expected"), [("2", 2), (" 1", 1), ("3", None), ("two", None), (None, None)]
)
def test_find_series_accepts_only_the_clients_series(requested: object, expected: object) -> None:
    assert progress.find_series(requested, [2, 1]) == expected


def test_series_choices_list_the_latest_series_first() -> None:
    outcomes = pd.DataFrame(
        {
            "client_id": ["C1", "C1", "C2"],
            "series_number": [1, 2, 1],
            "first_session_date": pd.to_datetime(["2025-03-04", "2026-01-05", "2025-01-01"]),
            "sessions_attended": [5, 1, 0],
        }
    )
    choices = progress.series_choices(outcomes, "C1")
    assert choices.to_dict("list") == {
        "series_number": [2, 1],
        "label": [
            "Series 2 · from 05 Jan 2026 · 1 session attended",
            "Series 1 · from 04 Mar 2025 · 5 sessions attended",
        ],
    }
    only_missed = outcomes.assign(first_session_date=pd.NaT)
    assert progress.series_choices(only_missed, "C2")["label"].tolist() == [
        "Series 1 · no session attended yet"
    ]


# --- intake ------------------------------------------------------------------------------------
def test_intake_facts_describe_the_client_in_words() -> None:
    clients = make_clients().set_index("client_id")
    assert progress.intake_facts(clients.loc["C1"]) == [
        ("Headache type", "Tension-type headache"),
        ("Intake date", "05 Jan 2026"),
        ("Age at intake", "46"),
        ("Years with headaches", "12"),
        ("Baseline from", "Headache diary"),
        ("Triggers", "stress, screens"),
        ("Referred by", "GP"),
    ]
    assert [text for _, text in progress.intake_facts(clients.loc["C2"])][2:] == [
        "not recorded"
    ] * 5


def test_baseline_table_lists_every_measure_at_intake() -> None:
    table = progress.baseline_table(make_clients().set_index("client_id").loc["C1"])
    assert table["measure"].tolist() == [
        "Headache days per 28 days",
        "Pain (0-10)",
        "Medication days per 28 days",
        "HIT-6 (36-78)",
        "MIDAS",
        "Stress (0-10)",
        "Sleep quality (0-10)",
    ]
    np.testing.assert_array_equal(table["value"], [16.0, 7.0, 12.0, 64.0, NAN, 6.0, 5.0])


def test_risk_flags_explain_chronic_and_overuse_as_prompts(outcome: pd.Series) -> None:
    flags = progress.risk_flags(outcome)
    assert len(flags) == 2
    assert flags[0].startswith("**Frequent headaches**: 16 headache days per 28 days")
    assert flags[1].startswith("**Possible medication overuse**: headache medicine on 12 days")
    assert all("not a diagnosis" in flag for flag in flags)
    assert progress.unchecked_flags(outcome) == []


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"chronic_headache": False, "medication_overuse": True,
          "possible_medication_overuse": True}, ["**Medication overuse**"]),
        ({"chronic_headache": pd.NA, "medication_overuse": pd.NA,
          "possible_medication_overuse": pd.NA}, []),
    ],
)  # fmt: skip
def test_risk_flags_show_the_stronger_overuse_flag_only(
    flags: dict[str, object], expected: list[str]
) -> None:
    row = pd.Series({"hd28_baseline": 8.0, "medication_days_baseline": 16.0, **flags})
    assert [f.split(":")[0] for f in progress.risk_flags(row)] == expected


def test_unchecked_flags_name_the_missing_baselines() -> None:
    row = pd.Series({"hd28_baseline": NAN, "medication_days_baseline": NAN})
    assert progress.unchecked_flags(row) == [
        "chronic headache (no headache days at baseline)",
        "medication overuse (no medication days at baseline)",
    ]


# --- change ------------------------------------------------------------------------------------
def test_change_summary_has_baseline_latest_change_and_label(outcome: pd.Series) -> None:
    summary = progress.change_summary(outcome).set_index("measure")
    # Headache days: intake 16; follow-up reports 2 x 4 = 8 (day 14) and 6 (day 28) both fall in
    # the last 28 days, so latest = 7, change -9, -56.25 %: at least 50 % fewer is meaningful.
    # Reliable change uses the spread of the baselines of C1 and C3 (16 and 4: SD 8.49, r 0.8),
    # so RCI = -9 / (8.49 x sqrt(2) x sqrt(0.2)) = -1.68: within the noise.
    hd28 = summary.loc["Headache days per 28 days"]
    assert (hd28["baseline"], hd28["latest"], hd28["change"]) == (16.0, 7.0, -9.0)
    assert hd28["pct_change"] == pytest.approx(-56.25)
    assert (hd28["baseline_from"], hd28["result"]) == (
        "intake, from a headache diary",
        "meaningful",
    )
    assert hd28["meaning"] == (
        "Improved: at least 50 % fewer headache days, but within what the measure's usual ups "
        "and downs could produce."
    )
    pain = summary.loc["Pain (0-10)"]
    assert (pain["baseline"], pain["latest"], pain["change"]) == (7.0, 3.0, -4.0)
    # Pain baselines 7 and 5 (SD 1.41): RCI = -4 / 0.89 = -4.5, beyond the noise.
    assert pain["result"] == "meaningful and reliable"
    hit6 = summary.loc["HIT-6 (36-78)"]
    assert (hit6["baseline"], hit6["result"]) == (64.0, "no follow-up score yet")
    assert np.isnan(hit6["latest"])
    assert summary.loc["MIDAS", "result"] == "not recorded"
    stress = summary.loc["Stress (0-10)"]
    # Only one client has a stress baseline: no spread, so the change cannot be judged (#13).
    assert (stress["latest"], stress["change"]) == (5.0, -1.0)
    assert stress["result"] == "not enough data to judge"


@pytest.mark.parametrize(
    ("key", "result", "expected"),
    [
        ("hit6", "meaningful and reliable worsening",
         "Worse: at least 6 points higher HIT-6, and bigger than the measure's usual ups and "
         "downs (reliable change)."),
        ("stress", "reliable",
         "Improved: bigger than the measure's usual ups and downs (reliable change); no "
         "published threshold says how much change matters."),
        ("pain", "reliable",
         "Improved: bigger than the measure's usual ups and downs (reliable change), but short "
         "of a meaningful change (at least 30 % less pain)."),
        ("hd28", "no clear change",
         "Neither a meaningful change (at least 50 % fewer headache days) nor bigger than the "
         "usual ups and downs."),
        ("sleep_quality", "no clear change",
         "No change bigger than the measure's usual ups and downs."),
        ("stress", "not enough data to judge",
         "Cannot be judged yet: too few clients of the practice have a starting value of this "
         "measure (or they all have the same one) to tell a change from its usual ups and "
         "downs."),
        ("midas", "no follow-up score yet",
         "Only the starting value is known; the change shows once a later score comes in."),
    ],
)  # fmt: skip
def test_explain_result_says_what_each_label_means(key: str, result: str, expected: str) -> None:
    assert progress.explain_result(key, result) == expected


def test_headline_metric_shows_latest_and_change_coloured_inverse(outcome: pd.Series) -> None:
    metric = progress.headline_metric(outcome, "hd28")
    assert {k: metric[k] for k in ("label", "value", "delta", "delta_color")} == {
        "label": "Headache days per 28 days",
        "value": "7.0",
        "delta": "-9.0 (-56 %)",
        "delta_color": "inverse",
    }
    assert metric["delta_description"] == "vs baseline 16"
    assert metric["help"].startswith("Baseline 16 (at intake) → latest 7.0: meaningful. Improved")
    pain = progress.headline_metric(outcome, "pain")
    assert (pain["value"], pain["delta"]) == ("3.0", "-4.0 (-57 %)")


def test_headline_metric_without_follow_up_says_so() -> None:
    row = pd.Series({"pain_baseline": 6.0, "pain_baseline_from": "first report"})
    assert progress.headline_metric(row, "pain") == {
        "label": "Pain before sessions (0-10)",
        "value": "–",
        "delta": "no follow-up score yet",
        "delta_color": "off",
        "delta_arrow": "off",
        "help": "Baseline 6 (first report of the series); no follow-up score yet.",
    }


def test_series_facts_give_attendance_status_and_time_to_response(outcome: pd.Series) -> None:
    assert progress.series_facts(outcome) == [
        ("Sessions attended", "3 of 4 booked"),
        ("Scores recorded", "at 100 % of attended sessions"),
        # The last session is the data's last date: still coming.
        ("Status", "ongoing: fewer than 4 sessions so far, but still coming: too early to judge"),
        # Pain 4 at session 2 (day 14) is 3 points and 43 % below 7; headache days 8 are 50 %.
        ("First pain response", "at session 2 (day 14)"),
        ("First headache-day response", "at session 2 (day 14)"),
        ("Relief straight after a session", "2.3 points less pain on average (3 sessions)"),
    ]


# --- sessions and chart frames -----------------------------------------------------------------
def c1_sessions() -> pd.DataFrame:
    return progress.series_sessions(make_sessions(), "C1", 1)


def test_series_sessions_number_attended_sessions_only() -> None:
    frame = c1_sessions()
    assert frame["status"].tolist() == ["attended", "no_show", "attended", "attended"]
    np.testing.assert_array_equal(frame["session_number"], [1.0, NAN, 2.0, 3.0])


def test_session_table_uses_labels_relief_and_reasons() -> None:
    table = progress.session_table(c1_sessions())
    assert table.columns.tolist() == progress.SESSION_TABLE_COLUMNS
    assert table["Status"].tolist() == ["Attended", "No-show", "Attended", "Attended"]
    assert table["Techniques"].tolist() == [
        "Trigger point therapy, Swedish massage",
        "Swedish massage",
        "Trigger point therapy",
        "Craniosacral therapy",
    ]
    np.testing.assert_array_equal(table["Relief"], [3.0, NAN, 2.0, 2.0])
    assert table["Notes"].tolist() == ["Neck stiff", "Reason: forgot", "", "Better"]
    assert table["Session"].tolist() == [1, pd.NA, 2, 3]


def test_pain_points_are_before_and_after_each_attended_session() -> None:
    points = progress.pain_points(c1_sessions())
    expected = pd.DataFrame(
        {
            "session_date": pd.to_datetime(
                ["2026-01-05", "2026-01-05", "2026-01-19", "2026-01-19", "2026-02-02", "2026-02-02"]
            ),
            "session_number": [1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
            "when": ["Before session", "After session"] * 3,
            "pain": [6.0, 3.0, 4.0, 2.0, 3.0, 1.0],
        }
    )  # fmt: skip
    pd.testing.assert_frame_equal(points, expected, check_dtype=False)


# Issue 13 item 8: by default the target is 30 % below baseline (IMMPACT / Farrar 2001); the
# 2-point rule is an option (PAIN_RESPONDER_MIN_POINTS). The earlier table is kept under it.
@pytest.mark.parametrize(
    ("baseline", "expected"),
    [(10.0, 7.0), (6.0, 4.2), (6.5, 4.55), (2.0, 1.4), (1.5, 1.05), (0.0, None), (NAN, None),
     (None, None)],
)  # fmt: skip
def test_pain_target_is_baseline_minus_30_percent(baseline: object, expected: float | None) -> None:
    assert progress.pain_target(baseline) == expected


@pytest.mark.parametrize(
    ("baseline", "expected"),
    [(10.0, 7.0), (6.0, 4.0), (6.5, 4.5), (2.0, 0.0), (1.5, None), (0.0, None), (NAN, None),
     (None, None)],
)  # fmt: skip
def test_pain_target_is_baseline_minus_30_percent_or_2_points(
    baseline: object, expected: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "PAIN_RESPONDER_MIN_POINTS", 2.0)
    assert progress.pain_target(baseline) == expected


def test_headache_day_points_scale_weekly_counts_to_28_days() -> None:
    points = progress.headache_day_points(c1_sessions())
    assert points["days_per_28"].tolist() == [12.0, 8.0, 6.0]
    assert points["source"].tolist() == ["weekly count x 4", "weekly count x 4", "28-day report"]
    assert points["session_number"].tolist() == [1.0, 2.0, 3.0]


def test_wellbeing_points_keep_only_recorded_values_with_their_baseline(
    outcome: pd.Series,
) -> None:
    points = progress.wellbeing_points(c1_sessions(), outcome)
    assert points[["measure", "value", "baseline"]].to_dict("list") == {
        "measure": [
            "Stress (0-10, lower is better)",
            "Stress (0-10, lower is better)",
            "Sleep quality (0-10, higher is better)",
            "Sleep quality (0-10, higher is better)",
            "Medication days per 28 days (fewer is better)",
            "Medication days per 28 days (fewer is better)",
        ],
        "value": [7.0, 5.0, 4.0, 6.0, 8.0, 4.0],
        "baseline": [6.0, 6.0, 5.0, 5.0, 12.0, 12.0],
    }


def test_wellbeing_points_are_empty_when_nothing_was_recorded() -> None:
    frame = progress.series_sessions(make_sessions(), "C3", 1)
    assert progress.wellbeing_points(frame).empty


def test_technique_points_list_each_technique_of_each_attended_session() -> None:
    points = progress.technique_points(c1_sessions())
    assert points[["session_number", "technique", "technique_label"]].to_dict("list") == {
        "session_number": [1.0, 1.0, 2.0, 3.0],
        "technique": ["trigger_point", "swedish", "trigger_point", "craniosacral"],
        "technique_label": [
            "Trigger point therapy",
            "Swedish massage",
            "Trigger point therapy",
            "Craniosacral therapy",
        ],
    }
    assert progress.technique_points(progress.series_sessions(make_sessions(), "C3", 1)).empty


def test_follow_up_visits_are_points_of_their_own_kind() -> None:
    frame = c1_sessions()
    visit = frame.iloc[[-1]].assign(
        session_date=pd.Timestamp("2026-08-03"),
        status="follow_up",
        pain_pre=2.0,
        pain_post=np.nan,
        headache_days_28d=3.0,
        session_number=np.nan,
    )
    frame = pd.concat([frame, visit], ignore_index=True)
    pain = progress.pain_points(frame)
    assert pain.iloc[-1][["when", "pain"]].tolist() == [progress.FOLLOW_UP_VISIT, 2.0]
    assert pain["when"].eq(progress.FOLLOW_UP_VISIT).sum() == 1
    days = progress.headache_day_points(frame)
    assert days["visit"].tolist() == [*["Treatment session"] * 3, progress.FOLLOW_UP_VISIT]
    assert days["days_per_28"].iloc[-1] == 3.0


def test_series_facts_name_the_lasting_change_only_when_a_follow_up_visit_exists() -> None:
    outcome = pd.Series(
        {
            "sessions_attended": 4,
            "sessions_booked": 4,
            "followup_visits": 2,
            "followup_days": 180.0,
            "hd28_followup": 6.0,
            "hd28_followup_change": -6.0,
            "pain_followup": np.nan,
        }
    )
    facts = dict(progress.series_facts(outcome))
    assert facts["Lasting change"] == (
        "2 follow-up visits; the latest 180 days after the last treatment: "
        "headache days per 28 days 6.0 (-6.0 from baseline)"
    )
    assert "Lasting change" not in dict(progress.series_facts(outcome.drop("followup_visits")))

"""Display helpers for the Techniques and Therapists pages, on small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from practice import comparisons
from practice.analysis import GROUP_COLUMNS

NAN = np.nan


def group_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """A compare_groups-shaped frame: the given columns, every other column empty."""
    return pd.DataFrame(rows).reindex(columns=GROUP_COLUMNS)


@pytest.mark.parametrize(
    ("value", "low", "high", "options", "expected"),
    [
        (-4.2, -5.3, -3.04, {}, "−4.2 (−5.3 to −3.0)"),
        (2.02603, 0.552695, 3.499365, {}, "2.0 (0.6 to 3.5)"),
        (-0.04, -1.0, 0.92, {}, "0.0 (−1.0 to 0.9)"),  # never "−0.0"
        (1.0, NAN, NAN, {}, "1.0"),  # no interval (one client): the value alone
        (NAN, NAN, NAN, {}, ""),
        (0.4839, 0.3197, 0.6516, {"digits": 0, "percent": True}, "48 % (32 to 65 %)"),
        (1.0, 0.5, 1.0, {"digits": 0, "percent": True}, "100 % (50 to 100 %)"),
        (-0.8329, NAN, NAN, {"digits": 2}, "−0.83"),
    ],
)
def test_format_interval(
    value: float, low: float, high: float, options: dict[str, object], expected: str
) -> None:
    text = comparisons.format_interval(
        pd.Series([value]),
        pd.Series([low]),
        pd.Series([high]),
        **options,  # type: ignore[arg-type]
    )
    assert text.tolist() == [expected]


def test_available_measures_offers_headache_days_and_pain_always_and_others_with_data() -> None:
    outcomes = pd.DataFrame(
        {
            "hd28_change": [NAN, NAN],
            "pain_change": [NAN, NAN],
            "hit6_change": [NAN, -6.0],
            "midas_change": [NAN, NAN],
            "sleep_quality_change": [1.0, NAN],
        }
    )
    assert comparisons.available_measures(outcomes) == ["hd28", "pain", "hit6", "sleep_quality"]


def test_technique_keys_are_every_technique_used_sorted() -> None:
    sessions = pd.DataFrame({"techniques": ["swedish;trigger_point", "", None, "hot_stones"]})
    assert comparisons.technique_keys(sessions) == ["hot_stones", "swedish", "trigger_point"]


@pytest.mark.parametrize(
    ("by", "keys", "labels"),
    [
        (
            "primary_technique",
            ["trigger_point", "hot_stones", "not recorded"],
            ["Trigger point therapy", "Hot stones", "not recorded"],
        ),
        ("technique_exposure", ["swedish"], ["Swedish massage"]),
        (
            "headache_type",
            ["tension_type", "not recorded"],
            ["Tension-type headache", "not recorded"],
        ),
        ("therapist", ["Ana Duarte"], ["Ana Duarte"]),
    ],
)
def test_group_labels(by: str, keys: list[str], labels: list[str]) -> None:
    assert comparisons.group_labels(pd.Series(keys), by).tolist() == labels


def test_group_table_formats_every_estimate_with_its_interval_in_the_given_order() -> None:
    table = group_frame(
        [
            {
                "group": "trigger_point",
                "n_clients": 30,
                "n": 31,
                "change_mean": -7.155914,
                "change_ci_low": -9.175918,
                "change_ci_high": -5.135910,
                "responder_n": 31,
                "responders": 15,
                "responder_rate": 15 / 31,
                "responder_rate_ci_low": 0.319703,
                "responder_rate_ci_high": 0.651596,
                "is_reference": True,
                "adjusted_difference": 0.0,
                "small_n": False,
            },
            {
                "group": "swedish",
                "n_clients": 3,
                "n": 2,
                "change_mean": -3.924138,
                "change_ci_low": -5.252527,
                "change_ci_high": -2.595749,
                "responder_n": 3,
                "responders": 0,
                "responder_rate": 0.0,
                "responder_rate_ci_low": 0.0,
                "responder_rate_ci_high": 0.561497,
                "is_reference": False,
                "adjusted_difference": 2.02603,
                "adjusted_difference_ci_low": 0.552695,
                "adjusted_difference_ci_high": 3.499365,
                "small_n": True,
            },
        ]
    )
    shown = comparisons.group_table(table, by="primary_technique", measure="hd28")
    expected = pd.DataFrame(
        {
            "Group": ["Trigger point therapy", "Swedish massage"],
            "Clients": [30, 3],
            "Series with a score": [31, 2],
            "Change (95 % CI)": ["−7.2 (−9.2 to −5.1)", "−3.9 (−5.3 to −2.6)"],
            "Responders": ["15 of 31", "0 of 3"],
            "Responder rate (95 % CI)": ["48 % (32 to 65 %)", "0 % (0 to 56 %)"],
            "Adjusted difference (95 % CI)": ["0.0", "2.0 (0.6 to 3.5)"],
            "Note": ["reference", "small group: not judged"],
        }
    )
    pd.testing.assert_frame_equal(shown, expected, check_dtype=False)


def test_group_table_leaves_out_what_the_measure_or_view_does_not_have() -> None:
    """Stress has no responder rule; the exposure view has no adjusted difference."""
    table = group_frame(
        [
            {
                "group": "swedish",
                "n_clients": 6,
                "n": 6,
                "change_mean": -0.5,
                "change_ci_low": -1.25,
                "change_ci_high": 0.25,
                "is_reference": False,
                "small_n": False,
            }
        ]
    )
    shown = comparisons.group_table(table, by="technique_exposure", measure="stress")
    assert list(shown.columns) == [
        "Group",
        "Clients",
        "Series with a score",
        "Change (95 % CI)",
        "Note",
    ]
    assert shown.iloc[0].tolist() == ["Swedish massage", 6, 6, "−0.5 (−1.2 to 0.2)", ""]


def test_relief_frame_and_table_flag_techniques_with_few_clients() -> None:
    relief = pd.DataFrame(
        {
            "group_by": "technique",
            "group": ["stretching", "craniosacral"],
            "n_sessions": [290, 6],
            "n_clients": [111, 2],
            "relief_mean": [1.717241, 1.5],
            "relief_sd": [0.94, 0.5],
            "relief_ci_low": [1.627446, 0.2],
            "relief_ci_high": [1.807036, 2.8],
        }
    )
    frame = comparisons.relief_frame(relief)
    assert frame["label"].tolist() == ["Stretching", "Craniosacral therapy"]
    assert frame["small_n"].tolist() == [False, True]
    table = comparisons.relief_table(relief)
    assert table.to_dict("list") == {
        "Technique": ["Stretching", "Craniosacral therapy"],
        "Sessions": [290, 6],
        "Clients": [111, 2],
        "Pain relief straight after (95 % CI)": ["1.7 (1.6 to 1.8)", "1.5 (0.2 to 2.8)"],
        "Note": ["", "small group: not judged"],
    }


def test_response_curves_take_labels_and_small_n_from_the_group_table() -> None:
    curve = pd.DataFrame({"group": ["swedish", "swedish", "stretching"], "time": [0.0, 2.0, 0.0]})
    table = group_frame(
        [{"group": "swedish", "small_n": True}, {"group": "stretching", "small_n": False}]
    )
    frame = comparisons.response_curves(curve, table, by="primary_technique")
    assert frame["label"].tolist() == ["Swedish massage", "Swedish massage", "Stretching"]
    assert frame["small_n"].tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("measure", "statistic", "words"),
    [
        ("hd28", "responder_rate", "Above the funnel: more clients responded"),
        ("hd28", "adjusted_residual", "Here below is the better side, above the worse."),
        ("sleep_quality", "adjusted_residual", "Here above is the better side, below the worse."),
    ],
)
def test_funnel_direction_says_which_side_is_better(
    measure: str, statistic: str, words: str
) -> None:
    assert words in comparisons.funnel_direction(measure, statistic)


@pytest.mark.parametrize(
    ("measure", "words"),
    [
        ("hd28", "For this measure negative is the better direction."),
        ("sleep_quality", "For this measure positive is the better direction."),
    ],
)
def test_adjusted_sign_note_names_the_reference_and_the_better_sign(
    measure: str, words: str
) -> None:
    note = comparisons.adjusted_sign_note(measure, "Swedish massage")
    assert "minus Swedish massage" in note
    assert words in note
    assert "baseline), age, sex, headache type and years with headaches" in note


def funnel_frame(groups: list[str], n: list[int], values: list[float], **extra: object):
    return pd.DataFrame({"group": groups, "n": n, "value": values, **extra})


def test_therapist_summary_adds_residual_and_position_and_never_places_small_groups() -> None:
    groups = group_frame(
        [
            {"group": "Sarah Okafor", "n_clients": 35, "small_n": False},
            {"group": "Lena Fischer", "n_clients": 3, "small_n": True},
            {"group": "Tom New", "n_clients": 5, "small_n": False},
        ]
    )
    residuals = funnel_frame(["Lena Fischer", "Sarah Okafor"], [2, 34], [0.38, -0.83])
    points = funnel_frame(
        ["Lena Fischer", "Sarah Okafor"],
        [3, 36],
        [0.33, 0.47],
        statistic="responder_rate",
        position=["within limits", "above 95 % limit"],  # a small group is never placed
    )
    summary = comparisons.therapist_summary(groups, residuals, points)
    assert summary["group"].tolist() == ["Sarah Okafor", "Lena Fischer", "Tom New"]
    assert summary["adjusted_residual"].tolist()[:2] == [-0.83, 0.38]
    assert np.isnan(summary["adjusted_residual"].iloc[2])
    assert summary["position"].tolist() == [
        "above 95 % limit",
        "not judged (small n)",
        "no data for the funnel",
    ]
    assert summary["funnel_statistic"].unique().tolist() == ["responder_rate"]


def test_therapist_table_is_readable_and_keeps_the_caseload_order() -> None:
    groups = group_frame(
        [
            {
                "group": "Sarah Okafor",
                "n_clients": 35,
                "n": 36,
                "change_mean": -6.24,
                "change_ci_low": -8.06,
                "change_ci_high": -4.42,
                "responder_rate": 0.472222,
                "responder_rate_ci_low": 0.3215,
                "responder_rate_ci_high": 0.6284,
                "small_n": False,
            },
            {
                "group": "Lena Fischer",
                "n_clients": 3,
                "n": 3,
                "change_mean": -5.33,
                "change_ci_low": -9.13,
                "change_ci_high": -1.54,
                "responder_rate": 1 / 3,
                "responder_rate_ci_low": 0.0615,
                "responder_rate_ci_high": 0.7923,
                "small_n": True,
            },
        ]
    )
    residuals = funnel_frame(["Lena Fischer", "Sarah Okafor"], [2, 34], [0.381303, -0.832901])
    points = residuals.assign(
        statistic="adjusted_residual", position=["not judged (small n)", "within limits"]
    )
    summary = comparisons.therapist_summary(groups, residuals, points)
    table = comparisons.therapist_table(summary, measure="hd28")
    assert table.to_dict("list") == {
        "Therapist": ["Sarah Okafor", "Lena Fischer"],
        "Clients": [35, 3],
        "Series with a score": [36, 3],
        "Change (95 % CI)": ["−6.2 (−8.1 to −4.4)", "−5.3 (−9.1 to −1.5)"],
        "Responder rate (95 % CI)": ["47 % (32 to 63 %)", "33 % (6 to 79 %)"],
        "Adjusted residual": ["−0.83", "0.38"],
        "Position": ["within limits", "not judged (small n)"],
        "Note": ["", "small group: not judged"],
    }
    stress = comparisons.therapist_table(summary, measure="stress")
    assert "Responder rate (95 % CI)" not in stress.columns


def outcome_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": ["C0001", "C0002", "C0001", "C0003"],
            "client_name": ["Ann", "Bo", "Ann", "Cy"],
            "series_number": [1, 1, 2, 1],
            "therapist": ["Ana", "Ana", "Ana", "Ben"],
            "headache_type": ["migraine", None, "migraine", "tension_type"],
            "sessions_attended": [6, 2, 3, 5],
            "last_session_date": pd.to_datetime(
                ["2025-03-01", "2025-05-01", "2025-09-01", "2025-04-01"]
            ),
            "hd28_change": [-4.56, NAN, -1.0, -2.0],
            "hd28_change_label": ["meaningful", None, "no clear change", "reliable"],
            "pain_change": [-3.0, 0.5, NAN, -1.0],
            "pain_change_label": ["meaningful and reliable", "no clear change", None, "reliable"],
            "series_status": ["completer", "dropout", "ongoing", "completer"],
        }
    )


def test_caseload_table_lists_only_the_therapists_series_newest_first() -> None:
    table = comparisons.caseload_table(outcome_rows(), "Ana")
    assert table.to_dict("list") == {
        "Client": [
            "/Client_Progress?client=C0001",
            "/Client_Progress?client=C0002",
            "/Client_Progress?client=C0001",
        ],
        "Name": ["Ann", "Bo", "Ann"],
        "Series": [2, 1, 1],
        "Headache type": ["Migraine", "not recorded", "Migraine"],
        "Sessions attended": [3, 2, 6],
        "Last session": list(pd.to_datetime(["2025-09-01", "2025-05-01", "2025-03-01"])),
        "Change in headache days": ["−1.0", "", "−4.6"],
        "Headache-day label": ["no clear change", "", "meaningful"],
        "Change in pain": ["", "0.5", "−3.0"],
        "Pain label": ["", "no clear change", "meaningful and reliable"],
        "Status": ["ongoing", "dropout", "completer"],
    }
    plain = comparisons.caseload_table(outcome_rows(), "Ana", links=False)
    assert plain["Client"].tolist() == ["C0001", "C0002", "C0001"]


def test_caseload_alerts_keep_the_therapists_alerts() -> None:
    alerts = pd.DataFrame(
        {
            "client_id": ["C0094", "C0145"],
            "client_name": ["Tom", "Isa"],
            "therapist": ["Lena", "Ana"],
            "sessions_attended": [8, 6],
            "last_session_date": pd.to_datetime(["2026-08-06", "2026-08-22"]),
            "reason": ["Reliably worse sleep.", "Not 30 % better after 6 sessions."],
        }
    )
    table = comparisons.caseload_alerts(alerts, "Ana")
    assert table.to_dict("list") == {
        "Client": ["/Client_Progress?client=C0145"],
        "Name": ["Isa"],
        "Sessions attended": [6],
        "Last session": [pd.Timestamp("2026-08-22")],
        "Why": ["Not 30 % better after 6 sessions."],
    }
    assert comparisons.caseload_alerts(alerts, "Ben").empty


def test_group_and_therapist_tables_show_the_follow_up_change_with_its_own_n() -> None:
    rows = [
        {
            "group": "trigger_point",
            "n_clients": 6,
            "n": 6,
            "change_mean": -6.0,
            "change_ci_low": -8.0,
            "change_ci_high": -4.0,
            "followup_n": 2,
            "followup_change_mean": -6.0,
            "followup_change_ci_low": -31.41241,
            "followup_change_ci_high": 19.41241,
            "is_reference": True,
            "small_n": False,
        },
        {
            "group": "swedish",
            "n_clients": 5,
            "n": 5,
            "change_mean": -2.0,
            "followup_n": 0,
            "is_reference": False,
            "small_n": False,
        },
    ]
    shown = comparisons.group_table(group_frame(rows), by="primary_technique", measure="stress")
    assert shown["Series with a follow-up visit"].tolist() == [2, 0]
    assert shown["Change at follow-up (95 % CI)"].tolist() == ["−6.0 (−31.4 to 19.4)", ""]
    without = [{k: v for k, v in r.items() if not k.startswith("followup")} for r in rows]
    plain = comparisons.group_table(group_frame(without), by="primary_technique", measure="stress")
    assert "Change at follow-up (95 % CI)" not in plain.columns

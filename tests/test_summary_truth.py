"""`python -m practice summary` says what it counts: denominators, labels, empty populations."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from practice.analysis import group_label, group_labels, resolve_group
from practice.cli import main

HEADER = (
    "client_id,intake_date,baseline_pain,baseline_headache_days_28d,session_date,"
    "therapist,techniques,pain_pre,headache_days_7d"
)
WEEKS = ["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"]


def course(client: str, technique: str, weekly: list[int], *, visits: int = 4) -> list[str]:
    """`visits` weekly sessions; baseline 8 headache days per 28 days and pain 6 at intake."""
    return [
        f"{client},2025-01-02,6,8,{date},Jo Park,{technique},{6 - i},{weekly[i]}"
        for i, date in enumerate(WEEKS[:visits])
    ]


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], *args: str):
    url = f"sqlite:///{tmp_path / 'practice.sqlite3'}"
    if not (tmp_path / "practice.csv").exists():
        (tmp_path / "practice.csv").write_text("\n".join([HEADER, *lines]) + "\n")
        assert main(["import", str(tmp_path / "practice.csv"), "--db", url]) == 0
    capsys.readouterr()
    code = main(["summary", *args, "--db", url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# Three trigger-point clients who came four times, one who came once and stopped three weeks
# before the data's last date (a dropout), and three clients in usual care.
PRACTICE = [
    *course("T1", "trigger point", [2, 1, 1, 1]),  # 8 -> 4 per 28 days: a responder
    *course("T2", "trigger point", [2, 2, 2, 2]),
    *course("T3", "trigger point", [2, 2, 2, 2]),
    *course("D1", "trigger point", [2], visits=1),
    *course("U1", "Usual care", [2, 2, 2, 2]),
    *course("U2", "Usual care", [2, 1, 1, 1]),
    *course("U3", "Usual care", [2, 2, 2, 2]),
]


def test_dropouts_as_nonresponders_show_the_count_over_the_rate_s_own_denominator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--population", "dropouts_as_nonresponders")
    code, out, _ = run(tmp_path, capsys, PRACTICE, *args, "--format", "json")
    assert code == 0
    tp = next(g for g in json.loads(out)["groups"] if g["group"] == "trigger_point")
    # n: series with a follow-up value (3); the rate counts the dropout as a non-responder.
    assert tp["hd28"]["n"] == 3
    assert (tp["hd28"]["responders_50"], tp["hd28"]["responders_50_denominator"]) == (1, 4)
    assert tp["hd28"]["responder_rate_50"] == pytest.approx(1 / 4)
    assert tp["pain"]["responders_30_denominator"] == 4
    code, out, _ = run(tmp_path, capsys, PRACTICE, *args, "--format", "csv")
    row = pd.read_csv(io.StringIO(out)).set_index("group").loc["trigger_point"]
    assert (row["hd28_responders_50"], row["hd28_responders_50_denominator"]) == (1, 4)
    code, out, _ = run(tmp_path, capsys, PRACTICE, *args)
    hd28_line = next(line for line in out.splitlines() if line.strip().startswith("Trigger"))
    assert "1/4 [" in hd28_line and "1/3" not in hd28_line


@pytest.mark.parametrize("spelling", ["usual care", "Usual care", "usual_care", "USUAL-CARE"])
def test_reference_accepts_a_key_a_label_or_the_import_s_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spelling: str
) -> None:
    code, out, err = run(tmp_path, capsys, PRACTICE, "--reference", spelling, "--format", "json")
    assert (code, err) == (0, "")
    summary = json.loads(out)
    assert (summary["reference"], summary["reference_label"]) == ("usual_care", "Usual care")
    labels = {g["group"]: g["label"] for g in summary["groups"]}
    assert labels == {"trigger_point": "Trigger point therapy", "usual_care": "Usual care"}


def test_tables_and_csv_show_labels_and_the_json_keeps_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(tmp_path, capsys, PRACTICE, "--reference", "TPT")
    assert code == 0
    assert "group minus Trigger point therapy" in out
    assert "Usual care" in out and "usual_care" not in out and "trigger_point" not in out
    code, out, _ = run(tmp_path, capsys, PRACTICE, "--format", "csv")
    table = pd.read_csv(io.StringIO(out))
    assert table[["group", "label"]].values.tolist() == [
        ["trigger_point", "Trigger point therapy"],
        ["usual_care", "Usual care"],
    ]
    assert set(table["reference_label"]) == {"Trigger point therapy"}


def test_an_unknown_reference_lists_the_groups_by_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(tmp_path, capsys, PRACTICE, "--reference", "reiki")
    assert code == 1
    assert "'reiki'" in err and "Usual care" in err and "Trigger point therapy" in err


# A course of three visits: nobody meets the completer rule (4 attended sessions).
SHORT = [
    *course("T1", "trigger point", [2, 1, 1], visits=3),
    *course("U1", "usual care", [2, 2, 2], visits=3),
]
COMPLETER_RULE = (
    "no series has at least 4 attended sessions (the completer rule, "
    "PRACTICE_MIN_SESSIONS_COMPLETER)"
)


def test_an_empty_population_says_which_rule_left_it_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(tmp_path, capsys, SHORT, "--population", "completers")
    assert code == 0
    assert f"No group to show: {COMPLETER_RULE}." in out
    assert "None" not in out
    code, out, _ = run(tmp_path, capsys, SHORT, "--population", "completers", "--format", "json")
    summary = json.loads(out)
    assert (summary["groups"], summary["empty_reason"]) == ([], COMPLETER_RULE)
    code, out, _ = run(tmp_path, capsys, SHORT, "--format", "json")
    assert json.loads(out)["empty_reason"] is None


def test_a_reference_in_an_empty_population_names_the_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--population", "completers", "--reference", "usual care")
    code, _, err = run(tmp_path, capsys, SHORT, *args)
    assert code == 1
    assert "'usual care'" in err and COMPLETER_RULE in err


@pytest.mark.parametrize(
    ("key", "by", "label"),
    [
        ("trigger_point", "technique", "Trigger point therapy"),
        ("usual_care", "primary_technique", "Usual care"),
        ("tension_type", "headache_type", "Tension-type headache"),
        ("Jo Park", "therapist", "Jo Park"),
        (None, "therapist", "not recorded"),
    ],
)
def test_group_label(key: str | None, by: str, label: str) -> None:
    assert group_label(key, by) == label
    assert group_labels(pd.Series([key]), by).tolist() == [label]


@pytest.mark.parametrize(
    ("text", "by", "key"),
    [
        ("tension type", "headache_type", "tension_type"),
        ("TTH", "headache_type", "tension_type"),
        ("Tension-type headache", "headache_type", "tension_type"),
        ("jo park", "therapist", "Jo Park"),
        ("cluster", "headache_type", None),
        ("", "technique", None),
    ],
)
def test_resolve_group(text: str, by: str, key: str | None) -> None:
    groups = ["tension_type", "migraine", "Jo Park"]
    assert resolve_group(text, by, groups) == key


def test_practice_report_without_dates_covers_all_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pypdf import PdfReader

    run(tmp_path, capsys, PRACTICE)  # imports the practice
    url = f"sqlite:///{tmp_path / 'practice.sqlite3'}"
    out = tmp_path / "report.pdf"
    assert main(["report", "practice", "--out", str(out), "--db", url]) == 0
    message = capsys.readouterr().out
    assert "the practice report for 2025-01-06 to 2025-01-27" in message
    text = " ".join(page.extract_text() for page in PdfReader(out).pages)
    assert "06 Jan 2025 to 27 Jan 2025" in " ".join(text.split())
    assert main(["report", "practice", "--to", "2025-01-13", "--out", str(out), "--db", url]) == 0
    assert "for 2025-01-06 to 2025-01-13" in capsys.readouterr().out

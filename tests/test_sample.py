"""Tests of the synthetic practice generator and of the committed data/sample.csv."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd
import pytest

from practice import config
from practice.columns import COLUMNS, INTAKE_COLUMNS, SCORE_COLUMNS, Column
from practice.sample import count_window_days, generate_practice, write_sample_csv
from practice.series import assign_series
from practice.vocabulary import CODED_FIELDS, TECHNIQUES

NUMBER_COLUMNS = [column for column in COLUMNS if column.kind == "number"]
END = dt.date(2026, 9, 1)  # 2025-03-01 plus 18 months


@pytest.fixture(scope="module")
def practice() -> pd.DataFrame:
    """The default sample, generated once for the module."""
    return generate_practice()


@pytest.fixture(scope="module")
def attended(practice: pd.DataFrame) -> pd.DataFrame:
    """Attended sessions of the default sample."""
    return practice[practice["status"] == "attended"]


def compute_change_by_group(practice: pd.DataFrame) -> pd.DataFrame:
    """Mean change in weekly headache days, first to last report, of tension-type completers.

    Grouped by whether trigger-point therapy is the client's main (first listed) technique;
    completers attended at least config.MIN_SESSIONS_COMPLETER sessions.
    """
    attended = practice[practice["status"].eq("attended")]
    completers = attended.groupby("client_id").size().ge(config.MIN_SESSIONS_COMPLETER)
    reports = attended[attended["headache_days_7d"].notna()]
    reports = reports.sort_values(["client_id", "session_date"], kind="stable")
    days = reports.groupby("client_id")["headache_days_7d"]
    first, last = days.first(), days.last()
    measurable = (first > 0) & completers.reindex(first.index, fill_value=False)
    change = ((last - first) / first).where(measurable).dropna()
    clients = practice.drop_duplicates("client_id").set_index("client_id").loc[change.index]
    favoured = clients["techniques"].str.split(";").str[0].eq("trigger_point")
    frame = pd.DataFrame({"change": change, "favoured": favoured})
    frame = frame[clients["headache_type"].eq("tension_type")]
    return frame.groupby("favoured")["change"].agg(["mean", "size"])


def test_same_seed_gives_the_same_frame() -> None:
    pd.testing.assert_frame_equal(generate_practice(40, seed=7), generate_practice(40, seed=7))


def test_another_seed_gives_another_frame() -> None:
    assert not generate_practice(40, seed=7).equals(generate_practice(40, seed=8))


def test_columns_are_the_canonical_columns_in_order(practice: pd.DataFrame) -> None:
    assert list(practice.columns) == [column.name for column in COLUMNS]


@pytest.mark.parametrize("column", NUMBER_COLUMNS, ids=lambda column: column.name)
def test_numbers_lie_within_their_column_range(practice: pd.DataFrame, column: Column) -> None:
    values = practice[column.name].dropna()
    assert pd.api.types.is_numeric_dtype(practice[column.name])
    assert values.between(column.low, column.high).all()
    if column.whole:
        assert (values % 1 == 0).all()


@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("baseline_pain", 0.5),
        ("pain_pre", 0.5),
        ("pain_post", 0.5),
        ("baseline_headache_days_28d", 1),
        ("baseline_medication_days_28d", 1),
        ("headache_days_7d", 1),
        ("headache_days_28d", 1),
        ("medication_days_7d", 1),
        ("stress", 1),
        ("sleep_quality", 1),
    ],
)
def test_scores_are_rounded_as_recorded(practice: pd.DataFrame, name: str, step: float) -> None:
    assert (practice[name].dropna() % step == 0).all()


@pytest.mark.parametrize("name", sorted(CODED_FIELDS))
def test_coded_values_are_vocabulary_keys(practice: pd.DataFrame, name: str) -> None:
    vocabulary, _aliases = CODED_FIELDS[name]
    assert set(practice[name].dropna()) <= set(vocabulary)


def test_sessions_use_one_to_three_known_techniques_and_all_seven_appear(
    practice: pd.DataFrame,
) -> None:
    techniques = practice["techniques"].str.split(";")
    assert techniques.str.len().between(1, 3).all()
    assert set(techniques.explode()) == set(TECHNIQUES)


def test_each_client_keeps_one_main_technique_listed_first(practice: pd.DataFrame) -> None:
    main = practice["techniques"].str.split(";").str[0]
    assert main.groupby(practice["client_id"]).nunique().eq(1).all()


def test_no_client_has_two_sessions_with_one_therapist_on_a_day(practice: pd.DataFrame) -> None:
    assert not practice.duplicated(["client_id", "session_date", "therapist"]).any()


def test_headache_types_are_mostly_migraine_and_tension_type(practice: pd.DataFrame) -> None:
    shares = practice.drop_duplicates("client_id")["headache_type"].value_counts(normalize=True)
    assert set(shares.index[:2]) == {"migraine", "tension_type"}
    assert shares[["migraine", "tension_type"]].sum() > 0.55
    assert set(shares.index) == set(CODED_FIELDS["headache_type"][0])


def test_dates_are_iso_and_sessions_fall_between_intake_and_window_end(
    practice: pd.DataFrame,
) -> None:
    session = pd.to_datetime(practice["session_date"], format="%Y-%m-%d")
    intake = pd.to_datetime(practice["intake_date"], format="%Y-%m-%d")
    assert intake.min() >= pd.Timestamp("2025-03-01")
    assert session.max() <= pd.Timestamp(END)
    assert (session >= intake).all()


@pytest.mark.parametrize(
    ("start", "months", "days"),
    [
        (dt.date(2025, 3, 1), 18, 549),
        (dt.date(2024, 1, 31), 1, 29),
        (dt.date(2023, 6, 15), 12, 366),
    ],
)
def test_window_ends_the_same_day_months_later(start: dt.date, months: int, days: int) -> None:
    assert count_window_days(start, months) == days


@pytest.mark.parametrize(("start", "months"), [(dt.date(2024, 1, 31), 1), (dt.date(2020, 5, 4), 3)])
def test_short_windows_keep_every_date_inside(start: dt.date, months: int) -> None:
    frame = generate_practice(30, seed=3, start=start, months=months)
    end = start + dt.timedelta(days=count_window_days(start, months))
    dates = pd.to_datetime(frame["session_date"]).dt.date
    assert frame["client_id"].nunique() == 30
    assert dates.between(start, end).all()


def test_one_client_per_id_and_intake_repeated_on_every_row(practice: pd.DataFrame) -> None:
    assert practice["client_id"].nunique() == 150
    assert practice["client_id"].str.fullmatch(r"C\d{4}").all()
    intake = practice[list(INTAKE_COLUMNS)].drop_duplicates()
    assert len(intake) == 150


def test_five_or_six_therapists_and_exactly_one_with_few_clients(practice: pd.DataFrame) -> None:
    clients = practice.groupby("therapist")["client_id"].nunique()
    assert 5 <= len(clients) <= 6
    assert (clients < 5).sum() == 1
    assert practice["therapist"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()


def test_about_a_quarter_of_clients_drop_out(
    practice: pd.DataFrame, attended: pd.DataFrame
) -> None:
    sessions = attended.groupby("client_id").size().reindex(practice["client_id"].unique())
    assert 0.15 <= (sessions.fillna(0) < 4).mean() <= 0.35


def test_series_have_one_to_twelve_sessions_and_a_few_clients_return(
    practice: pd.DataFrame,
) -> None:
    sessions = pd.DataFrame(
        {
            "client_id": practice["client_id"],
            "session_date": pd.to_datetime(practice["session_date"]),
            "series_code": practice["series_id"],
        }
    )
    series = assign_series(sessions)
    sizes = sessions.groupby(["client_id", series]).size()
    returning = series.groupby(sessions["client_id"]).max().gt(1).mean()
    assert sizes.between(1, 12).all()
    assert 0.03 <= returning <= 0.10
    assert set(practice["series_id"].dropna()) == {"S1", "S2"}


def test_missed_appointments_have_a_reason_and_no_scores(practice: pd.DataFrame) -> None:
    missed = practice["status"] != "attended"
    assert 0.03 <= missed.mean() <= 0.15
    assert practice.loc[missed, "cancel_reason"].notna().all()
    assert practice.loc[~missed, "cancel_reason"].isna().all()
    assert practice.loc[missed, list(SCORE_COLUMNS)].isna().all().all()


def test_attended_sessions_have_a_few_missing_scores(attended: pd.DataFrame) -> None:
    missing = attended["pain_pre"].isna().mean()
    assert 0.005 <= missing <= 0.08


def test_pain_falls_by_one_to_three_points_within_a_session(attended: pd.DataFrame) -> None:
    relief = (attended["pain_pre"] - attended["pain_post"]).dropna()
    assert 1.0 <= relief.mean() <= 3.0
    assert (relief >= 0).mean() > 0.95


def test_hit6_and_midas_are_asked_about_every_fourth_session(attended: pd.DataFrame) -> None:
    assert 0.15 <= attended["hit6"].notna().mean() <= 0.30
    assert 0.15 <= attended["midas"].notna().mean() <= 0.30


def test_notes_exercise_csv_quoting(practice: pd.DataFrame) -> None:
    notes = practice["notes"].dropna()
    assert notes.str.contains(",").any()
    assert notes.str.contains('"').any()


def test_tension_type_clients_do_better_with_trigger_point_therapy(
    practice: pd.DataFrame,
) -> None:
    groups = compute_change_by_group(practice)
    # The figures quoted in the practice.sample docstring.
    assert groups["size"].to_dict() == {False: 21, True: 15}
    assert groups["mean"].round(2).to_dict() == {False: -0.40, True: -0.63}
    assert groups.loc[True, "mean"] <= groups.loc[False, "mean"] - 0.15


def test_committed_sample_csv_matches_the_generator(practice: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(pd.read_csv(config.SAMPLE_CSV), practice)


def test_write_sample_csv_returns_the_rows_written(tmp_path: Path) -> None:
    path = tmp_path / "sample.csv"
    rows = write_sample_csv(path, 25, 11)
    written = pd.read_csv(path)
    assert rows == len(written)
    pd.testing.assert_frame_equal(written, generate_practice(25, seed=11))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"n_clients": 0}, "n_clients"), ({"months": 0}, "months")],
)
def test_invalid_arguments_are_refused(arguments: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_practice(**arguments)


def test_a_large_practice_is_generated_quickly() -> None:
    started = time.perf_counter()
    frame = generate_practice(20_000, seed=5)
    assert time.perf_counter() - started < 10
    assert frame["client_id"].nunique() == 20_000
    assert 100_000 <= len(frame) <= 150_000

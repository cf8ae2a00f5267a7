"""Practice-wide reference values: a client gets the same labels and alerts for every user."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd
import pytest

from practice import analysis, config, ui
from practice.access import scope_frames
from practice.analysis import (
    ReferenceValues,
    compute_client_outcomes,
    compute_outcomes_and_reference,
    compute_reference_values,
    off_track_alerts,
)
from practice.auth import SignedInUser
from tests.analysis_frames import make_clients, make_sessions, weekly

LABELS = [f"{m}_change_label" for m in analysis.MEASURES_BY_KEY]
JUDGED = [*LABELS, *(f"{m}_rci" for m in analysis.MEASURES_BY_KEY), "series_status", "active"]


@pytest.fixture(scope="module")
def sample_frames(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bundled sample practice, read back from a freshly seeded database."""
    from practice.bootstrap import open_database
    from practice.queries import fetch_clients, fetch_sessions

    path = tmp_path_factory.mktemp("reference") / "sample.sqlite3"
    engine = open_database(f"sqlite:///{path}", seed=True)
    with engine.connect() as conn:
        frames = fetch_clients(conn), fetch_sessions(conn)
    engine.dispose()
    return frames


@pytest.fixture
def app_db(seeded_db_env: str) -> Iterator[str]:
    yield seeded_db_env


def _alerts(outcomes: pd.DataFrame, clients: pd.Index) -> pd.DataFrame:
    alerts = off_track_alerts(outcomes)
    alerts = alerts.loc[alerts["client_id"].isin(clients)]
    return alerts.sort_values(["client_id", "series_number"]).reset_index(drop=True)


def test_every_sample_client_has_the_same_labels_and_alerts_for_owner_and_therapist(
    app_db: str,
) -> None:
    """Through the app's loaders: the owner's view against each treating therapist's."""
    version = ui.data_version()
    owner = ui._load_outcomes(version, SignedInUser("anna", "owner"))
    therapists = sorted(owner["therapist"].dropna().unique())
    assert len(therapists) == 6
    seen = set()
    for name in therapists:
        mine = ui._load_outcomes(version, SignedInUser("t", "therapist", name))
        keys = ["client_id", "series_number"]
        theirs = owner.merge(mine[keys], on=keys).sort_values(keys).reset_index(drop=True)
        mine = mine.sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(mine[keys + JUDGED], theirs[keys + JUDGED])
        clients = pd.Index(mine["client_id"].unique())
        pd.testing.assert_frame_equal(
            _alerts(mine, clients), _alerts(owner, clients), check_dtype=False
        )
        seen |= set(clients)
    assert seen == set(owner["client_id"])
    # The two clients the issue found: a reliable worsening the treating therapist missed.
    for client in ("C0102", "C0094"):
        assert client in seen


def test_c0102_pain_worsening_is_reliable_for_the_treating_therapist_too(
    sample_frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    clients, sessions = sample_frames
    practice, reference = compute_outcomes_and_reference(clients, sessions)
    row = practice.set_index("client_id").loc["C0102"]
    assert (row["pain_baseline"], row["pain_latest"]) == (3.5, 5.5)
    assert row["pain_change_label"] == "meaningful and reliable worsening"
    therapist = row["therapist"]
    scoped = scope_frames(clients, sessions, SignedInUser("t", "therapist", therapist))
    mine = compute_client_outcomes(*scoped, reference=reference).set_index("client_id")
    assert mine.at["C0102", "pain_change_label"] == "meaningful and reliable worsening"
    assert "C0102" in set(off_track_alerts(mine.reset_index())["client_id"])


def test_a_part_of_the_practice_judged_against_the_practice_matches_the_practice(
    sample_frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    clients, sessions = sample_frames
    practice, reference = compute_outcomes_and_reference(clients, sessions)
    assert reference == compute_reference_values(clients, sessions)
    part = sorted(clients["client_id"])[::7]
    scoped = (
        clients[clients["client_id"].isin(part)],
        sessions[sessions["client_id"].isin(part)],
    )
    mine = compute_client_outcomes(*scoped, reference=reference)
    expected = practice[practice["client_id"].isin(part)].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, expected)


def test_the_reference_holds_the_practice_spread_date_and_interval() -> None:
    # Pain baselines 2, 6, 10 (SD 4); sessions weekly; the last session on day 7.
    pairs = {"X": (10, 4), "Y": (6, 9), "Z": (2, 2)}
    clients = make_clients([{"client_id": k, "baseline_pain": v[0]} for k, v in pairs.items()])
    rows = [r for k, v in pairs.items() for r in weekly(k, {"pain_pre": [v[0], v[1]]})]
    sessions = make_sessions(rows)
    reference = compute_reference_values(clients, sessions)
    assert reference.baseline_sd["pain"] == pytest.approx(4.0)
    assert reference.baseline_n["pain"] == 3
    assert reference.usual_interval_days == 7.0
    assert reference.as_of == pd.Timestamp(sessions["session_date"].max())
    expected = 4.0 * math.sqrt(2) * math.sqrt(1 - config.RELIABILITY["pain"])
    assert reference.change_error("pain") == pytest.approx(expected)
    # One client alone is judged against the three: Z's reliability is the practice's.
    alone = compute_client_outcomes(
        clients[clients["client_id"].eq("X")],
        sessions[sessions["client_id"].eq("X")],
        reference=reference,
    ).iloc[0]
    assert alone["pain_rci"] == pytest.approx(-6 / expected)
    assert alone["pain_change_label"] == "meaningful and reliable"


def test_a_reference_of_the_wrong_type_is_refused() -> None:
    clients = make_clients([{"client_id": "A"}])
    sessions = make_sessions(weekly("A", {"pain_pre": [5, 4]}))
    with pytest.raises(ValueError, match="reference must be ReferenceValues"):
        compute_client_outcomes(clients, sessions, reference={"pain": 1.0})  # type: ignore[arg-type]


def test_change_error_is_nan_without_a_spread() -> None:
    reference = ReferenceValues(None, math.nan, {"pain": 0.0, "hd28": math.nan}, {"pain": 3})
    assert math.isnan(reference.change_error("pain"))
    assert math.isnan(reference.change_error("hd28"))
    assert math.isnan(reference.change_error("stress"))


@pytest.mark.parametrize(
    ("pairs", "label"),
    [
        # One client: no SD of baselines, so reliable change cannot be computed.
        ({"X": (5, 4.5)}, "not enough data to judge"),
        # Two clients with the same baseline: no spread.
        ({"X": (5, 4.5), "Y": (5, 5)}, "not enough data to judge"),
        # Meaningful is judged without the spread: 5 -> 2 is 60 % less pain.
        ({"X": (5, 2)}, "meaningful"),
    ],
)
def test_a_change_that_cannot_be_judged_says_so(
    pairs: dict[str, tuple[float, float]], label: str
) -> None:
    clients = make_clients([{"client_id": k, "baseline_pain": v[0]} for k, v in pairs.items()])
    rows = [r for k, v in pairs.items() for r in weekly(k, {"pain_pre": [v[0], v[1]]})]
    out = compute_client_outcomes(clients, make_sessions(rows)).set_index("client_id")
    assert out.at["X", "pain_change_label"] == label
    assert pd.isna(out.at["X", "pain_reliable"])

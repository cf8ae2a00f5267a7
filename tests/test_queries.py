"""The dashboard's frames read from the database: the same frames as pandas.read_sql gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, select, update

from practice import db, queries
from practice.importing import import_files
from practice.models import Client, DiaryDay, Session, Therapist, TreatmentSeries
from practice.sample import write_sample_csv
from practice.series import NO_SERIES
from tests.conftest import csv_bytes
from tests.diary_files import diary_csv, sessions_csv

# Codes whose order differs between text and number sorting, an accent, a column
# (cancel_reason) without a single value, a missing score.
EDGES = csv_bytes(
    "client_id,intake_date,headache_type,session_date,therapist,status,techniques,pain_pre,notes",
    "a10,2025-01-02,migraine,2025-01-06,Jo Park,attended,trigger_point,6,first",
    "a9,2025-01-02,migraine,2025-01-06,Émile Roux,attended,neuromuscular,5,",
    "a9,2025-01-02,migraine,2025-01-06,Jo Park,attended,craniosacral,,same day",
    "A1,2025-01-03,tension,2025-01-07,Jo Park,attended,trigger_point;craniosacral,4.5,",
    "a10,2025-01-02,migraine,2025-09-01,Jo Park,follow_up,,3,",
)


def reference_sessions(conn: Connection) -> pd.DataFrame:
    """The sessions frame as it was read before (one joined, ordered query through read_sql)."""
    stored = list(queries.SESSION_ROWS.selected_columns)[4:]  # after the session's and 3 ids
    statement = (
        select(
            Session.id.label("session_id"),
            Client.client_code.label("client_id"),
            Therapist.name.label("therapist"),
            TreatmentSeries.number.label("series_number"),
            *stored,
        )
        .join(Client, Client.id == Session.client_id)
        .join(Therapist, Therapist.id == Session.therapist_id)
        .outerjoin(TreatmentSeries, TreatmentSeries.id == Session.series_id)
        .order_by(Client.client_code, Session.session_date, Therapist.name)
    )
    frame = db.read_frame(conn, statement)
    frame = frame.astype({c: "float64" for c in queries.SESSION_NUMBER_COLUMNS})
    frame["series_number"] = frame["series_number"].fillna(NO_SERIES).astype("int64")
    frame["techniques"] = frame["techniques"].fillna("")
    return frame


def reference_clients(conn: Connection) -> pd.DataFrame:
    frame = db.read_frame(conn, queries.CLIENT_FRAME)
    return frame.astype({c: "float64" for c in queries.NUMERIC_CLIENT_COLUMNS})


def reference_diary(conn: Connection) -> pd.DataFrame:
    frame = db.read_frame(conn, queries.DIARY_FRAME)
    frame["headache"] = frame["headache"].astype(bool)
    return frame.astype({c: "float64" for c in ("severity", "pain", "medication")})


def assert_same_frames(engine: Engine) -> None:
    with engine.connect() as conn:
        pairs = [
            (queries.fetch_sessions(conn), reference_sessions(conn)),
            (queries.fetch_clients(conn), reference_clients(conn)),
            (queries.fetch_diary_days(conn), reference_diary(conn)),
        ]
    for fetched, reference in pairs:
        assert list(fetched.columns) == list(reference.columns)
        pd.testing.assert_frame_equal(fetched, reference, check_exact=True)


def test_the_frames_of_an_empty_practice(engine: Engine) -> None:
    assert_same_frames(engine)
    with engine.connect() as conn:
        assert list(queries.fetch_sessions(conn).columns) == list(queries.SESSION_FRAME_COLUMNS)


def test_the_frames_of_edge_cases(engine: Engine) -> None:
    import_files(engine, [("edges.csv", EDGES)])
    with engine.begin() as conn:  # a follow-up visit outside any series
        conn.execute(update(Session).where(Session.status == "follow_up").values(series_id=None))
    assert_same_frames(engine)
    with engine.connect() as conn:
        sessions = queries.fetch_sessions(conn)
    assert sessions["client_id"].tolist() == ["A1", "a10", "a10", "a9", "a9"]
    assert sessions["therapist"].tolist()[-2:] == ["Jo Park", "Émile Roux"]
    assert sessions["series_number"].tolist() == [1, 1, NO_SERIES, 1, 1]
    assert sessions["cancel_reason"].isna().all()


def test_the_frames_of_a_sample_practice_with_a_diary(engine: Engine, tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    write_sample_csv(sample, 60, seed=3)
    import_files(engine, [("sample.csv", sample.read_bytes())])
    import_files(engine, [("sessions.csv", sessions_csv(4))])
    import_files(engine, [("diary.csv", diary_csv(4))])
    with engine.connect() as conn:
        assert conn.execute(select(DiaryDay.id)).first() is not None
    assert_same_frames(engine)


def test_rows_are_read_in_chunks(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import_files(engine, [("edges.csv", EDGES)])
    monkeypatch.setattr(queries, "CHUNK_ROWS", 2)  # 5 sessions: chunks of 2, 2 and 1
    assert_same_frames(engine)

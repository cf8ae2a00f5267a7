"""Reading the practice database into frames: fetch_*(conn, ...) -> DataFrame.

Functions take a connection the caller owns and never commit. Frames use the practice's own
client codes (`client_id`) and therapist names, as users know them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, text

from practice.columns import COLUMNS
from practice.importing.writing import read_table
from practice.series import NO_SERIES

CLIENT_FRAME_SQL = """
SELECT client_code AS client_id, name AS client_name, intake_date, birth_year, sex,
       headache_type, headache_years, baseline_pain, baseline_headache_days_28d,
       baseline_medication_days_28d, baseline_hit6, baseline_midas, baseline_stress,
       baseline_sleep_quality, baseline_source, triggers, referral_source
FROM clients ORDER BY client_code
"""

SESSION_FRAME_SQL = """
SELECT s.id AS session_id, c.client_code AS client_id, t.name AS therapist,
       ts.number AS series_number, s.series_code, s.session_date, s.status, s.duration_min,
       s.pressure, s.pain_pre, s.pain_post, s.headache_days_7d, s.headache_days_28d,
       s.medication_days_7d, s.hit6, s.midas, s.stress, s.sleep_quality, s.techniques,
       s.self_care, s.cancel_reason, s.notes
FROM sessions s
JOIN clients c ON c.id = s.client_id
JOIN therapists t ON t.id = s.therapist_id
LEFT JOIN treatment_series ts ON ts.id = s.series_id
ORDER BY c.client_code, s.session_date, t.name
"""

# Number columns come back as floats (NaN when missing) on either database.
NUMERIC_CLIENT_COLUMNS = tuple(c.name for c in COLUMNS if c.part == "intake" and c.kind == "number")
NUMERIC_SESSION_COLUMNS = tuple(
    c.name for c in COLUMNS if c.part == "session" and c.kind == "number"
)


def fetch_clients(conn: Connection) -> pd.DataFrame:
    """Every client with their intake, one row each, ordered by client code."""
    frame = read_table(conn, CLIENT_FRAME_SQL)
    return _as_floats(frame, NUMERIC_CLIENT_COLUMNS)


def fetch_sessions(conn: Connection) -> pd.DataFrame:
    """Every session with its client code, therapist name and series number, oldest first."""
    frame = read_table(conn, SESSION_FRAME_SQL)
    frame = _as_floats(frame, NUMERIC_SESSION_COLUMNS)
    # A follow-up visit that belongs to no series has no series row: number 0 (NO_SERIES).
    frame["series_number"] = frame["series_number"].fillna(NO_SERIES).astype("int64")
    frame["techniques"] = frame["techniques"].fillna("")
    return frame


DIARY_FRAME_SQL = """
SELECT c.client_code AS client_id, d.diary_date, d.headache, d.severity, d.pain, d.medication,
       d.notes
FROM diary_days d
JOIN clients c ON c.id = d.client_id
ORDER BY c.client_code, d.diary_date
"""


def fetch_diary_days(conn: Connection) -> pd.DataFrame:
    """Every headache diary day with its client code, oldest first per client."""
    frame = read_table(conn, DIARY_FRAME_SQL)
    frame["diary_date"] = pd.to_datetime(frame["diary_date"]).astype("datetime64[ns]")
    frame["headache"] = frame["headache"].astype(bool)
    return _as_floats(frame, ("severity", "pain", "medication"))


def _as_floats(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return frame.astype({c: "float64" for c in columns})


@dataclass(frozen=True)
class PracticeCounts:
    """Headline counts of what is stored."""

    clients: int
    sessions: int
    therapists: int
    first_session: pd.Timestamp | None
    last_session: pd.Timestamp | None
    sample_only: bool


def fetch_counts(conn: Connection) -> PracticeCounts:
    """How many clients, sessions and therapists are stored, and over which dates."""
    row = conn.execute(
        text(
            "SELECT (SELECT COUNT(*) FROM clients), (SELECT COUNT(*) FROM sessions), "
            "(SELECT COUNT(*) FROM therapists), (SELECT MIN(session_date) FROM sessions), "
            "(SELECT MAX(session_date) FROM sessions)"
        )
    ).one()
    sources = {
        r[0]
        for r in conn.execute(
            text("SELECT DISTINCT source FROM imports WHERE status = 'completed'")
        )
    }
    first, last = (pd.Timestamp(v) if v is not None else None for v in row[3:5])
    return PracticeCounts(
        int(row[0]), int(row[1]), int(row[2]), first, last, sample_only=sources == {"sample"}
    )


def fetch_imports(conn: Connection) -> pd.DataFrame:
    """Import history, newest first, with what each import changed."""
    return read_table(
        conn,
        """
        SELECT id, source, file_names, started_at, status, rows_read, clients_added,
               clients_updated, sessions_added, sessions_updated, sessions_unchanged,
               diary_days_added, diary_days_updated, diary_days_unchanged, undone_at,
               imported_by, notices
        FROM imports ORDER BY id DESC""",
    )

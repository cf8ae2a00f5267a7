"""Reading the practice database into frames: fetch_*(conn, ...) -> DataFrame.

Functions take a connection the caller owns and never commit. Frames use the practice's own
client codes (`client_id`) and therapist names, as users know them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select

from practice import db
from practice.columns import COLUMNS, SESSION_NUMBER_COLUMNS
from practice.models import (
    AuditEvent,
    Client,
    DiaryDay,
    Import,
    Session,
    Technique,
    Therapist,
    TreatmentSeries,
)
from practice.series import NO_SERIES

# The clients frame: the practice's client code as `client_id`, every intake column.
CLIENT_FRAME = select(
    Client.client_code.label("client_id"),
    Client.name.label("client_name"),
    Client.intake_date,
    Client.birth_year,
    Client.sex,
    Client.headache_type,
    Client.headache_years,
    Client.baseline_pain,
    Client.baseline_headache_days_28d,
    Client.baseline_medication_days_28d,
    Client.baseline_hit6,
    Client.baseline_midas,
    Client.baseline_stress,
    Client.baseline_sleep_quality,
    Client.baseline_source,
    Client.triggers,
    Client.referral_source,
).order_by(Client.client_code)

# The sessions frame: client code and therapist name instead of their ids.
SESSION_FRAME = (
    select(
        Session.id.label("session_id"),
        Client.client_code.label("client_id"),
        Therapist.name.label("therapist"),
        TreatmentSeries.number.label("series_number"),
        Session.series_code,
        Session.session_date,
        Session.status,
        Session.duration_min,
        Session.pressure,
        Session.pain_pre,
        Session.pain_post,
        Session.headache_days_7d,
        Session.headache_days_28d,
        Session.medication_days_7d,
        Session.hit6,
        Session.midas,
        Session.stress,
        Session.sleep_quality,
        Session.techniques,
        Session.self_care,
        Session.cancel_reason,
        Session.notes,
        Session.location,
    )
    .join(Client, Client.id == Session.client_id)
    .join(Therapist, Therapist.id == Session.therapist_id)
    .outerjoin(TreatmentSeries, TreatmentSeries.id == Session.series_id)
    .order_by(Client.client_code, Session.session_date, Therapist.name)
)

# Number columns come back as floats (NaN when missing) on either database.
NUMERIC_CLIENT_COLUMNS = tuple(c.name for c in COLUMNS if c.part == "intake" and c.kind == "number")


def fetch_clients(conn: Connection) -> pd.DataFrame:
    """Every client with their intake, one row each, ordered by client code."""
    frame = db.read_frame(conn, CLIENT_FRAME)
    return _as_floats(frame, NUMERIC_CLIENT_COLUMNS)


def fetch_sessions(conn: Connection) -> pd.DataFrame:
    """Every session with its client code, therapist name and series number, oldest first."""
    frame = db.read_frame(conn, SESSION_FRAME)
    frame = _as_floats(frame, SESSION_NUMBER_COLUMNS)
    # A follow-up visit that belongs to no series has no series row: number 0 (NO_SERIES).
    frame["series_number"] = frame["series_number"].fillna(NO_SERIES).astype("int64")
    frame["techniques"] = frame["techniques"].fillna("")
    return frame


# The diary frame: one row per client and day, with the client's code.
DIARY_FRAME = (
    select(
        Client.client_code.label("client_id"),
        DiaryDay.diary_date,
        DiaryDay.headache,
        DiaryDay.severity,
        DiaryDay.pain,
        DiaryDay.medication,
        DiaryDay.notes,
    )
    .join(Client, Client.id == DiaryDay.client_id)
    .order_by(Client.client_code, DiaryDay.diary_date)
)


def fetch_diary_days(conn: Connection) -> pd.DataFrame:
    """Every headache diary day with its client code, oldest first per client."""
    frame = db.read_frame(conn, DIARY_FRAME)
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

    def count(model: type[Client | Session | Therapist]) -> Any:
        return select(func.count()).select_from(model).scalar_subquery()

    row = conn.execute(
        select(
            count(Client),
            count(Session),
            count(Therapist),
            select(func.min(Session.session_date)).scalar_subquery(),
            select(func.max(Session.session_date)).scalar_subquery(),
        )
    ).one()
    sources = set(
        conn.execute(select(Import.source).where(Import.status == "completed").distinct()).scalars()
    )
    first, last = (pd.Timestamp(v) if v is not None else None for v in row[3:5])
    return PracticeCounts(
        int(row[0]), int(row[1]), int(row[2]), first, last, sample_only=sources == {"sample"}
    )


def fetch_data_version(conn: Connection, *, recorded_events: Sequence[str] = ()) -> tuple[int, int]:
    """(newest import id, imports undone + audit events named `recorded_events`): changes
    whenever an import, an undo or a session recorded in the app changes the data."""
    newest, undone = conn.execute(
        select(func.coalesce(func.max(Import.id), 0), func.count(Import.undone_at))
    ).one()
    recorded = conn.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.event.in_(recorded_events))
    ).scalar_one()
    return int(newest), int(undone) + int(recorded)


def fetch_therapist_names(conn: Connection) -> list[str]:
    """Every stored therapist's name, in name order."""
    return [str(n) for n in conn.execute(select(Therapist.name).order_by(Therapist.name)).scalars()]


def fetch_technique_keys(conn: Connection) -> list[str]:
    """Every stored technique key, in key order."""
    return [str(k) for k in conn.execute(select(Technique.key).order_by(Technique.key)).scalars()]


def fetch_imports(conn: Connection) -> pd.DataFrame:
    """Import history, newest first, with what each import changed."""
    return db.read_frame(
        conn,
        select(
            Import.id,
            Import.source,
            Import.file_names,
            Import.started_at,
            Import.status,
            Import.rows_read,
            Import.clients_added,
            Import.clients_updated,
            Import.sessions_added,
            Import.sessions_updated,
            Import.sessions_unchanged,
            Import.diary_days_added,
            Import.diary_days_updated,
            Import.diary_days_unchanged,
            Import.undone_at,
            Import.imported_by,
            Import.notices,
        ).order_by(Import.id.desc()),
    )

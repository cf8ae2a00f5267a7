"""SQLAlchemy 2.0 typed models: one class per table, no business logic.

Every stored row records the import that brought it (`import_id`) and the last import that
changed it (`updated_import_id`), so an import can be listed, explained and undone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every Headway table."""


class Import(Base):
    """One import of one or more CSV files, with what it changed."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # sample, cli or upload
    file_names: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))  # completed or undone
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    clients_added: Mapped[int] = mapped_column(Integer, default=0)
    clients_updated: Mapped[int] = mapped_column(Integer, default=0)
    sessions_added: Mapped[int] = mapped_column(Integer, default=0)
    sessions_updated: Mapped[int] = mapped_column(Integer, default=0)
    sessions_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    diary_days_added: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    diary_days_updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    diary_days_unchanged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    notices: Mapped[str | None] = mapped_column(Text)
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Who imported: the signed-in user name, or "<os user> (command line)"; None for imports
    # made before this was recorded and for the sample practice.
    imported_by: Mapped[str | None] = mapped_column(String(100))


class Therapist(Base):
    """A therapist, known by the name the practice software exports."""

    __tablename__ = "therapists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class Technique(Base):
    """A massage technique: a vocabulary key or a label first seen in an import."""

    __tablename__ = "techniques"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class Client(Base):
    """A client and their intake: who they are and how their headaches were at the start."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    intake_date: Mapped[dt.date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(20))
    headache_type: Mapped[str | None] = mapped_column(String(40))
    headache_years: Mapped[float | None] = mapped_column(Float)
    baseline_pain: Mapped[float | None] = mapped_column(Float)
    baseline_headache_days_28d: Mapped[float | None] = mapped_column(Float)
    baseline_medication_days_28d: Mapped[float | None] = mapped_column(Float)
    baseline_hit6: Mapped[float | None] = mapped_column(Float)
    baseline_midas: Mapped[float | None] = mapped_column(Float)
    baseline_stress: Mapped[float | None] = mapped_column(Float)
    baseline_sleep_quality: Mapped[float | None] = mapped_column(Float)
    baseline_source: Mapped[str | None] = mapped_column(String(20))
    triggers: Mapped[str | None] = mapped_column(Text)
    referral_source: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), index=True)
    updated_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class TreatmentSeries(Base):
    """A run of a client's sessions: the CSV's `series_id`, else split at long gaps."""

    __tablename__ = "treatment_series"
    __table_args__ = (UniqueConstraint("client_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in date order per client
    series_code: Mapped[str | None] = mapped_column(String(100))
    first_date: Mapped[dt.date] = mapped_column(Date)
    last_date: Mapped[dt.date] = mapped_column(Date)
    session_count: Mapped[int] = mapped_column(Integer)


class Session(Base):
    """One appointment (attended, no-show or cancelled) with the scores recorded at it."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("client_id", "session_date", "therapist_id", name="uq_session_key"),
        Index("ix_sessions_date", "session_date"),
        Index("ix_sessions_therapist", "therapist_id"),
        Index("ix_sessions_import", "import_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_series.id"))
    session_date: Mapped[dt.date] = mapped_column(Date)
    # The clinic of a chain where the session took place (the CSV's optional `location`).
    location: Mapped[str | None] = mapped_column(String(200))
    series_code: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    duration_min: Mapped[float | None] = mapped_column(Float)
    pressure: Mapped[str | None] = mapped_column(String(20))
    pain_pre: Mapped[float | None] = mapped_column(Float)
    pain_post: Mapped[float | None] = mapped_column(Float)
    headache_days_7d: Mapped[float | None] = mapped_column(Float)
    headache_days_28d: Mapped[float | None] = mapped_column(Float)
    medication_days_7d: Mapped[float | None] = mapped_column(Float)
    hit6: Mapped[float | None] = mapped_column(Float)
    midas: Mapped[float | None] = mapped_column(Float)
    stress: Mapped[float | None] = mapped_column(Float)
    sleep_quality: Mapped[float | None] = mapped_column(Float)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    self_care: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    techniques: Mapped[str] = mapped_column(Text, default="")  # ';'-joined keys, as imported
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    updated_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class DiaryDay(Base):
    """One day of a client's headache diary: whether they had a headache, how bad, medication.

    Kept apart from sessions (a diary is the client's own daily record, not an appointment);
    one row per client and day.
    """

    __tablename__ = "diary_days"
    __table_args__ = (
        UniqueConstraint("client_id", "diary_date", name="uq_diary_day"),
        Index("ix_diary_days_import", "import_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    diary_date: Mapped[dt.date] = mapped_column(Date)
    headache: Mapped[bool] = mapped_column()  # a headache day (given, or severity/pain > 0)
    severity: Mapped[float | None] = mapped_column(Float)  # 0-3, as in the IHS diaries
    pain: Mapped[float | None] = mapped_column(Float)  # 0-10
    medication: Mapped[float | None] = mapped_column(Float)  # doses taken (yes = 1, no = 0)
    notes: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    updated_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class SessionTechnique(Base):
    """Which techniques a session used (the link table behind technique comparisons)."""

    __tablename__ = "session_techniques"
    # SQLite: WITHOUT ROWID keeps each link once, in primary-key order, instead of in the
    # table and again in the primary key's index (a third less to write per link).
    __table_args__ = (
        Index("ix_session_techniques_technique", "technique_id"),
        {"sqlite_with_rowid": False},
    )

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    technique_id: Mapped[int] = mapped_column(ForeignKey("techniques.id"), primary_key=True)


class PriorValue(Base):
    """The values a row had before an import changed it, so that the import can be undone."""

    __tablename__ = "prior_values"
    __table_args__ = (Index("ix_prior_values_import", "import_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"))
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[int] = mapped_column(Integer)
    prior: Mapped[dict[str, object]] = mapped_column(JSON)


class SavedColumnMapping(Base):
    """A column mapping chosen on the upload page, remembered for files with the same headers.

    `source_signature` identifies a source by its normalised header set (see
    practice.importing.memory); `mapping` is file header -> canonical column ("" = ignore).
    """

    __tablename__ = "column_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_signature: Mapped[str] = mapped_column(String(64), unique=True)
    mapping: Mapped[dict[str, str]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class User(Base):
    """A person who signs in: an owner, a therapist (linked to a therapist name) or front desk."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # owner, therapist or front_desk
    therapist_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, never the password
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class UserLocation(Base):
    """A location a user is limited to: such a user sees only the clients seen there."""

    __tablename__ = "user_locations"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    location: Mapped[str] = mapped_column(String(200), primary_key=True)


class SignInFailure(Base):
    """One recent failed sign-in, for throttling: the name as a hash, never as typed."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_name", "name_key", "at"),
        Index("ix_sign_in_failures_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    name_key: Mapped[str] = mapped_column(String(64))  # SHA-256 of the name typed
    address: Mapped[str | None] = mapped_column(String(64))  # None: not known (e.g. localhost)


class WebSession(Base):
    """A signed-in browser: the hashes of its one-time ticket and of its cookie's token."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_username", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    # SHA-256 hex digests: the ticket until it is exchanged, then the cookie's token. Neither
    # secret is ever stored as it was given.
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)  # the latest it may be resumed
    # The sidebar filters chosen in this browser (JSON), so that a reload keeps them.
    filters: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    """Who did what and when: sign-ins, imports, undos, exports, user changes."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    username: Mapped[str | None] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)

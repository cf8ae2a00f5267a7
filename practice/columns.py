"""The canonical CSV format: every column, its kind, its range and its export synonyms.

docs/csv-format.md documents each column listed here (a test checks that it does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["text", "date", "number", "coded", "list"]
Part = Literal["intake", "session", "diary"]


@dataclass(frozen=True)
class Column:
    """One canonical CSV column."""

    name: str
    part: Part
    kind: Kind
    low: float | None = None
    high: float | None = None
    whole: bool = False
    synonyms: tuple[str, ...] = field(default=())


COLUMNS: tuple[Column, ...] = (
    # --- intake ---------------------------------------------------------------------------
    Column(
        "client_id",
        "intake",
        "text",
        synonyms=(
            "client",
            "client id",
            "client number",
            "client no",
            "patient",
            "patient id",
            "patient number",
            "customer id",
            "file number",
        ),
    ),
    Column(
        "client_name",
        "intake",
        "text",
        synonyms=("name", "client name", "patient name", "full name", "customer"),
    ),
    Column(
        "intake_date",
        "intake",
        "date",
        synonyms=(
            "intake",
            "intake date",
            "first visit",
            "date of intake",
            "registered",
            "registration date",
        ),
    ),
    Column(
        "birth_year",
        "intake",
        "number",
        1900,
        2100,
        whole=True,
        synonyms=("year of birth", "birth year", "yob"),
    ),
    Column("sex", "intake", "coded", synonyms=("gender", "sex at birth")),
    Column(
        "headache_type",
        "intake",
        "coded",
        synonyms=("diagnosis", "headache diagnosis", "headache", "condition", "type"),
    ),
    Column(
        "headache_years",
        "intake",
        "number",
        0,
        100,
        synonyms=("years with headache", "headache history years", "duration years"),
    ),
    Column(
        "baseline_pain",
        "intake",
        "number",
        0,
        10,
        synonyms=("pain at intake", "intake pain", "usual pain"),
    ),
    Column(
        "baseline_headache_days_28d",
        "intake",
        "number",
        0,
        28,
        synonyms=(
            "headache days per month",
            "baseline headache days",
            "monthly headache days",
        ),
    ),
    Column(
        "baseline_medication_days_28d",
        "intake",
        "number",
        0,
        28,
        synonyms=(
            "medication days per month",
            "baseline medication days",
            "monthly medication days",
        ),
    ),
    Column(
        "baseline_hit6",
        "intake",
        "number",
        36,
        78,
        whole=True,
        synonyms=("hit6 at intake", "intake hit6"),
    ),
    Column(
        "baseline_midas",
        "intake",
        "number",
        0,
        270,
        whole=True,
        synonyms=("midas at intake", "intake midas"),
    ),
    Column("baseline_stress", "intake", "number", 0, 10, synonyms=("stress at intake",)),
    Column(
        "baseline_sleep_quality",
        "intake",
        "number",
        0,
        10,
        synonyms=("sleep at intake", "baseline sleep"),
    ),
    Column("baseline_source", "intake", "coded", synonyms=("baseline from",)),
    Column("triggers", "intake", "list", synonyms=("headache triggers", "known triggers")),
    Column(
        "referral_source",
        "intake",
        "text",
        synonyms=("referral", "referred by", "referrer", "how did you hear about us"),
    ),
    # --- session --------------------------------------------------------------------------
    Column(
        "session_date",
        "session",
        "date",
        synonyms=(
            "date",
            "appointment date",
            "appointment",
            "start",
            "start date",
            "start time",
            "visit date",
            "treatment date",
            "service date",
        ),
    ),
    Column(
        "therapist",
        "session",
        "text",
        synonyms=(
            "practitioner",
            "staff",
            "staff member",
            "provider",
            "therapist name",
            "rmt",
            "massage therapist",
            "treating therapist",
        ),
    ),
    Column(
        "location",
        "session",
        "text",
        synonyms=(
            "clinic",
            "clinic name",
            "site",
            "site name",
            "branch",
            "branch name",
            "location name",
            "office",
            "practice location",
        ),
    ),
    Column(
        "techniques",
        "session",
        "list",
        synonyms=(
            "technique",
            "treatment",
            "treatments",
            "service",
            "services",
            "modality",
            "modalities",
            "treatment type",
        ),
    ),
    Column(
        "series_id",
        "session",
        "text",
        synonyms=("series", "treatment series", "episode", "case", "case id", "treatment plan"),
    ),
    Column(
        "duration_min",
        "session",
        "number",
        5,
        240,
        synonyms=("duration", "length", "minutes", "session length", "duration minutes"),
    ),
    Column("pressure", "session", "coded", synonyms=("pressure level",)),
    Column(
        "pain_pre",
        "session",
        "number",
        0,
        10,
        synonyms=(
            "pain before",
            "pre pain",
            "pain pre session",
            "pain start",
            "pain before session",
        ),
    ),
    Column(
        "pain_post",
        "session",
        "number",
        0,
        10,
        synonyms=("pain after", "post pain", "pain post session", "pain end", "pain after session"),
    ),
    Column(
        "headache_days_7d",
        "session",
        "number",
        0,
        7,
        synonyms=(
            "headache days this week",
            "headache days last week",
            "weekly headache days",
            "headache days 7d",
        ),
    ),
    Column(
        "headache_days_28d",
        "session",
        "number",
        0,
        28,
        synonyms=("headache days this month", "headache days last 28 days"),
    ),
    Column(
        "medication_days_7d",
        "session",
        "number",
        0,
        7,
        synonyms=(
            "medication days this week",
            "medication days last week",
            "weekly medication days",
        ),
    ),
    Column("hit6", "session", "number", 36, 78, whole=True, synonyms=("hit 6", "hit6 score")),
    Column("midas", "session", "number", 0, 270, whole=True, synonyms=("midas score",)),
    Column("stress", "session", "number", 0, 10, synonyms=("stress level",)),
    Column("sleep_quality", "session", "number", 0, 10, synonyms=("sleep", "sleep score")),
    Column(
        "status", "session", "coded", synonyms=("appointment status", "attendance", "visit status")
    ),
    Column(
        "cancel_reason",
        "session",
        "text",
        synonyms=("cancellation reason", "reason for cancellation"),
    ),
    Column("self_care", "session", "list", synonyms=("home care", "homework", "self care advice")),
    Column("notes", "session", "text", synonyms=("note", "soap notes", "comments", "comment")),
)

COLUMNS_BY_NAME: dict[str, Column] = {column.name: column for column in COLUMNS}
INTAKE_COLUMNS = tuple(c.name for c in COLUMNS if c.part == "intake")
SESSION_COLUMNS = tuple(c.name for c in COLUMNS if c.part == "session")
# Columns a session file cannot do without; `intake_date` is required only for a new client.
REQUIRED_SESSION_COLUMNS = ("client_id", "session_date", "therapist", "techniques")
# The numbers a session file holds, in the spec's order; all but the session's length are
# scores the client reports (pain, headache and medication days, questionnaires).
SESSION_NUMBER_COLUMNS = tuple(
    c.name for c in COLUMNS if c.part == "session" and c.kind == "number"
)
SCORE_COLUMNS = tuple(c for c in SESSION_NUMBER_COLUMNS if c != "duration_min")

# --- headache diary ---------------------------------------------------------------------------
# A diary export has one row per client and day. Its own words differ from a session export's:
# there `headache` is the yes/no of the day (in a session file it is the headache type), `date`
# is the diary day and `id` is the client. Diary files are mapped with these columns only
# (practice.importing.diary decides which kind a file is); docs/csv-format.md documents them.
_CLIENT_ID = COLUMNS[0]
DIARY_COLUMNS: tuple[Column, ...] = (
    Column("client_id", "diary", "text", synonyms=("id", *_CLIENT_ID.synonyms)),
    Column(
        "diary_date",
        "diary",
        "date",
        synonyms=("date", "day", "diary date", "entry date", "log date", "calendar day"),
    ),
    Column(
        "headache",
        "diary",
        "coded",
        synonyms=(
            "headache day",
            "headache today",
            "had headache",
            "any headache",
            "migraine day",
            "headache yes no",
        ),
    ),
    Column(
        "severity",
        "diary",
        "number",
        0,
        3,
        whole=True,
        synonyms=("intensity", "headache severity", "headache intensity", "severity 0 3"),
    ),
    Column(
        "pain",
        "diary",
        "number",
        0,
        10,
        synonyms=("pain score", "pain level", "pain 0 10", "pain intensity", "nrs"),
    ),
    Column(
        "medication",
        "diary",
        "number",
        0,
        50,
        synonyms=(
            "acute medication",
            "medication taken",
            "medication today",
            "meds",
            "painkillers",
            "doses",
            "medication count",
            "rescue medication",
        ),
    ),
    Column("notes", "diary", "text", synonyms=("note", "comments", "comment", "diary notes")),
)
DIARY_COLUMNS_BY_NAME: dict[str, Column] = {column.name: column for column in DIARY_COLUMNS}
# A diary needs the client and the day, and says how the day was in at least one of these.
REQUIRED_DIARY_COLUMNS = ("client_id", "diary_date")
DIARY_DAY_COLUMNS = ("headache", "severity", "pain")

"""Recording a session in the app: check it as the importer would, write it, audit it.

A therapist (for their own clients, in their own name) or an owner records a session on Client
progress; whoever may record it may correct or delete it later. Each field is checked by the
importer's own validation (`practice.importing.validation.parse_file` on a one-row table), so
the rules and the messages are the importer's. A recorded session is stored like an imported
one, keyed by (client, date, therapist): when the same session later arrives in a CSV export,
the import matches it and reports it as unchanged or updated, never as a second session.
Every create, change and delete goes to the audit log with the values before and after.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Select, select

from practice import db
from practice.access import sees_everything, visible_clients
from practice.auth import SignedInUser, record_event
from practice.columns import SCORE_COLUMNS
from practice.importing.mapping import ColumnMapping
from practice.importing.reading import RawTable
from practice.importing.undo import rebuild_series
from practice.importing.validation import parse_file
from practice.importing.writing import technique_links
from practice.models import Client, Session, SessionTechnique, Technique, Therapist, TreatmentSeries
from practice.vocabulary import technique_label

FORM = "form"  # the "file" name the importer's checks see
# The fields a recorded session carries, in the order the form shows them.
ENTRY_FIELDS = (
    "session_date",
    "therapist",
    "techniques",
    "status",
    "pain_pre",
    "pain_post",
    "headache_days_7d",
    "headache_days_28d",
    "medication_days_7d",
    "stress",
    "sleep_quality",
    "hit6",
    "midas",
    "notes",
)
# How the form and its messages name each field.
ENTRY_LABELS = {
    "client_id": "Client",
    "session_date": "Date",
    "therapist": "Therapist",
    "techniques": "Techniques",
    "status": "Status",
    "pain_pre": "Pain before",
    "pain_post": "Pain after",
    "headache_days_7d": "Headache days",
    "headache_days_28d": "Headache days",
    "medication_days_7d": "Medication days (last 7 days)",
    "stress": "Stress",
    "sleep_quality": "Sleep quality",
    "hit6": "HIT-6",
    "midas": "MIDAS",
    "notes": "Notes",
}
STORED_FIELDS = ("status", "techniques", *SCORE_COLUMNS, "notes")
AUDIT_EVENTS = ("session_recorded", "session_corrected", "session_deleted")


@dataclass(frozen=True)
class SessionEntry:
    """One session as typed into the form (numbers may be numbers or text; blank is None)."""

    client_id: str
    session_date: object
    therapist: str
    techniques: tuple[str, ...] = ()
    status: str = "attended"
    pain_pre: object = None
    pain_post: object = None
    headache_days_7d: object = None
    headache_days_28d: object = None
    medication_days_7d: object = None
    stress: object = None
    sleep_quality: object = None
    hit6: object = None
    midas: object = None
    notes: str | None = None


@dataclass
class EntryRejected(Exception):
    """The entry was not written; `problems` maps each field to what is wrong with it."""

    problems: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{name}: {m}" for name, ms in self.problems.items() for m in ms)


class NotAllowed(Exception):
    """The user may not record, correct or delete this session; the message says why."""


# --- checking -------------------------------------------------------------------------------
def check_entry(entry: SessionEntry) -> dict[str, Any]:
    """The entry's typed values (storage form), or EntryRejected with the importer's messages."""
    cells = {name: _cell(getattr(entry, name)) for name in ("client_id", *ENTRY_FIELDS)}
    table = RawTable(FORM, pd.DataFrame([cells], dtype=object).astype(str), "utf-8", ",")
    mapping = ColumnMapping(FORM, {name: name for name in cells})
    parsed = parse_file(table, mapping, "dayfirst")
    errors = parsed.problems[parsed.problems["severity"] == "error"]
    if not errors.empty:
        problems: dict[str, list[str]] = {}
        for column, message in zip(errors["column"], errors["message"], strict=True):
            problems.setdefault(str(column), []).append(message)
        order = {name: i for i, name in enumerate(("client_id", *ENTRY_FIELDS))}
        raise EntryRejected(dict(sorted(problems.items(), key=lambda p: order.get(p[0], 99))))
    assert parsed.sessions is not None  # a session column is always given
    row = parsed.sessions.iloc[0]
    values = {name: _stored(row.get(name)) for name in STORED_FIELDS}
    values["status"] = values["status"] or "attended"
    values["techniques"] = values["techniques"] or ""
    date = pd.Timestamp(row["session_date"]).date()
    return {"session_date": date, "therapist": str(row["therapist"]), **values}


def _cell(value: object) -> str:
    """A form value as the text a CSV cell would hold ("" for blank)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(str(v).strip() for v in value if str(v).strip())
    if isinstance(value, float):
        return format(value, "g") if not value.is_integer() else str(int(value))
    return str(value).strip()


def _stored(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy and pandas scalars
        value = value.item()
    return float(value) if isinstance(value, int | float) else value


# --- who may record -------------------------------------------------------------------------
def may_record(conn: Connection, user: SignedInUser | None, client_id: str) -> bool:
    """Whether `user` may record sessions for this client (None: demo mode, everyone may): a
    client they may see (practice.access), so never front desk."""
    if sees_everything(user):
        return True
    sessions = db.read_frame(
        conn,
        _with_client_and_therapist(
            select(
                Client.client_code.label("client_id"),
                Therapist.name.label("therapist"),
                Session.location,
            )
        ),
    )
    mine = visible_clients(sessions, user)
    return mine is None or client_id in mine


def _check_allowed(
    conn: Connection, user: SignedInUser | None, client_id: str, therapist: str
) -> None:
    if not may_record(conn, user, client_id):
        raise NotAllowed(f"you may not record sessions for client {client_id}")
    if user is not None and user.role == "therapist" and therapist != user.therapist_name:
        raise NotAllowed(f"a therapist records sessions in their own name ({user.therapist_name})")


# --- writing --------------------------------------------------------------------------------
def record_session(engine: Engine, user: SignedInUser | None, entry: SessionEntry) -> int:
    """Store a new session; returns its id. Raises EntryRejected or NotAllowed, writing nothing."""
    values = check_entry(entry)
    with db.import_transaction(engine) as conn:
        _check_allowed(conn, user, entry.client_id, values["therapist"])
        client = _client(conn, entry.client_id)
        therapist_id = _therapist_id(conn, values["therapist"])
        _check_free(conn, client, values["session_date"], therapist_id, None)
        session_id = db.next_ids(conn, Session, 1)[0]
        row = {
            "id": session_id,
            "client_id": client,
            "therapist_id": therapist_id,
            "session_date": values["session_date"],
            "location": _client_location(conn, client),
            **{name: values[name] for name in STORED_FIELDS},
        }
        db.bulk_insert(conn, Session, _frame(row))
        _link_techniques(conn, session_id, str(values["techniques"]))
        rebuild_series(conn, [client])
        after = _audited(entry.client_id, values)
        _audit(conn, user, "session_recorded", session_id, None, after)
        db.reset_sequences(conn, [Session, TreatmentSeries, Technique, Therapist])
    return session_id


def correct_session(
    engine: Engine, user: SignedInUser | None, session_id: int, entry: SessionEntry
) -> dict[str, tuple[object, object]]:
    """Overwrite a recorded session with `entry`; returns each changed field (before, after)."""
    values = check_entry(entry)
    with db.import_transaction(engine) as conn:
        stored = _recorded(conn, session_id)
        _check_allowed(conn, user, stored["client_id"], stored["therapist"])
        _check_allowed(conn, user, entry.client_id, values["therapist"])
        if entry.client_id != stored["client_id"]:
            raise NotAllowed("a session cannot move to another client; delete and record it")
        client = int(stored["client_pk"])
        therapist_id = _therapist_id(conn, values["therapist"])
        _check_free(conn, client, values["session_date"], therapist_id, session_id)
        before = _audited(stored["client_id"], stored)
        after = _audited(entry.client_id, values)
        changed = {k: (before[k], after[k]) for k in after if before.get(k) != after[k]}
        if not changed:
            return {}
        update = {
            "id": session_id,
            "therapist_id": therapist_id,
            "session_date": values["session_date"],
            **{name: values[name] for name in STORED_FIELDS},
        }
        db.bulk_update(conn, Session, _frame(update))
        db.delete_ids(conn, SessionTechnique, [session_id], "session_id")
        _link_techniques(conn, session_id, str(values["techniques"]))
        rebuild_series(conn, [client])
        _audit(
            conn,
            user,
            "session_corrected",
            session_id,
            {k: b for k, (b, _) in changed.items()},
            {k: a for k, (_, a) in changed.items()},
        )
        db.reset_sequences(conn, [TreatmentSeries, Technique, Therapist])
    return changed


def delete_session(engine: Engine, user: SignedInUser | None, session_id: int) -> None:
    """Delete a recorded session (its values stay in the audit log)."""
    with db.import_transaction(engine) as conn:
        stored = _recorded(conn, session_id)
        _check_allowed(conn, user, stored["client_id"], stored["therapist"])
        db.delete_ids(conn, SessionTechnique, [session_id], "session_id")
        db.delete_ids(conn, Session, [session_id])
        rebuild_series(conn, [int(stored["client_pk"])])
        _audit(
            conn, user, "session_deleted", session_id, _audited(stored["client_id"], stored), None
        )


def fetch_recorded_sessions(conn: Connection, client_id: str) -> pd.DataFrame:
    """The client's sessions recorded in the app (not by an import), newest first."""
    sessions = db.table_of(Session)
    statement = _with_client_and_therapist(
        select(
            Session.id.label("session_id"),
            Client.client_code.label("client_id"),
            Session.session_date,
            Therapist.name.label("therapist"),
            Session.status,
            Session.techniques,
            *(sessions.c[c] for c in (*SCORE_COLUMNS, "notes")),
        )
    )
    statement = statement.where(Session.import_id.is_(None), Client.client_code == client_id)
    frame = db.read_frame(conn, statement.order_by(Session.session_date.desc(), Session.id.desc()))
    frame["session_date"] = pd.to_datetime(frame["session_date"]).dt.date
    return frame.astype({c: "float64" for c in SCORE_COLUMNS})


# --- helpers --------------------------------------------------------------------------------
def _with_client_and_therapist(
    statement: Select[*tuple[Any, ...]],
) -> Select[*tuple[Any, ...]]:
    """`statement` over sessions joined to their client and therapist."""
    return (
        statement.select_from(Session)
        .join(Client, Client.id == Session.client_id)
        .join(Therapist, Therapist.id == Session.therapist_id)
    )


def _client(conn: Connection, client_id: str) -> int:
    found = conn.execute(select(Client.id).where(Client.client_code == client_id)).scalar()
    if found is None:
        raise EntryRejected({"client_id": [f"client {client_id} is not in Headway"]})
    return int(found)


def _client_location(conn: Connection, client: int) -> str | None:
    """The location of the client's latest session naming one (a chain's clinic), or None:
    a session recorded in the app is at the client's clinic. A correction keeps it."""
    found = conn.execute(
        select(Session.location)
        .where(Session.client_id == client, Session.location.is_not(None))
        .order_by(Session.session_date.desc(), Session.id.desc())
        .limit(1)
    ).scalar()
    return None if found is None else str(found)


def _therapist_id(conn: Connection, name: str) -> int:
    found = conn.execute(select(Therapist.id).where(Therapist.name == name)).scalar()
    if found is not None:
        return int(found)
    new_id = db.next_ids(conn, Therapist, 1)[0]
    db.bulk_insert(conn, Therapist, pd.DataFrame({"id": [new_id], "name": [name]}))
    return new_id


def _check_free(
    conn: Connection, client: int, date: dt.date, therapist_id: int, own_id: int | None
) -> None:
    """A session is one per client, date and therapist (the key imports match on)."""
    rows = conn.execute(
        select(Session.id, Session.session_date).where(
            Session.client_id == client, Session.therapist_id == therapist_id
        )
    ).all()
    taken = [r for r in rows if pd.Timestamp(r[1]).date() == date and r[0] != own_id]
    if taken:
        raise EntryRejected(
            {
                "session_date": [
                    f"a session with this therapist on {date:%Y-%m-%d} is already recorded; "
                    "correct that one instead"
                ]
            }
        )


def _recorded(conn: Connection, session_id: int) -> dict[str, Any]:
    """A session recorded in the app, as stored; NotAllowed for imported or unknown ones."""
    sessions = db.table_of(Session)
    statement = _with_client_and_therapist(
        select(
            Session.import_id,
            Session.client_id.label("client_pk"),
            Client.client_code.label("client_id"),
            Therapist.name.label("therapist"),
            Session.session_date,
            *(sessions.c[c] for c in STORED_FIELDS),
        )
    )
    row = conn.execute(statement.where(Session.id == int(session_id))).mappings().first()
    if row is None:
        raise NotAllowed(f"session {session_id} does not exist (deleted meanwhile?)")
    if row["import_id"] is not None:
        raise NotAllowed(
            "this session came from an import: correct it in the practice software and "
            "import again, or undo that import"
        )
    stored = dict(row)
    stored["session_date"] = pd.Timestamp(stored["session_date"]).date()
    return stored


def _frame(row: Mapping[str, Any]) -> pd.DataFrame:
    """One row for db.bulk_insert / db.bulk_update (which convert the date for the driver)."""
    frame = pd.DataFrame([dict(row)], dtype=object)
    frame["session_date"] = pd.to_datetime(frame["session_date"])
    return frame


def _link_techniques(conn: Connection, session_id: int, techniques: str) -> None:
    keys = [k for k in techniques.split(";") if k]
    if not keys:
        return
    stored: dict[str, int] = {
        str(k): int(i) for k, i in conn.execute(select(Technique.key, Technique.id))
    }
    new = [k for k in keys if k not in stored]
    if new:
        ids = db.next_ids(conn, Technique, len(new))
        labels = [technique_label(k) for k in new]
        db.bulk_insert(
            conn, Technique, pd.DataFrame({"id": list(ids), "key": new, "label": labels})
        )
        stored.update(zip(new, ids, strict=True))
    rows = pd.DataFrame({"id": [session_id], "techniques": [techniques]})
    db.bulk_insert(conn, SessionTechnique, technique_links(rows, stored))


def _audited(client_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values the audit log keeps: client, date, therapist and every stored field."""
    date = values["session_date"]
    out: dict[str, Any] = {
        "client_id": client_id,
        "session_date": date.isoformat() if isinstance(date, dt.date) else str(date),
        "therapist": values["therapist"],
    }
    for name in STORED_FIELDS:
        value = _stored(values.get(name))
        out[name] = value
    return out


def _audit(
    conn: Connection,
    user: SignedInUser | None,
    event: str,
    session_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    detail = json.dumps(
        {"session_id": int(session_id), "before": before, "after": after}, ensure_ascii=False
    )
    record_event(conn, event, user.username if user else None, detail, max_chars=None)


__all__ = [
    "AUDIT_EVENTS",
    "ENTRY_FIELDS",
    "ENTRY_LABELS",
    "EntryRejected",
    "NotAllowed",
    "SessionEntry",
    "check_entry",
    "correct_session",
    "delete_session",
    "fetch_recorded_sessions",
    "may_record",
    "record_session",
]

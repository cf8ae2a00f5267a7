"""Undoing an import: its sessions and clients go, the values it changed come back.

Imports are undone newest first, like a stack: undoing an older import while a newer one
that came after it is in place could restore values the newer one relies on.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, select, update

from practice import db
from practice.importing.permissions import Actor, undo_refusal
from practice.importing.writing import (
    move_sessions_between_series,
    plan_series,
    read_sessions_of,
    technique_links,
)
from practice.models import (
    Client,
    DiaryDay,
    Import,
    PriorValue,
    Session,
    SessionTechnique,
    Technique,
    Therapist,
    TreatmentSeries,
)


class UndoRefused(Exception):
    """The import cannot be undone; the message says why and what to do instead."""


def undo_import(engine: Engine, import_id: int, *, actor: Actor | None = None) -> dict[str, int]:
    """Reverse import `import_id` in one transaction; returns what was removed and restored.

    `actor` (who asks) is checked against practice.importing.permissions in the same
    transaction; None is the command line.
    """
    with db.import_transaction(engine) as conn:
        _check_undoable(conn, import_id)
        refusal = undo_refusal(conn, import_id, actor or Actor(None, None))
        if refusal is not None:
            raise UndoRefused(refusal)
        added_sessions = db.read_frame(
            conn, select(Session.id, Session.client_id).where(Session.import_id == import_id)
        )
        priors = db.read_frame(
            conn,
            select(PriorValue.table_name, PriorValue.row_id, PriorValue.prior).where(
                PriorValue.import_id == import_id
            ),
        )
        restored_sessions = _restore(conn, priors, Session)
        db.delete_ids(conn, SessionTechnique, added_sessions["id"].tolist(), "session_id")
        db.delete_ids(conn, Session, added_sessions["id"].tolist())
        added_days = db.read_frame(conn, select(DiaryDay.id).where(DiaryDay.import_id == import_id))
        db.delete_ids(conn, DiaryDay, added_days["id"].tolist())
        restored_days = _restore(conn, priors, DiaryDay)
        added_clients = db.read_frame(conn, select(Client.id).where(Client.import_id == import_id))
        db.delete_ids(conn, TreatmentSeries, added_clients["id"].tolist(), "client_id")
        db.delete_ids(conn, Client, added_clients["id"].tolist())
        restored_clients = _restore(conn, priors, Client)
        _relink_restored(conn, priors)
        survivors = sorted(
            set(added_sessions["client_id"].tolist())
            | _clients_of(conn, priors) - set(added_clients["id"].tolist())
        )
        rebuild_series(conn, survivors)
        # A therapist or technique this import added stays while a session recorded in the app
        # still uses it (every imported session using it is gone by now).
        conn.execute(
            delete(Therapist).where(
                Therapist.import_id == import_id,
                Therapist.id.not_in(select(Session.therapist_id)),
            )
        )
        conn.execute(
            delete(Technique).where(
                Technique.import_id == import_id,
                Technique.id.not_in(select(SessionTechnique.technique_id)),
            )
        )
        conn.execute(delete(PriorValue).where(PriorValue.import_id == import_id))
        conn.execute(
            update(Import)
            .where(Import.id == import_id)
            .values(status="undone", undone_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
        )
    done = {
        "sessions_removed": len(added_sessions),
        "sessions_restored": restored_sessions,
        "clients_removed": len(added_clients),
        "clients_restored": restored_clients,
    }
    if len(added_days) or restored_days:  # a diary import
        done |= {"diary_days_removed": len(added_days), "diary_days_restored": restored_days}
    return done


def _check_undoable(conn: Connection, import_id: int) -> None:
    status = conn.execute(select(Import.status).where(Import.id == import_id)).scalar_one_or_none()
    if status is None:
        raise UndoRefused(f"there is no import #{import_id}")
    if status != "completed":
        raise UndoRefused(f"import #{import_id} is already {status}")
    later = conn.execute(
        select(func.max(Import.id)).where(Import.status == "completed", Import.id > import_id)
    ).scalar_one()
    if later is not None:
        raise UndoRefused(
            f"import #{import_id} cannot be undone while the later import "
            f"#{later} is in place; undo #{later} first"
        )
    recorded = conn.execute(
        select(Client.client_code, Session.session_date)
        .join(Client, Client.id == Session.client_id)
        .where(Session.import_id.is_(None), Client.import_id == import_id)
        .order_by(Client.client_code, Session.session_date)
    ).all()
    if recorded:
        shown = ", ".join(f"{code} on {pd.Timestamp(day):%Y-%m-%d}" for code, day in recorded[:5])
        raise UndoRefused(
            f"import #{import_id} added clients who now have sessions recorded in the app "
            f"({shown}{', ...' if len(recorded) > 5 else ''}); delete those sessions on "
            "Client progress first, or keep this import"
        )


def _restore(
    conn: Connection, priors: pd.DataFrame, model: type[Client | Session | DiaryDay]
) -> int:
    rows = priors[priors["table_name"] == model.__tablename__]
    if rows.empty:
        return 0
    values = pd.DataFrame([_loads(p) for p in rows["prior"]])
    values.insert(0, "id", rows["row_id"].astype("int64").to_numpy())
    for column in ("intake_date", "session_date", "diary_date"):
        if column in values:
            values[column] = pd.to_datetime(values[column])
    # Every prior of one import and table holds the same columns (all those the import gave),
    # and None there means the stored value was empty: restore it as empty.
    db.bulk_update(conn, model, values)
    return len(values)


def _loads(prior: object) -> dict[str, object]:
    return json.loads(prior) if isinstance(prior, str) else dict(prior)  # type: ignore[call-overload]


def _relink_restored(conn: Connection, priors: pd.DataFrame) -> None:
    rows = priors[priors["table_name"] == "sessions"]
    with_techniques = [
        (int(r), _loads(p)) for r, p in zip(rows["row_id"], rows["prior"], strict=True)
    ]
    restored = pd.DataFrame(
        [{"id": r, "techniques": p["techniques"]} for r, p in with_techniques if "techniques" in p],
        columns=["id", "techniques"],
    )
    if restored.empty:
        return
    technique_ids = {key: id_ for key, id_ in conn.execute(select(Technique.key, Technique.id))}
    db.delete_ids(conn, SessionTechnique, restored["id"].tolist(), "session_id")
    db.bulk_insert(conn, SessionTechnique, technique_links(restored, technique_ids))


def _clients_of(conn: Connection, priors: pd.DataFrame) -> set[int]:
    session_ids = priors.loc[priors["table_name"] == "sessions", "row_id"].astype(int).tolist()
    if not session_ids:
        return set()
    clients: set[int] = set()
    for start in range(0, len(session_ids), db.DELETE_CHUNK_IDS):
        chunk = session_ids[start : start + db.DELETE_CHUNK_IDS]
        found = conn.execute(select(Session.client_id).where(Session.id.in_(chunk)).distinct())
        clients.update(int(i) for i in found.scalars())
    return clients


def rebuild_series(conn: Connection, client_ids: list[int]) -> None:
    """Renumber the given clients' series from their stored sessions (after rows changed)."""
    if not client_ids:
        return
    stored = read_sessions_of(conn, client_ids)
    plan = plan_series(
        conn, stored[["id", "client_id", "session_date", "series_code", "status"]], client_ids
    )
    move_sessions_between_series(conn, stored, plan.session_series)
    db.delete_ids(conn, TreatmentSeries, plan.stale_ids)

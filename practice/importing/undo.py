"""Undoing an import: its sessions and clients go, the values it changed come back.

Imports are undone newest first, like a stack: undoing an older import while a newer one
that came after it is in place could restore values the newer one relies on.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from sqlalchemy import Connection, Engine, text

from practice import db
from practice.importing.permissions import Actor, undo_refusal
from practice.importing.writing import (
    move_sessions_between_series,
    plan_series,
    read_sessions_of,
    read_table,
    technique_links,
    to_db_values,
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
        added_sessions = _ids(
            conn, "SELECT id, client_id FROM sessions WHERE import_id = :i", import_id
        )
        priors = read_table(
            conn,
            f"SELECT table_name, row_id, prior FROM prior_values "  # noqa: S608
            f"WHERE import_id = {int(import_id)}",
        )
        restored_sessions = _restore(conn, priors, "sessions")
        db.delete_ids(conn, "session_techniques", added_sessions["id"].tolist(), "session_id")
        db.delete_ids(conn, "sessions", added_sessions["id"].tolist())
        added_days = _ids(conn, "SELECT id FROM diary_days WHERE import_id = :i", import_id)
        db.delete_ids(conn, "diary_days", added_days["id"].tolist())
        restored_days = _restore(conn, priors, "diary_days")
        added_clients = _ids(conn, "SELECT id FROM clients WHERE import_id = :i", import_id)
        db.delete_ids(conn, "treatment_series", added_clients["id"].tolist(), "client_id")
        db.delete_ids(conn, "clients", added_clients["id"].tolist())
        restored_clients = _restore(conn, priors, "clients")
        _relink_restored(conn, priors)
        survivors = sorted(
            set(added_sessions["client_id"].tolist())
            | _clients_of(conn, priors) - set(added_clients["id"].tolist())
        )
        rebuild_series(conn, survivors)
        # A therapist or technique this import added stays while a session recorded in the app
        # still uses it (every imported session using it is gone by now).
        for table, used in (
            ("therapists", "SELECT therapist_id FROM sessions"),
            ("techniques", "SELECT technique_id FROM session_techniques"),
        ):
            conn.execute(
                text(f"DELETE FROM {table} WHERE import_id = :i AND id NOT IN ({used})"),  # noqa: S608
                {"i": import_id},
            )
        conn.execute(text("DELETE FROM prior_values WHERE import_id = :i"), {"i": import_id})
        conn.execute(
            text("UPDATE imports SET status = 'undone', undone_at = :now WHERE id = :i"),
            {"now": dt.datetime.now(dt.UTC).replace(tzinfo=None), "i": import_id},
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
    row = conn.execute(text("SELECT status FROM imports WHERE id = :i"), {"i": import_id}).first()
    if row is None:
        raise UndoRefused(f"there is no import #{import_id}")
    if row.status != "completed":
        raise UndoRefused(f"import #{import_id} is already {row.status}")
    later = conn.execute(
        text("SELECT MAX(id) FROM imports WHERE status = 'completed' AND id > :i"), {"i": import_id}
    ).scalar_one()
    if later is not None:
        raise UndoRefused(
            f"import #{import_id} cannot be undone while the later import "
            f"#{later} is in place; undo #{later} first"
        )
    recorded = conn.execute(
        text(
            "SELECT c.client_code, s.session_date FROM sessions s "
            "JOIN clients c ON c.id = s.client_id "
            "WHERE s.import_id IS NULL AND c.import_id = :i ORDER BY c.client_code, s.session_date"
        ),
        {"i": import_id},
    ).all()
    if recorded:
        shown = ", ".join(f"{code} on {pd.Timestamp(day):%Y-%m-%d}" for code, day in recorded[:5])
        raise UndoRefused(
            f"import #{import_id} added clients who now have sessions recorded in the app "
            f"({shown}{', ...' if len(recorded) > 5 else ''}); delete those sessions on "
            "Client progress first, or keep this import"
        )


def _ids(conn: Connection, sql: str, import_id: int) -> pd.DataFrame:
    return pd.read_sql(text(sql), conn, params={"i": import_id})


def _restore(conn: Connection, priors: pd.DataFrame, table: str) -> int:
    rows = priors[priors["table_name"] == table]
    if rows.empty:
        return 0
    values = pd.DataFrame([_loads(p) for p in rows["prior"]])
    values.insert(0, "id", rows["row_id"].astype("int64").to_numpy())
    for column in ("intake_date", "session_date", "diary_date"):
        if column in values:
            values[column] = pd.to_datetime(values[column])
    # Every prior of one import and table holds the same columns (all those the import gave),
    # and None there means the stored value was empty: restore it as empty.
    db.bulk_update(conn, table, to_db_values(values, conn))
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
    technique_ids = {key: id_ for key, id_ in conn.execute(text("SELECT key, id FROM techniques"))}
    db.delete_ids(conn, "session_techniques", restored["id"].tolist(), "session_id")
    db.bulk_insert(conn, "session_techniques", technique_links(restored, technique_ids))


def _clients_of(conn: Connection, priors: pd.DataFrame) -> set[int]:
    session_ids = priors.loc[priors["table_name"] == "sessions", "row_id"].astype(int).tolist()
    if not session_ids:
        return set()
    marks = ", ".join(str(i) for i in session_ids)
    sql = f"SELECT DISTINCT client_id FROM sessions WHERE id IN ({marks})"  # noqa: S608
    return {int(r[0]) for r in conn.execute(text(sql))}


def rebuild_series(conn: Connection, client_ids: list[int]) -> None:
    """Renumber the given clients' series from their stored sessions (after rows changed)."""
    if not client_ids:
        return
    stored = read_sessions_of(conn, client_ids)
    plan = plan_series(
        conn, stored[["id", "client_id", "session_date", "series_code", "status"]], client_ids
    )
    move_sessions_between_series(conn, stored, plan.session_series)
    db.delete_ids(conn, "treatment_series", plan.stale_ids)

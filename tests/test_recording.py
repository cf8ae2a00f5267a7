"""Recording, correcting and deleting a session in the app (practice/recording.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, text

from practice.auth import SignedInUser, fetch_audit_log
from practice.importing import ImportRejected, UndoRefused, import_files, undo_import
from practice.queries import fetch_sessions
from practice.recording import (
    EntryRejected,
    NotAllowed,
    SessionEntry,
    check_entry,
    correct_session,
    delete_session,
    fetch_recorded_sessions,
    may_record,
    record_session,
)
from tests.conftest import csv_bytes

OWNER = SignedInUser("anna", "owner", None)
JO = SignedInUser("jo", "therapist", "Jo Park")
SAM = SignedInUser("sam", "therapist", "Sam Wu")
DESK = SignedInUser("fred", "front_desk", None)
HEADER = "client_id,intake_date,session_date,therapist,techniques,pain_pre,pain_post"
SEED = csv_bytes(
    HEADER,
    "C1,2025-01-02,2025-01-05,Jo Park,TPT,6,4",
    "C2,2025-01-02,2025-01-06,Sam Wu,CST,7,5",
)


@pytest.fixture
def practice(engine: Engine) -> Engine:
    import_files(engine, [("seed.csv", SEED)])
    return engine


def entry(**changes: object) -> SessionEntry:
    values: dict[str, object] = {
        "client_id": "C1",
        "session_date": dt.date(2025, 1, 12),
        "therapist": "Jo Park",
        "techniques": ("trigger_point", "stretching"),
        "pain_pre": 5.0,
        "pain_post": 3.0,
        "headache_days_7d": 2.0,
        "hit6": 60.0,
        "notes": "neck tight",
    }
    return SessionEntry(**{**values, **changes})  # type: ignore[arg-type]


# --- the importer's checks, field by field ---------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "csv_header", "csv_value"),
    [
        ("pain_pre", 11.0, "pain_pre", "11"),
        ("hit6", 60.5, "hit6", "60.5"),
        ("midas", "lots", "midas", "lots"),
        ("status", "maybe", "status", "maybe"),
        ("session_date", "2025-02-30", "session_date", "2025-02-30"),
        ("therapist", "", "therapist", ""),
        ("techniques", (), "techniques", ""),
        ("headache_days_7d", 8.0, "headache_days_7d", "8"),
    ],
)
def test_each_field_gets_the_importers_message(
    sqlite_engine: Engine, field: str, value: object, csv_header: str, csv_value: str
) -> None:
    with pytest.raises(EntryRejected) as rejected:
        check_entry(entry(**{field: value}))
    good = {
        "client_id": "C1",
        "intake_date": "2025-01-02",
        "session_date": "2025-01-12",
        "therapist": "Jo Park",
        "techniques": "TPT",
        csv_header: csv_value,
    }
    with pytest.raises(ImportRejected) as imported:
        import_files(sqlite_engine, [("x.csv", csv_bytes(",".join(good), ",".join(good.values())))])
    report = imported.value.report
    expected = report.loc[report["column"] == csv_header, "message"].tolist()
    assert rejected.value.problems == {field: expected}
    assert expected  # the importer did object to that cell


def test_a_valid_entry_is_typed_like_an_import() -> None:
    values = check_entry(entry(status="Review", techniques=(), hit6="61", pain_pre="6,5"))
    assert values["status"] == "follow_up"
    assert (values["hit6"], values["pain_pre"], values["techniques"]) == (61.0, 6.5, "")
    assert values["session_date"] == dt.date(2025, 1, 12)


def test_every_problem_of_an_entry_is_reported_at_once() -> None:
    with pytest.raises(EntryRejected) as rejected:
        check_entry(entry(pain_pre=-1.0, stress=12.0, therapist=""))
    assert set(rejected.value.problems) == {"pain_pre", "stress", "therapist"}


# --- record, correct, delete, audit -----------------------------------------------------------
def audit_events(engine: Engine) -> list[tuple[str, str | None, dict[str, object]]]:
    with engine.connect() as conn:
        log = fetch_audit_log(conn)
    return [
        (e, u, json.loads(d))
        for e, u, d in zip(log["event"], log["username"], log["detail"], strict=True)
        if e.startswith("session_")
    ][::-1]


def test_record_correct_and_delete_are_stored_and_audited(practice: Engine) -> None:
    session_id = record_session(practice, JO, entry())
    with practice.connect() as conn:
        stored = fetch_sessions(conn).set_index("session_id").loc[session_id]
        links = conn.execute(
            text("SELECT COUNT(*) FROM session_techniques WHERE session_id = :i"), {"i": session_id}
        ).scalar_one()
    assert (stored["client_id"], stored["therapist"], stored["series_number"]) == (
        "C1",
        "Jo Park",
        1,
    )
    assert (stored["pain_pre"], stored["techniques"], links) == (5.0, "trigger_point;stretching", 2)

    changed = correct_session(practice, JO, session_id, entry(pain_pre=4.0, notes=None))
    assert changed == {"pain_pre": (5.0, 4.0), "notes": ("neck tight", None)}
    assert correct_session(practice, JO, session_id, entry(pain_pre=4.0, notes=None)) == {}

    delete_session(practice, JO, session_id)
    with practice.connect() as conn:
        assert session_id not in fetch_sessions(conn)["session_id"].tolist()
        assert fetch_recorded_sessions(conn, "C1").empty

    (recorded, corrected, deleted) = audit_events(practice)
    assert recorded[0:2] == ("session_recorded", "jo")
    assert recorded[2]["before"] is None
    assert recorded[2]["after"]["pain_pre"] == 5.0  # type: ignore[index]
    assert corrected[2]["before"] == {"pain_pre": 5.0, "notes": "neck tight"}
    assert corrected[2]["after"] == {"pain_pre": 4.0, "notes": None}
    assert deleted[2]["after"] is None
    assert deleted[2]["before"]["pain_pre"] == 4.0  # type: ignore[index]


def test_a_long_note_is_audited_whole(sqlite_engine: Engine) -> None:
    import_files(sqlite_engine, [("seed.csv", SEED)])
    note = "x" * 5000
    record_session(sqlite_engine, OWNER, entry(notes=note))
    assert audit_events(sqlite_engine)[0][2]["after"]["notes"] == note  # type: ignore[index]


def test_a_follow_up_recorded_after_the_course_joins_its_series(practice: Engine) -> None:
    later = entry(session_date=dt.date(2025, 9, 1), status="follow_up", techniques=())
    session_id = record_session(practice, JO, later)
    with practice.connect() as conn:
        sessions = fetch_sessions(conn).set_index("session_id")
    assert sessions.loc[session_id, "series_number"] == 1


def test_the_same_session_twice_is_refused(practice: Engine) -> None:
    record_session(practice, OWNER, entry())
    with pytest.raises(EntryRejected, match="already recorded"):
        record_session(practice, OWNER, entry(pain_pre=1.0))
    with pytest.raises(EntryRejected, match="already recorded"):  # nor on the imported one
        record_session(practice, OWNER, entry(session_date=dt.date(2025, 1, 5)))


def test_an_unknown_client_is_refused(practice: Engine) -> None:
    with pytest.raises(EntryRejected, match="client C9 is not in Headway"):
        record_session(practice, OWNER, entry(client_id="C9"))


def test_imported_sessions_are_corrected_by_importing_not_here(practice: Engine) -> None:
    with practice.connect() as conn:
        imported = int(fetch_sessions(conn)["session_id"].iloc[0])
    with pytest.raises(NotAllowed, match="came from an import"):
        correct_session(practice, OWNER, imported, entry())
    with pytest.raises(NotAllowed, match="came from an import"):
        delete_session(practice, OWNER, imported)


# --- who may record ---------------------------------------------------------------------------
def test_a_therapist_records_for_their_own_clients_in_their_own_name(practice: Engine) -> None:
    with practice.connect() as conn:
        assert may_record(conn, JO, "C1") and not may_record(conn, JO, "C2")
        assert may_record(conn, OWNER, "C2") and not may_record(conn, DESK, "C1")
    with pytest.raises(NotAllowed):
        record_session(practice, JO, entry(client_id="C2", therapist="Jo Park"))
    with pytest.raises(NotAllowed, match="own name"):
        record_session(practice, JO, entry(therapist="Sam Wu"))
    with pytest.raises(NotAllowed):
        record_session(practice, DESK, entry())
    session_id = record_session(practice, OWNER, entry())
    with pytest.raises(NotAllowed):
        correct_session(practice, SAM, session_id, entry(therapist="Sam Wu"))
    with pytest.raises(NotAllowed):
        delete_session(practice, DESK, session_id)
    assert len(audit_events(practice)) == 1  # refusals write nothing


# --- a recorded session later arriving in a CSV export ---------------------------------------
@pytest.mark.parametrize(
    ("pain_pre", "counts"),
    [("5", (0, 0, 1)), ("4", (0, 1, 0))],
    ids=["same values: unchanged", "corrected value: updated"],
)
def test_an_export_holding_a_recorded_session_matches_it(
    practice: Engine, pain_pre: str, counts: tuple[int, int, int]
) -> None:
    session_id = record_session(practice, JO, entry(notes=None, hit6=None, headache_days_7d=None))
    export = csv_bytes(HEADER, f"C1,2025-01-02,2025-01-12,Jo Park,TPT;stretching,{pain_pre},3")
    result = import_files(practice, [("export.csv", export)])
    assert (result.sessions_added, result.sessions_updated, result.sessions_unchanged) == counts
    with practice.connect() as conn:
        sessions = fetch_sessions(conn)
    assert len(sessions) == 3
    assert sessions.set_index("session_id").loc[session_id, "pain_pre"] == float(pain_pre)


def test_undoing_an_import_keeps_what_recorded_sessions_use_or_refuses(practice: Engine) -> None:
    later = csv_bytes(HEADER, "C3,2025-02-01,2025-02-02,Lee Chan,Hot stones,5,4")
    import_files(practice, [("later.csv", later)])  # import #2 adds C3, Lee Chan, hot stones
    on_c1 = entry(therapist="Lee Chan", techniques=("hot_stones",))
    record_session(practice, OWNER, on_c1)  # C1 came with import #1
    undo_import(practice, 2)
    with practice.connect() as conn:
        sessions = fetch_sessions(conn)
    assert sessions.loc[sessions["therapist"] == "Lee Chan", "techniques"].tolist() == [
        "hot_stones"
    ]

    on_c2 = entry(client_id="C2", therapist="Sam Wu", techniques=("swedish",))
    record_session(practice, OWNER, on_c2)
    with pytest.raises(UndoRefused, match=r"sessions recorded in the app \(C1 on 2025-01-12"):
        undo_import(practice, 1)  # C1 and C2 came with import #1

"""Writing imports to the database, on SQLite and on PostgreSQL: merge, reject, undo."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine, make_url, text

from practice import db
from practice.importing import ImportRejected, UndoRefused, import_files, undo_import
from practice.importing.problems import format_problem
from practice.models import Base, SessionTechnique
from practice.queries import fetch_sessions
from tests.conftest import csv_bytes, reset_postgres

HEADER = (
    "client_id,client_name,intake_date,headache_type,baseline_headache_days_28d,"
    "session_date,therapist,techniques,pain_pre,pain_post,headache_days_7d,notes"
)
ROWS = (
    'C1,Ann Lee,2025-01-02,migraine,12,2025-01-05,Jo Park,TPT; stretch,6,4,3,"firm, not too"',
    "C1,Ann Lee,2025-01-02,migraine,12,2025-01-12,Jo Park,trigger point,5,3,2,",
    'C2,Bob Ray,2025-01-03,TTH,8,2025-01-06,Sam Wu,CST|Hot stones,7,5,2,"=HYPERLINK(""x"")"',
)
FIRST = csv_bytes(HEADER, *ROWS)


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted: equal snapshots mean an unchanged database."""
    with engine.connect() as conn:
        return {
            table: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table}"))), key=repr)
            for table in Base.metadata.tables
        }


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_first_import_adds_every_client_session_and_link(engine: Engine) -> None:
    result = import_files(engine, [("first.csv", FIRST)])
    assert (result.clients_added, result.sessions_added, result.sessions_updated) == (2, 3, 0)
    assert result.import_id == 1
    with engine.connect() as conn:
        sessions = fetch_sessions(conn)
    assert sessions["techniques"].tolist() == [
        "trigger_point;stretching",
        "trigger_point",
        "craniosacral;hot_stones",
    ]
    assert sessions["notes"].tolist()[2] == '=HYPERLINK("x")'  # data, never a formula
    assert sessions["series_number"].tolist() == [1, 1, 1]
    assert count(engine, "session_techniques") == 5
    assert count(engine, "treatment_series") == 2


def test_reimporting_the_same_file_changes_nothing(engine: Engine) -> None:
    import_files(engine, [("first.csv", FIRST)])
    before = snapshot(engine)
    result = import_files(engine, [("first.csv", FIRST)])
    assert (result.sessions_added, result.sessions_updated, result.sessions_unchanged) == (0, 0, 3)
    after = snapshot(engine)
    after.pop("imports"), before.pop("imports")  # only the history gains a line
    assert after == before


def test_corrected_reexport_updates_those_sessions_and_undo_restores_them(
    engine: Engine,
) -> None:
    import_files(engine, [("first.csv", FIRST)])
    original = snapshot(engine)
    corrected = csv_bytes(
        HEADER,
        ROWS[0].replace(",6,4,3,", ",7,4,3,"),
        ROWS[1],
        ROWS[2].replace("CST|Hot stones", "CST"),
        "C3,Cy Dee,2025-02-01,cluster,4,2025-02-02,Jo Park,NMT,3,2,1,",
    )
    result = import_files(engine, [("corrected.csv", corrected)])
    assert (
        result.clients_added,
        result.sessions_added,
        result.sessions_updated,
        result.sessions_unchanged,
    ) == (1, 1, 2, 1)
    with engine.connect() as conn:
        sessions = fetch_sessions(conn).set_index("client_id")
    assert sessions.loc["C1", "pain_pre"].tolist() == [7.0, 5.0]
    assert sessions.loc["C2", "techniques"] == "craniosacral"

    assert undo_import(engine, 2) == {
        "sessions_removed": 1,
        "sessions_restored": 2,
        "clients_removed": 1,
        "clients_restored": 0,
    }
    restored = snapshot(engine)
    assert restored.pop("imports") != original.pop("imports")  # the undo is recorded
    assert restored == original


def test_blank_cells_never_erase_stored_values(engine: Engine) -> None:
    import_files(engine, [("first.csv", FIRST)])
    blanked = csv_bytes(
        "client_id,session_date,therapist,techniques,pain_pre,notes",
        "C1,2025-01-05,Jo Park,TPT; stretch,,",
    )
    result = import_files(engine, [("blank.csv", blanked)])
    assert result.sessions_unchanged == 1
    with engine.connect() as conn:
        first = fetch_sessions(conn).iloc[0]
    assert (first["pain_pre"], first["notes"]) == (6.0, "firm, not too")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            csv_bytes(HEADER, ROWS[0].replace(",6,4,3,", ",11,4,3,")),
            "first.csv row 2, column pain_pre: must be between 0 and 10 ('11')",
        ),
        (
            csv_bytes("client_id,session_date,therapist,techniques", "C9,2025-01-01,Jo,TPT"),
            "first.csv row 2, column intake_date: client C9 is new to Headway and needs an "
            "intake date",
        ),
        (b"", "first.csv: the file is empty"),
        (csv_bytes(HEADER), "first.csv: the file has a header but no rows"),
        (
            b"PK\x03\x04\x00\x00binary",
            "first.csv: the file is not a text CSV file (binary "
            "content at byte 2); export it from your practice "
            "software as CSV",
        ),
    ],
    ids=["out-of-range", "new-client-without-intake", "empty", "header-only", "binary"],
)
def test_a_rejected_import_names_the_problem_and_leaves_the_database_as_it_was(
    engine: Engine, content: bytes, expected: str
) -> None:
    import_files(engine, [("seed.csv", FIRST)])
    before = snapshot(engine)
    with pytest.raises(ImportRejected) as rejected:
        import_files(engine, [("first.csv", content)])
    errors = rejected.value.report.query("severity == 'error'")
    messages = [
        format_problem(f, r, c, m, v)
        for f, r, c, m, v in errors[["file", "row", "column", "message", "value"]].itertuples(
            index=False, name=None
        )
    ]
    assert expected in messages
    assert snapshot(engine) == before


def test_dry_run_reports_the_counts_and_writes_nothing(engine: Engine) -> None:
    before = snapshot(engine)
    result = import_files(engine, [("first.csv", FIRST)], dry_run=True)
    assert (result.dry_run, result.import_id, result.sessions_added) == (True, None, 3)
    assert snapshot(engine) == before


def test_an_intake_file_and_a_sessions_file_import_together(engine: Engine) -> None:
    intake = csv_bytes(
        "Client ID,Intake date,Diagnosis,Year of birth", "C7,2025-03-01,migraine with aura,1980"
    )
    sessions = csv_bytes(
        "Client ID,Date,Practitioner,Treatment,Pain before", "C7,2025-03-04,Jo Park,MFR,5"
    )
    result = import_files(engine, [("intake.csv", intake), ("sessions.csv", sessions)])
    assert (result.clients_added, result.sessions_added) == (1, 1)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT headache_type, birth_year FROM clients")).one()
    assert tuple(row) == ("migraine_with_aura", 1980)


def test_a_long_gap_starts_a_new_series_and_undo_renumbers(engine: Engine) -> None:
    import_files(engine, [("first.csv", FIRST)])
    later = csv_bytes("client_id,session_date,therapist,techniques", "C1,2025-09-01,Jo Park,TPT")
    import_files(engine, [("later.csv", later)])
    with engine.connect() as conn:
        numbers = fetch_sessions(conn).query("client_id == 'C1'")["series_number"].tolist()
    assert numbers == [1, 1, 2]
    assert count(engine, "treatment_series") == 3
    undo_import(engine, 2)
    assert count(engine, "treatment_series") == 2


def test_only_the_newest_import_can_be_undone(engine: Engine) -> None:
    import_files(engine, [("first.csv", FIRST)])
    import_files(engine, [("again.csv", FIRST)])
    with pytest.raises(UndoRefused, match="undo #2 first"):
        undo_import(engine, 1)
    undo_import(engine, 2)
    with pytest.raises(UndoRefused, match="already undone"):
        undo_import(engine, 2)
    undo_import(engine, 1)
    assert count(engine, "sessions") == 0
    assert count(engine, "clients") == 0
    assert count(engine, "therapists") == 0


def test_imports_history_records_counts(engine: Engine) -> None:
    import_files(engine, [("first.csv", FIRST)])
    with engine.connect() as conn:
        history = pd.read_sql(
            text("SELECT file_names, status, sessions_added, notices FROM imports"), conn
        )
    assert history.loc[0, ["file_names", "status", "sessions_added"]].tolist() == [
        "first.csv",
        "completed",
        3,
    ]
    assert "Hot stones" in history.loc[0, "notices"]


def test_a_location_column_is_stored_per_session_and_a_file_without_one_leaves_it_blank(
    engine: Engine,
) -> None:
    import_files(engine, [("first.csv", FIRST)])
    with engine.connect() as conn:
        assert fetch_sessions(conn)["location"].isna().all()
    with_clinic = csv_bytes(
        HEADER + ",Clinic",
        *(f"{row},{place}" for row, place in zip(ROWS, ["North", "North", "Harbour"], strict=True)),
    )
    result = import_files(engine, [("clinics.csv", with_clinic)])
    assert (result.sessions_added, result.sessions_updated) == (0, 3)
    with engine.connect() as conn:
        assert fetch_sessions(conn)["location"].tolist() == ["North", "North", "Harbour"]
    # A later file without the column keeps each stored location (a blank never erases).
    result = import_files(engine, [("first.csv", FIRST)])
    assert result.sessions_updated == 0
    with engine.connect() as conn:
        assert fetch_sessions(conn)["location"].tolist() == ["North", "North", "Harbour"]
    undo_import(engine, 3)
    undo_import(engine, 2)
    with engine.connect() as conn:
        assert fetch_sessions(conn)["location"].isna().all()


# --- PostgreSQL's staged bulk insert (practice.db._insert_staged) ---------------------------


@pytest.mark.postgres
def test_staged_insert_refuses_rows_whose_keys_do_not_exist(postgres_url: str) -> None:
    engine = reset_postgres(postgres_url)
    db.upgrade_schema(engine)
    import_files(engine, [("first.csv", FIRST)])
    before = snapshot(engine)
    orphan = pd.DataFrame({"session_id": [1, 999], "technique_id": [999_999, 1]})
    with pytest.raises(db.MissingKeys) as caught, db.import_transaction(engine) as conn:
        db.bulk_insert(conn, SessionTechnique, orphan)
    assert "session_techniques" in str(caught.value)
    assert "session_id 999" in str(caught.value)
    assert "technique_id 999999" in str(caught.value)
    assert snapshot(engine) == before
    engine.dispose()


@pytest.mark.postgres
def test_a_role_that_may_not_turn_triggers_off_imports_the_same(postgres_url: str) -> None:
    """Without the right to set session_replication_role, PostgreSQL's own checks run."""
    owner = reset_postgres(postgres_url)
    db.upgrade_schema(owner)
    with owner.begin() as conn:
        conn.execute(text("DROP ROLE IF EXISTS headway_plain"))
        conn.execute(text("CREATE ROLE headway_plain LOGIN"))
        conn.execute(text("GRANT USAGE ON SCHEMA public TO headway_plain"))
        conn.execute(text("GRANT ALL ON ALL TABLES IN SCHEMA public TO headway_plain"))
        conn.execute(text("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO headway_plain"))
    plain = db.create_engine_for(
        make_url(postgres_url).set(username="headway_plain").render_as_string(False)
    )
    try:
        with plain.connect() as conn:
            assert not conn.execute(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar_one()
        result = import_files(plain, [("first.csv", FIRST)])
        assert (result.clients_added, result.sessions_added) == (2, 3)
        assert count(plain, "session_techniques") == 5
    finally:
        plain.dispose()
        with owner.begin() as conn:
            conn.execute(text("DROP OWNED BY headway_plain"))
            conn.execute(text("DROP ROLE headway_plain"))
        owner.dispose()


# --- the bulk-insert shortcuts (practice.db.bulk_insert) -----------------------------------


def indexes(engine: Engine) -> dict[str, list[str]]:
    """Each table's index names (what an import must leave exactly as it found)."""
    from sqlalchemy import inspect

    with engine.connect() as conn:
        inspector = inspect(conn)
        return {
            table: sorted(str(index["name"]) for index in inspector.get_indexes(table))
            for table in Base.metadata.tables
        }


def test_an_import_larger_than_the_tables_leaves_their_indexes_as_they_were(
    engine: Engine,
) -> None:
    """SQLite builds a large batch's secondary indexes after its rows; none goes missing."""
    before = indexes(engine)
    assert "ix_sessions_date" in before["sessions"]
    import_files(engine, [("first.csv", FIRST)])
    assert indexes(engine) == before


def test_a_failed_bulk_insert_keeps_the_indexes_and_the_rows(engine: Engine) -> None:
    import_files(engine, [("first.csv", FIRST)])
    before, kept = indexes(engine), snapshot(engine)
    # More rows than the 5 stored (so SQLite drops the index first), one of them twice.
    links = pd.DataFrame({"session_id": [1, 2, 3, 1, 2, 1], "technique_id": [3, 3, 3, 4, 4, 3]})
    with (
        pytest.raises(Exception, match=r"(?i)unique|duplicate"),
        db.import_transaction(engine) as conn,
    ):
        db.bulk_insert(conn, SessionTechnique, links)
    assert indexes(engine) == before
    assert snapshot(engine) == kept


@pytest.mark.postgres
def test_ids_with_gaps_after_an_undo_are_checked_row_by_row_and_import(
    postgres_url: str,
) -> None:
    """PostgreSQL: ids that do not fill their range take the staged path, with the same rows."""
    engine = reset_postgres(postgres_url)
    db.upgrade_schema(engine)
    import_files(engine, [("first.csv", FIRST)])
    later = csv_bytes(HEADER, "C3,Cy Dee,2025-02-01,cluster,4,2025-02-02,Jo Park,NMT,3,2,1,")
    import_files(engine, [("later.csv", later)])
    undo_import(engine, 2)  # client 3 and its session go: ids with a gap follow
    more = csv_bytes(
        HEADER,
        "C4,Di Eve,2025-02-01,cluster,4,2025-02-03,Jo Park,NMT,3,2,1,",
        ROWS[0].replace("2025-01-05", "2025-01-19"),
    )
    result = import_files(engine, [("more.csv", more)])
    assert (result.clients_added, result.sessions_added) == (1, 2)
    with engine.connect() as conn:
        sessions = fetch_sessions(conn)
    assert sorted(sessions["client_id"].tolist()) == ["C1", "C1", "C1", "C2", "C4"]
    engine.dispose()

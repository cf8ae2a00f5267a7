"""Column mappings remembered per source (files with the same headers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from practice import db
from practice.importing.memory import recall_mapping, remember_mapping, source_signature

JANE = ["Client ID", "Appointment Date", "Practitioner", "Visit Type"]


@pytest.mark.parametrize(
    "headers",
    [
        ["Visit Type", "Practitioner", "Appointment Date", "Client ID"],  # order
        ["client id", "APPOINTMENT-DATE", "practitioner", "visit_type"],  # case, punctuation
        ["ClientID", "AppointmentDate", "Practitioner", "VisitType"],  # spaces
        [*JANE, "", "  "],  # blank headers
    ],
)
def test_the_signature_ignores_order_spelling_and_blank_headers(headers: list[str]) -> None:
    assert source_signature(headers) == source_signature(JANE)


@pytest.mark.parametrize(
    "headers",
    [JANE[:-1], [*JANE, "Invoice"], ["Client ID", "Appointment Date", "Practitioner", "Visit"]],
)
def test_a_different_header_set_is_a_different_source(headers: list[str]) -> None:
    assert source_signature(headers) != source_signature(JANE)


def test_the_signature_is_a_sha256_of_the_sorted_normalised_headers() -> None:
    # header_key("A-B") is "ab"; printf 'ab\nc' | sha256sum
    assert source_signature(["C", "A-B"]) == (
        "0acdf9a2665198da784232d827b01ae3d24af5db060d723950cfcd47cd82ac07"
    )


def test_a_remembered_mapping_is_recalled_and_replaced(engine: Engine) -> None:
    signature = source_signature(JANE)
    with engine.connect() as conn:
        assert recall_mapping(conn, signature) == {}
    with engine.begin() as conn:
        remember_mapping(conn, signature, {"Visit Type": "techniques", "Room": ""})
    with engine.connect() as conn:
        assert recall_mapping(conn, signature) == {"Visit Type": "techniques", "Room": ""}
    with engine.begin() as conn:
        remember_mapping(conn, signature, {"Visit Type": ""})
    with engine.connect() as conn:
        assert recall_mapping(conn, signature) == {"Visit Type": ""}
        assert conn.execute(text("SELECT COUNT(*) FROM column_mappings")).scalar_one() == 1
        assert recall_mapping(conn, source_signature(["Other"])) == {}


def test_a_mapping_to_an_unknown_column_is_refused_and_nothing_is_stored(engine: Engine) -> None:
    with (
        pytest.raises(ValueError, match="unknown column\\(s\\): visit_kind"),
        engine.begin() as conn,
    ):
        remember_mapping(conn, "sig", {"Visit Type": "visit_kind"})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM column_mappings")).scalar_one() == 0


def test_a_stored_target_this_version_does_not_know_is_left_out(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO column_mappings (source_signature, mapping, updated_at) "
                "VALUES ('sig', :m, '2025-01-01 00:00:00')"
            ),
            {"m": '{"Visit Type": "techniques", "Old": "retired_column"}'},
        )
    with sqlite_engine.connect() as conn:
        assert recall_mapping(conn, "sig") == {"Visit Type": "techniques"}


def test_upgrading_a_0001_database_adds_the_table_and_keeps_the_data(tmp_path: Path) -> None:
    engine = db.create_engine_for(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with engine.begin() as conn:
        command.upgrade(db._alembic_config(conn), "0001")
        conn.execute(text("INSERT INTO therapists (id, name) VALUES (1, 'Jo Park')"))
    assert "column_mappings" not in inspect(engine).get_table_names()
    db.upgrade_schema(engine)
    assert "column_mappings" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert db.current_revision(conn) == db.head_revision()
        assert conn.execute(text("SELECT name FROM therapists")).scalar_one() == "Jo Park"
    engine.dispose()

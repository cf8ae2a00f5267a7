"""Column mappings remembered per source (files with the same headers)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from practice import db
from practice.importing import (
    ImportRejected,
    prepare_batch,
    preview,
    recall_mapping,
    remember_mapping,
    source_signature,
    write_batch,
)
from tests.conftest import csv_bytes

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


# A Jane App export: "Visit Type" holds the techniques only once it is mapped.
JANE_FILE = csv_bytes(
    "Client ID,Intake Date,Appointment Date,Practitioner,Visit Type",
    "N902,2025-06-02,2025-06-03,Jo Park,TPT",
)
VISIT_TYPE = {"Visit Type": "techniques"}


def stored(engine: Engine) -> tuple[int, int]:
    """How many imports and remembered mappings the database holds."""
    with engine.connect() as conn:
        imports = conn.execute(text("SELECT COUNT(*) FROM imports")).scalar_one()
        mappings = conn.execute(text("SELECT COUNT(*) FROM column_mappings")).scalar_one()
    return int(imports), int(mappings)


def test_an_import_remembers_its_mapping_in_its_own_transaction(engine: Engine) -> None:
    batch = prepare_batch([("jane.csv", JANE_FILE)], mapping=VISIT_TYPE)
    write_batch(engine, batch, remember={source_signature(JANE): VISIT_TYPE})
    assert stored(engine) == (1, 1)
    with engine.connect() as conn:
        assert recall_mapping(conn, source_signature(JANE)) == VISIT_TYPE


def test_a_rejected_import_does_not_remember_its_mapping(engine: Engine) -> None:
    batch = prepare_batch([("jane.csv", JANE_FILE)])  # Visit Type unmapped: no techniques
    with pytest.raises(ImportRejected):
        write_batch(engine, batch, remember={source_signature(JANE): {"Visit Type": ""}})
    assert stored(engine) == (0, 0)


def test_an_import_that_fails_while_writing_keeps_neither_data_nor_mapping(
    engine: Engine,
) -> None:
    """The second mapping is refused after the import and the first mapping were written:
    the one transaction rolls all of it back."""
    batch = prepare_batch([("jane.csv", JANE_FILE)], mapping=VISIT_TYPE)
    remember = {source_signature(JANE): VISIT_TYPE, "other": {"Room": "no_such_column"}}
    with pytest.raises(ValueError, match="no_such_column"):
        write_batch(engine, batch, remember=remember)
    assert stored(engine) == (0, 0)


def test_a_dry_run_does_not_remember_its_mapping(engine: Engine) -> None:
    batch = prepare_batch([("jane.csv", JANE_FILE)], mapping=VISIT_TYPE)
    write_batch(engine, batch, dry_run=True, remember={source_signature(JANE): VISIT_TYPE})
    assert stored(engine) == (0, 0)


@pytest.mark.parametrize(
    ("choices", "remembered", "expected"),
    [
        (VISIT_TYPE, {}, {"jane": VISIT_TYPE}),  # a mapping chosen: stored
        ({"Visit Type": ""}, {}, {}),  # nothing mapped, nothing remembered: nothing stored
        ({"Visit Type": ""}, {"jane": VISIT_TYPE}, {"jane": {"Visit Type": ""}}),  # replaced
        ({"Room": "notes"}, {}, {}),  # a choice for another file's header
    ],
)
def test_the_mappings_to_remember_are_each_files_own_choices(
    choices: dict[str, str],
    remembered: dict[str, dict[str, str]],
    expected: dict[str, dict[str, str]],
) -> None:
    file = preview.FilePreview(
        file="jane.csv", headers=tuple(JANE), rows=1, first_rows=pd.DataFrame(), signature="jane"
    )
    assert preview.mappings_to_remember([file], choices, remembered) == expected


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

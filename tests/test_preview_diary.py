"""The upload page's helpers recognise a headache diary, check it and import it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from practice.importing import import_files, preview, undo_import
from practice.queries import fetch_imports
from tests.diary_files import diary_csv, diary_rows, sessions_csv

CLIENTS = 5


def test_a_diary_upload_is_previewed_as_a_diary_with_its_columns_recognised() -> None:
    [shown] = preview.preview_files([("diary.csv", diary_csv(CLIENTS))])
    assert shown.kind == "diary"
    assert preview.KIND_LABELS[shown.kind] == "headache diary"
    assert preview.unrecognised_headers([shown]) == []
    table = preview.column_table(shown.headers, {}, kind="diary")
    assert table["Headway column"].tolist() == [
        "client_id",
        "diary_date",
        "headache",
        "severity",
        "medication",
        "notes",
    ]
    [session_file] = preview.preview_files([("s.csv", sessions_csv(2))])
    assert session_file.kind == "sessions"
    assert "severity" in preview.MAPPING_OPTIONS
    assert preview.option_label("severity") == "severity (diary)"


def test_a_diary_upload_is_checked_imported_and_undone(engine: Engine) -> None:
    import_files(engine, [("s.csv", sessions_csv(CLIENTS))])
    files = [("diary.csv", diary_csv(CLIENTS, repeat_row=3))]
    check = preview.check_upload(engine, files)
    days = len(diary_rows(CLIENTS))
    assert check.kind == "diary" and check.errors.empty
    assert check.result is not None
    assert preview.change_table(check.result, 0).to_dict("records") == [
        {"Records": "Diary days", "Added": days, "Updated": 0, "Unchanged": 0}
    ]
    result = preview.import_checked(engine, check.batch)
    assert (result.import_id, result.diary_days_added) == (2, days)
    with engine.connect() as conn:
        imports = fetch_imports(conn)
    history = preview.history_table(imports)
    assert history.loc[0, "Diary days added"] == days
    question = preview.undo_question(preview.undoable_import(imports))
    assert f"This removes the {days} diary day(s) it added" in question
    undone = undo_import(engine, 2)
    assert preview.undo_summary(2, undone) == (
        f"Import #2 was undone: {days} diary day(s) removed, 0 restored."
    )


@pytest.mark.parametrize("order", ["diary first", "sessions first"])
def test_a_diary_uploaded_with_session_files_is_refused(engine: Engine, order: str) -> None:
    files = [("diary.csv", diary_csv(2)), ("s.csv", sessions_csv(2))]
    if order == "sessions first":
        files.reverse()
    check = preview.check_upload(engine, files)
    assert check.result is None
    assert check.errors["message"].tolist() == [
        "is a headache diary, imported on its own: import s.csv first, then the diary"
    ]

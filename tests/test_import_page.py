"""The Import data page, run headless with AppTest on the seeded sample practice.

The page is opened through app.py (`switch_page`), as a user reaches it: app.py signs the
visitor in and routes every request (st.navigation over pages/).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest

from practice import db, queries
from practice.importing import import_files
from tests.conftest import csv_bytes
from tests.test_import_db import snapshot

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/4_Import_Data.py"

NEW_CLIENT = csv_bytes(
    "client_id,client_name,intake_date,headache_type,session_date,therapist,techniques,pain_pre",
    "N900,Nia Test,2025-06-02,migraine,2025-06-03,Jo Park,trigger point,6",
    "N900,Nia Test,2025-06-02,migraine,2025-06-10,Jo Park,stretching,5",
)
BAD_ROW = csv_bytes(
    "client_id,intake_date,session_date,therapist,techniques,pain_pre",
    "N901,2025-06-02,2025-06-03,Jo Park,TPT,6",
    "N901,2025-06-02,2025-06-10,Jo Park,TPT,11",
)
# "Visit Type" is no header Headway knows: it must be mapped to techniques.
VISIT_TYPE = csv_bytes(
    "Client ID,Intake Date,Appointment Date,Practitioner,Visit Type",
    "N902,2025-06-02,2025-06-03,Jo Park,TPT",
)
SAME_HEADERS_REORDERED = csv_bytes(
    "VISIT-TYPE,Practitioner,Appointment Date,Intake Date,Client ID",
    "CST,Sam Wu,2025-07-01,2025-06-30,N903",
)
AMBIGUOUS_DATES = csv_bytes(
    "client_id,intake_date,session_date,therapist,techniques",
    "N904,03/04/2025,03/05/2025,Jo Park,TPT",
)


@pytest.fixture
def app_engine(seeded_db_env: str) -> Iterator[Engine]:
    engine = db.create_engine_for(seeded_db_env)
    yield engine
    engine.dispose()


def open_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.file_uploader(key="csv").set_value([(name, data, "text/csv") for name, data in files])
    at.run()
    assert not at.exception
    return at


def counts(engine: Engine) -> queries.PracticeCounts:
    with engine.connect() as conn:
        return queries.fetch_counts(conn)


def frame_with(at: AppTest, column: str) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_an_upload_with_errors_names_file_row_and_column_and_writes_nothing(
    app_engine: Engine,
) -> None:
    at = open_page()
    before = snapshot(app_engine)
    upload(at, ("visits.csv", BAD_ROW))
    errors = frame_with(at, "severity")[0]
    assert errors[["file", "row", "column", "message", "value"]].values.tolist() == [
        ["visits.csv", 3, "pain_pre", "must be between 0 and 10", "11"]
    ]
    assert "1 problem(s) stop this import" in at.error[0].value
    assert {m.label: m.value for m in at.metric}["Errors (stop the import)"] == "1"
    assert "do_import" not in [b.key for b in at.button]
    assert snapshot(app_engine) == before


def test_a_good_upload_imports_a_new_client_and_undo_removes_it(app_engine: Engine) -> None:
    at = open_page()
    before = counts(app_engine)
    upload(at, ("new.csv", NEW_CLIENT))
    changes = frame_with(at, "Added")[0].set_index("Records")
    assert changes.loc["Clients", "Added"] == 1
    assert changes.loc["Sessions", "Added"] == 2
    assert counts(app_engine).sessions == before.sessions  # the check wrote nothing

    at.button(key="do_import").click().run()
    assert not at.exception
    assert "imported 2 row(s) from 1 file(s): clients 1 added" in at.success[0].value
    after = counts(app_engine)
    assert (after.clients, after.sessions) == (before.clients + 1, before.sessions + 2)
    with app_engine.connect() as conn:
        assert "N900" in queries.fetch_clients(conn)["client_id"].tolist()
    history = frame_with(at, "Import")[0]
    assert history[["Import", "From", "Files", "Status"]].values.tolist()[0] == [
        2,
        "upload page",
        "new.csv",
        "completed",
    ]

    at.button(key="undo").click().run()
    assert "Undo import #2 (new\\.csv" in at.warning[0].value
    assert counts(app_engine).sessions == before.sessions + 2  # asked, not yet undone
    at.button(key="undo_confirm").click().run()
    assert not at.exception
    undone = [s.value for s in at.success if "was undone" in s.value]
    assert undone == [
        "Import #2 was undone: 2 session(s) and 1 client(s) removed, 0 session(s) and "
        "0 client(s) restored."
    ]
    # The import emptied the upload box (issue 11): to import again, upload the file again.
    assert "do_import" not in [b.key for b in at.button]
    after_undo = counts(app_engine)
    assert (after_undo.clients, after_undo.sessions) == (before.clients, before.sessions)
    assert frame_with(at, "Import")[0]["Status"].tolist() == ["undone", "completed"]


def test_a_mapped_header_is_remembered_for_the_next_file_with_the_same_headers(
    app_engine: Engine,
) -> None:
    at = upload(open_page(), ("jane.csv", VISIT_TYPE))
    assert at.selectbox(key="map_visit_type").value == ""
    missing = frame_with(at, "severity")[0]
    assert missing[["column", "message"]].values.tolist()[0] == [
        "techniques",
        "required column is missing",
    ]
    at.selectbox(key="map_visit_type").set_value("techniques").run()
    columns = frame_with(at, "File column")[0].set_index("File column")
    assert columns.loc["Visit Type"].tolist() == ["techniques", "your mapping"]
    assert "do_import" in [b.key for b in at.button]
    at.button(key="do_import").click().run()
    assert not at.exception

    later = upload(open_page(), ("jane-july.csv", SAME_HEADERS_REORDERED))  # a new session
    assert later.selectbox(key="map_visit_type").value == "techniques"
    assert "↺ remembered from an earlier import" in [c.value for c in later.caption]
    assert {m.label: m.value for m in later.metric}["Errors (stop the import)"] == "0"
    later.button(key="do_import").click().run()
    with app_engine.connect() as conn:
        sessions = queries.fetch_sessions(conn)
    assert sessions.loc[sessions["client_id"] == "N903", "techniques"].tolist() == ["craniosacral"]


def test_the_date_order_choice_settles_ambiguous_dates(app_engine: Engine) -> None:
    at = upload(open_page(), ("eu.csv", AMBIGUOUS_DATES))
    errors = frame_with(at, "severity")[0]
    assert errors["message"].str.contains("read differently day-first and month-first").any()
    at.radio(key="date_order").set_value("dayfirst").run()
    assert {m.label: m.value for m in at.metric}["Errors (stop the import)"] == "0"
    at.button(key="do_import").click().run()
    with app_engine.connect() as conn:
        sessions = queries.fetch_sessions(conn)
    dates = sessions.loc[sessions["client_id"] == "N904", "session_date"]
    assert dates.tolist() == [pd.Timestamp("2025-05-03")]


def test_an_undo_refused_by_the_importer_is_shown_as_an_error(app_engine: Engine) -> None:
    at = open_page()
    at.button(key="undo").click().run()  # asks to undo the sample import (#1)
    import_files(app_engine, [("later.csv", NEW_CLIENT)])  # meanwhile, elsewhere: import #2
    at.button(key="undo_confirm").click().run()
    assert not at.exception
    assert "cannot be undone while the later import #2 is in place" in at.error[0].value
    with app_engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM imports WHERE id = 1")).scalar_one()
    assert status == "completed"


ZOE_MAC = (
    csv_bytes(
        "client_id,client_name,intake_date,headache_type,session_date,therapist,techniques",
        "N905,Zoë Müller,2025-06-02,migraine,2025-06-03,Jo Park,TPT",
    )
    .decode()
    .encode("mac_roman")
)


def test_a_file_in_doubt_is_refused_until_its_encoding_is_chosen(app_engine: Engine) -> None:
    at = upload(open_page(), ("zoe.csv", ZOE_MAC))
    refusal = " ".join(e.value for e in at.error)
    assert "cannot be told with confidence" in refusal and "row 2 \\(client\\_name\\)" in refusal
    assert "do_import" not in [b.key for b in at.button]
    at.selectbox(key="encoding").set_value("mac-roman").run()
    assert not at.exception
    assert any("read as mac\\-roman \\(as chosen\\)" in c.value for c in at.caption)
    at.button(key="do_import").click().run()
    assert not at.exception
    with app_engine.connect() as conn:
        name = conn.execute(text("SELECT name FROM clients WHERE client_code = 'N905'"))
        assert name.scalar_one() == "Zoë Müller"


def test_front_desk_sees_new_and_stored_counts_and_cannot_undo_the_owners_import(
    seeded_db_env: str,
) -> None:
    from practice import auth
    from practice.bootstrap import open_database

    app_engine = open_database(seeded_db_env)  # the sample practice, migrated
    with app_engine.begin() as conn:
        auth.add_user(conn, "anna", "owner", "owner-password")
        auth.add_user(conn, "fred", "front_desk", "front-desk-password")
    import_files(app_engine, [("owner.csv", NEW_CLIENT)], imported_by="anna")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["user"] = auth.SignedInUser("fred", "front_desk")
    at.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    at.switch_page(PAGE).run()
    assert not at.exception
    upload(at, ("again.csv", NEW_CLIENT))
    changes = frame_with(at, "Already stored")[0]
    assert changes.columns.tolist() == ["Records", "New", "Already stored"]
    assert "undo" not in [b.key for b in at.button]
    assert any("was not made by you" in c.value for c in at.caption)

    # Fred's own import: its summary, the history and the undo never tell stored values apart.
    own = NEW_CLIENT.replace(b"N900", b"N906")
    upload(at, ("own.csv", own))
    at.button(key="do_import").click().run()
    assert not at.exception
    assert at.success[0].value.endswith("clients 1 added; sessions 2 added.")
    history = frame_with(at, "Import")[0]
    assert not [c for c in history.columns if "updated" in c or "unchanged" in c]
    at.button(key="undo").click().run()
    assert at.warning[0].value.endswith("and restores any stored values it changed.")
    at.button(key="undo_confirm").click().run()
    assert not at.exception
    assert [s.value for s in at.success if "was undone" in s.value] == [
        "Import #3 was undone: 2 session(s) and 1 client(s) removed."
    ]


def test_after_an_import_the_upload_box_is_empty_and_the_next_upload_is_checked_alone(
    app_engine: Engine,
) -> None:
    at = open_page()
    upload(at, ("new.csv", NEW_CLIENT))
    at.button(key="do_import").click().run()
    assert "clients 1 added" in at.success[0].value
    # A new box (a new widget key) that holds no file: the imported one is not kept.
    assert [u.key for u in at.file_uploader] == ["csv.1"]
    assert not at.file_uploader(key="csv.1").value
    other = csv_bytes(
        "client_id,intake_date,session_date,therapist,techniques",
        "N905,2025-06-02,2025-06-05,Jo Park,TPT",
    )
    at.file_uploader(key="csv.1").set_value([("other.csv", other, "text/csv")]).run()
    assert not at.exception
    changes = frame_with(at, "Added")[0].set_index("Records")
    # other.csv alone: new.csv's two sessions are not checked again as "unchanged" with it.
    assert changes.loc["Sessions"].to_dict() == {"Added": 1, "Updated": 0, "Unchanged": 0}
    assert not any("clients 1 added" in s.value for s in at.success)

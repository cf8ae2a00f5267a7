"""Every download on every page: it arrives on every click, it is logged, it speaks spreadsheet.

AppTest cannot click a download, so the builders the pages hand to `st.download_button` are
captured and called the way Streamlit calls them on a click (on another thread, without the
session).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from practice import auth
from practice.bootstrap import open_database
from tests.conftest import csv_bytes

ROOT = Path(__file__).resolve().parent.parent
OWNER = auth.SignedInUser("anna", "owner")
# Every page with its downloads, opened as a person reaches it (through the entry script).
PAGES: list[tuple[str | None, dict[str, str]]] = [
    (None, {}),
    ("pages/1_Client_Progress.py", {"client": "C0042"}),
    ("pages/2_Techniques.py", {}),
    ("pages/3_Therapists.py", {}),
    ("pages/4_Import_Data.py", {}),
    ("pages/5_Users_and_Audit.py", {}),
]
# An upload with problems, two of them formula-like: the check step offers its problem report.
PROBLEM_UPLOAD = csv_bytes(
    "client_id,intake_date,session_date,therapist,techniques,pain_pre",
    "N901,2025-06-02,2025-06-03,Jo Park,TPT,=1+1",
    "N901,2025-06-02,2025-06-10,Jo Park,TPT,-2+3",
    "N901,2025-06-02,2025-06-17,Jo Park,TPT,11",
)
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
MISSING_WORDS = {"True", "False", "nan", "NaN", "None", "NaT", "<NA>", "\u2013", "\u2014"}


@pytest.fixture
def offered(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, dict[str, Any]]]:
    """Each download button drawn, by key: its label, file name and the builder of its file."""
    buttons: dict[str, dict[str, Any]] = {}
    draw = st.download_button

    def record(label: str, data: Callable[[], bytes], **options: Any) -> bool:
        buttons[str(options.get("key"))] = {"label": label, "build": data, **options}
        return draw(label, data, **options)

    monkeypatch.setattr(st, "download_button", record)
    yield buttons


def open_page(
    page: str | None, *, user: auth.SignedInUser | None = None, query: dict[str, str] | None = None
) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    if user is not None:
        at.session_state["user"] = user
        at.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    if page is None:
        at.run()
    else:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def practice_with_owner(seeded_db_env: str) -> str:
    with open_database(seeded_db_env).begin() as conn:
        auth.add_user(conn, "anna", "owner", "owner-password")
    return seeded_db_env


def audit_events(url: str) -> list[tuple[str | None, str, str | None]]:
    with open_database(url, seed=False).connect() as conn:
        log = auth.fetch_audit_log(conn)
    return list(zip(log["username"], log["event"], log["detail"], strict=True))


@pytest.mark.parametrize(("page", "query"), PAGES)
def test_a_download_click_does_not_rerun_the_page(seeded_db_env: str, page, query) -> None:
    """A rerun replaced the button's file id while the click's request was on its way: the
    download then spun forever ("Deferred file ... not found" in the server log)."""
    at = open_page(page, query=query)
    buttons = at.get("download_button")
    assert buttons, f"{page or 'Overview'} offers no download"
    for button in buttons:
        assert button.proto.ignore_rerun, f"{button.proto.label} on {page or 'Overview'} reruns"


def test_png_download_of_a_client_chart_is_logged(practice_with_owner: str, offered) -> None:
    open_page("pages/1_Client_Progress.py", user=OWNER, query={"client": "C0042"})
    pngs = {key: button for key, button in offered.items() if key.startswith("png-")}
    assert set(pngs) >= {"png-pain", "png-headache-days"}
    for key, button in pngs.items():
        data = button["build"]()
        assert data.startswith(b"\x89PNG"), key
        user, event, detail = audit_events(practice_with_owner)[0]
        assert (user, event) == ("anna", "export")
        assert button["file_name"] in detail
        assert "client C0042" in detail
    assert "chart 'Pain before and after each session' of client C0042" in " ".join(
        str(detail) for _, _, detail in audit_events(practice_with_owner)
    )


def spreadsheet_problems(name: str, data: bytes) -> list[str]:
    """What in a CSV download a spreadsheet would read wrong, or a person could not read."""
    problems = [] if data.startswith(b"\xef\xbb\xbf") else [f"{name}: no BOM"]
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for column in header:
        if "_" in column or not column[:1].isupper():
            problems.append(f"{name}: header {column!r} is not readable")
    for number, row in enumerate(rows, start=2):
        for column, cell in zip(header, row, strict=True):
            where = f"{name} line {number}, {column}: {cell!r}"
            if "\u2212" in cell:
                problems.append(f"{where} has a Unicode minus (Excel reads text)")
            if cell in MISSING_WORDS:
                problems.append(f"{where} is a code, not a value")
            if PLAIN_NUMBER.fullmatch(cell) and "." in cell and len(cell.split(".")[1]) > 4:
                problems.append(f"{where} has too many decimals")
            if cell.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(cell):
                problems.append(f"{where} could run as a formula")
    return problems


def csv_downloads(offered: dict[str, dict[str, Any]]) -> dict[str, bytes]:
    return {
        button["file_name"]: button["build"]()
        for button in offered.values()
        if button.get("mime") == "text/csv"
    }


def test_every_csv_download_speaks_spreadsheet(practice_with_owner: str, offered) -> None:
    files: dict[str, bytes] = {}
    for page, query in PAGES:
        open_page(page, user=OWNER, query=query)
        files.update(csv_downloads(offered))
    upload = open_page("pages/4_Import_Data.py", user=OWNER)
    upload.file_uploader(key="csv").set_value([("problems.csv", PROBLEM_UPLOAD, "text/csv")])
    upload.run()
    files.update(csv_downloads(offered))
    # Every kind of table the app offers: analysis tables, client tables, logs, the problems.
    assert {
        "clients-needing-attention.csv",
        "C0042_intake.csv",
        "C0042_series1_change.csv",
        "C0042_series1_sessions.csv",
        "techniques-hd28.csv",
        "technique-relief.csv",
        "time-to-response-hd28.csv",
        "therapists-hd28.csv",
        "import-history.csv",
        "import-check.csv",
        "audit-log.csv",
    } <= set(files)
    problems = [
        problem for name, data in files.items() for problem in spreadsheet_problems(name, data)
    ]
    assert problems == []
    report = files["import-check.csv"].decode("utf-8-sig")
    assert "'=1+1" in report and "'-2+3" in report  # formulas are still defused

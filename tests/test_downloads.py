"""Every download on every page: it arrives on every click, it is logged, it speaks spreadsheet.

AppTest cannot click a download, so the builders the pages hand to `st.download_button` are
captured and called the way Streamlit calls them on a click (on another thread, without the
session).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from practice import auth
from practice.bootstrap import open_database

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

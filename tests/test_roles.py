"""Sign-in and roles through AppTest: who sees which page and which clients.

Pages are opened through app.py and `switch_page`, as a person reaches them: app.py routes every
request (st.navigation over the pages/ files the role may open).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from practice import auth, ui
from practice.bootstrap import open_database
from practice.importing import import_files
from practice.queries import fetch_sessions

ROOT = Path(__file__).resolve().parent.parent
THERAPIST = "Sarah Okafor"
USERS = {
    "owner": auth.SignedInUser("anna", "owner"),
    "therapist": auth.SignedInUser("sarah", "therapist", THERAPIST),
    "front_desk": auth.SignedInUser("fred", "front_desk"),
}
CLINICAL_PAGES = ["pages/1_Client_Progress.py", "pages/2_Techniques.py"]
ALL_PAGES = [
    "Overview",
    "Client progress",
    "Techniques",
    "Therapists",
    "Import data",
    "Users and audit log",
]


def open_page(page: str | None, user: auth.SignedInUser | None = None, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if user is not None:
        at.session_state["user"] = user
        at.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def page_text(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "error", "warning", "info", "title")
        for e in at.get(kind)
        if isinstance(getattr(e, "value", None), str)
    ]
    return "\n".join(parts)


def therapist_clients(url: str) -> set[str]:
    with open_database(url).connect() as conn:
        sessions = fetch_sessions(conn)
    return set(sessions.loc[sessions["therapist"] == THERAPIST, "client_id"])


def test_demo_mode_without_users_is_labelled_and_open(seeded_db_env: str) -> None:
    at = open_page(None)
    assert not at.exception
    assert "Demo mode" in at.sidebar.warning[0].value
    assert at.metric  # the overview draws


def test_once_a_user_exists_every_page_asks_to_sign_in(practice_with_users: str) -> None:
    for page in [None, *CLINICAL_PAGES, "pages/3_Therapists.py", "pages/4_Import_Data.py"]:
        at = open_page(page)
        assert not at.exception
        assert at.title[0].value == "Sign in to Headway"
        assert not at.metric and not at.dataframe


def test_signing_in_through_the_form(practice_with_users: str) -> None:
    at = open_page(None)
    at.text_input(key="sign_in_user").input("anna")
    at.text_input(key="sign_in_password").input("wrong password")
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    assert at.error[0].value == "That name and password do not match."
    at.text_input(key="sign_in_password").input("owner-password")
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert "Signed in as **anna**, owner." in page_text(at)
    with open_database(practice_with_users).connect() as conn:
        events = auth.fetch_audit_log(conn)["event"].tolist()
    assert events[:2] == ["sign_in", "sign_in_failed"]


@pytest.mark.parametrize(
    ("role", "page", "allowed"),
    [
        ("owner", "pages/3_Therapists.py", True),
        ("owner", "pages/5_Users_and_Audit.py", True),
        ("therapist", "pages/3_Therapists.py", False),
        ("therapist", "pages/4_Import_Data.py", False),
        ("therapist", "pages/5_Users_and_Audit.py", False),
        ("therapist", "pages/2_Techniques.py", True),
        ("front_desk", "pages/1_Client_Progress.py", False),
        ("front_desk", "pages/2_Techniques.py", False),
        ("front_desk", "pages/4_Import_Data.py", True),
    ],
)
def test_each_role_opens_only_its_pages(practice_with_users, role, page, allowed) -> None:
    at = open_page(page, USERS[role])
    assert not at.exception
    refused = any("cannot open" in e.value for e in at.error)
    assert refused is not allowed


def test_front_desk_lands_on_import_data_and_is_refused_the_overview(
    practice_with_users: str,
) -> None:
    at = open_page(None, USERS["front_desk"])
    assert not at.exception and not at.error
    assert at.title[0].value == "Import data"
    overview = open_page("pages/0_Overview.py", USERS["front_desk"])
    assert "cannot open **Overview**" in overview.error[0].value
    assert not overview.metric


def test_front_desk_signing_in_at_the_root_lands_on_their_first_page(
    practice_with_users: str,
) -> None:
    at = open_page(None)
    at.text_input(key="sign_in_user").input("fred")
    at.text_input(key="sign_in_password").input("front-desk-password")
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Import data"


@pytest.mark.parametrize(
    ("role", "menu"),
    [
        ("owner", ALL_PAGES),
        ("therapist", ["Overview", "Client progress", "Techniques"]),
        ("front_desk", ["Import data"]),
    ],
)
def test_the_menu_holds_only_the_pages_a_role_may_open(role, menu) -> None:
    assert [ui.PAGES[name].title for name in ui.menu_pages(USERS[role])] == menu


def test_every_page_file_is_routed() -> None:
    assert sorted(p.name for p in (ROOT / "pages").glob("*.py")) == list(ui.PAGES)
    assert ui.menu_pages(None) == list(ui.PAGES)  # demo mode: every page


def test_a_deep_link_opened_first_still_asks_to_sign_in(practice_with_users: str) -> None:
    """Before app.py has run once, Streamlit may run a page file alone (its old pages/ mode):
    the page sends the request back through app.py, which asks for sign-in."""
    for page in CLINICAL_PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.switch_page(page).run()
        assert not at.exception
        assert at.title[0].value == "Sign in to Headway"
        assert not at.metric and not at.dataframe and not at.selectbox


def test_a_page_run_on_its_own_shows_nothing(practice_with_users: str) -> None:
    alone = AppTest.from_file(str(ROOT / "pages/2_Techniques.py"), default_timeout=60)
    assert alone.run().title[0].value == "Sign in to Headway"
    assert not alone.dataframe and not alone.metric
    alone.session_state["user"] = USERS["owner"]
    alone.run()
    assert not alone.exception
    assert "opens through app.py" in alone.error[0].value
    assert not alone.dataframe and not alone.metric


def test_a_therapist_sees_only_their_own_clients_everywhere(practice_with_users: str) -> None:
    mine = therapist_clients(practice_with_users)
    overview = open_page(None, USERS["therapist"])
    alerts = overview.dataframe[0].value if overview.dataframe else pd.DataFrame()
    assert set(alerts.get("link", pd.Series(dtype=str)).str.split("=").str[-1]) <= mine
    progress = open_page("pages/1_Client_Progress.py", USERS["therapist"])
    assert {o.split(" · ")[0] for o in progress.selectbox(key="client").options} == mine
    techniques = open_page("pages/2_Techniques.py", USERS["therapist"])
    assert not techniques.exception
    shown = techniques.dataframe[0].value
    assert shown.filter(like="lient").iloc[:, 0].astype(int).sum() <= len(mine)


def test_a_therapists_client_search_finds_only_their_own_clients(
    practice_with_users: str,
) -> None:
    mine = therapist_clients(practice_with_users)
    with open_database(practice_with_users).connect() as conn:
        others = set(fetch_sessions(conn)["client_id"]) - mine
        other = sorted(others)[0]
        name = conn.execute(
            text("SELECT name FROM clients WHERE client_code = :c"), {"c": other}
        ).scalar_one()
    at = open_page("pages/1_Client_Progress.py", USERS["therapist"])
    for query in (other, name):
        at.text_input(key="client_search").set_value(query).run()
        assert not at.exception
        found = {o.split(" · ")[0] for o in at.selectbox(key="client").options}
        assert found <= mine and other not in found
    at.text_input(key="client_search").set_value("").run()
    assert len(at.selectbox(key="client").options) == min(len(mine), 50)


def test_a_therapist_cannot_deep_link_to_another_therapists_client(
    practice_with_users: str,
) -> None:
    mine = therapist_clients(practice_with_users)
    with open_database(practice_with_users).connect() as conn:
        everyone = set(fetch_sessions(conn)["client_id"])
    other = sorted(everyone - mine)[0]
    with open_database(practice_with_users).connect() as conn:
        name = conn.execute(
            text("SELECT name FROM clients WHERE client_code = :c"), {"c": other}
        ).scalar_one()
    at = open_page(None, USERS["therapist"])
    at.query_params["client"] = other
    at.switch_page("pages/1_Client_Progress.py").run()
    assert not at.exception
    assert at.selectbox(key="client").value is None
    # Treated like an id that does not exist: nothing about the client is shown.
    assert "no client has that id" in page_text(at)
    assert name not in page_text(at) and not at.dataframe


def test_an_idle_session_is_signed_out(practice_with_users: str) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    at = open_page(None, USERS["owner"], last_seen=long_ago)
    assert at.title[0].value == "Sign in to Headway"
    assert "signed out after a period without activity" in at.info[0].value


def test_without_users_real_data_is_not_shown(seeded_db_env: str) -> None:
    engine = open_database(seeded_db_env)
    real = (
        b"client_id,intake_date,session_date,therapist,techniques\n"
        b"R1,2026-01-01,2026-01-02,Jo,TPT\n"
    )
    import_files(engine, [("real.csv", real)])
    at = open_page(None)
    assert "no user exists yet" in at.error[0].value
    assert not at.metric
    importing = open_page("pages/4_Import_Data.py")
    assert not importing.exception and not any("no user exists" in e.value for e in importing.error)


def test_the_owner_sees_users_and_refused_pages_in_the_audit_log(
    practice_with_users: str,
) -> None:
    open_page("pages/3_Therapists.py", USERS["therapist"])
    at = open_page("pages/5_Users_and_Audit.py", USERS["owner"])
    assert not at.exception
    users, events = at.dataframe[0].value, at.dataframe[1].value
    assert users["username"].tolist() == ["anna", "fred", "sarah"]
    assert "password_hash" not in users.columns
    refused = events[events["event"] == "Page refused"]
    assert refused[["username", "detail"]].values.tolist()[0] == ["sarah", "Therapists"]

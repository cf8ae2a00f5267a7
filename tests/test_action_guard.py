"""The action guard: every callback and download re-checks the user at the moment it runs.

Streamlit runs on_click callbacks before the page script and builds a download when it is
clicked, so the sign-in check at the top of a request comes too late for both. A user disabled
or idle since the page was drawn must get nothing (issue 14 item 1); the Overview's counts are
scoped like every other figure (issue 14 item 6).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from practice import auth, config, ui
from practice.bootstrap import open_database
from practice.importing import import_files
from practice.queries import fetch_counts, fetch_sessions
from tests.test_roles import THERAPIST, USERS

ROOT = Path(__file__).resolve().parent.parent
IMPORT_ROLES = ui.PAGES["4_Import_Data.py"].roles
CLINICAL_ROLES = ui.PAGES["1_Client_Progress.py"].roles
NEW_CLIENT = (
    b"client_id,intake_date,session_date,therapist,techniques\nG1,2026-01-01,2026-01-02,Jo,TPT\n"
)


@pytest.fixture
def practice(practice_with_users: str) -> str:
    return practice_with_users


def events(url: str, event: str) -> list[tuple[str, str]]:
    with open_database(url).connect() as conn:
        log = auth.fetch_audit_log(conn)
    rows = log[log["event"] == event]
    return list(zip(rows["username"], rows["detail"], strict=True))


def disable(url: str, username: str) -> None:
    with open_database(url).begin() as conn:
        auth.disable_user(conn, username)


def clients_of(url: str, therapist: str) -> list[str]:
    with open_database(url).connect() as conn:
        sessions = fetch_sessions(conn)
    return sorted(set(sessions.loc[sessions["therapist"] == therapist, "client_id"]))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the rule, action by action ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "page_roles"),
    [("undo", IMPORT_ROLES), ("import", IMPORT_ROLES), ("download", CLINICAL_ROLES)],
)
def test_an_active_user_may_act_a_disabled_or_idle_one_may_not(practice, action, page_roles):
    fresh = ui.Actor("anna", now(), page_roles)
    assert ui.refusal_reason(fresh, action) is None
    idle = ui.Actor("anna", now() - dt.timedelta(minutes=config.IDLE_MINUTES + 1), page_roles)
    assert ui.refusal_reason(idle, action) == (
        "you were signed out after a period without activity"
    )
    disable(practice, "anna")
    assert ui.refusal_reason(fresh, action) == "this account is no longer active"
    refused = events(practice, "action_refused")
    assert [user for user, _ in refused] == ["anna", "anna"]
    assert all(detail.startswith(f"{action}: ") for _, detail in refused)


def test_a_role_is_refused_an_action_it_does_not_have(practice) -> None:
    # A therapist on the Import page (as it could be drawn before a role change) may not undo.
    actor = ui.Actor("sarah", now(), IMPORT_ROLES)
    assert ui.refusal_reason(actor, "undo") == "your role (Therapist) may not do this"
    front_desk_on_a_clinical_page = ui.Actor("fred", now(), CLINICAL_ROLES)
    assert ui.refusal_reason(front_desk_on_a_clinical_page, "download") is not None


def test_a_therapist_may_act_only_on_their_own_clients(practice) -> None:
    mine = clients_of(practice, THERAPIST)
    with open_database(practice).connect() as conn:
        everyone = {r[0] for r in conn.execute(text("SELECT client_code FROM clients"))}
    other = sorted(everyone - set(mine))[0]
    actor = ui.Actor("sarah", now(), CLINICAL_ROLES)
    assert ui.refusal_reason(actor, "download", mine[0]) is None
    assert ui.refusal_reason(actor, "download", other) == "this client is not among yours"
    assert ui.refusal_reason(ui.Actor("anna", now(), CLINICAL_ROLES), "download", other) is None


def test_a_demo_visitor_is_refused_once_users_exist(seeded_db_env: str) -> None:
    visitor = ui.Actor(None, now(), CLINICAL_ROLES)
    assert ui.refusal_reason(visitor, "download") is None  # demo mode: no user exists
    with open_database(seeded_db_env).begin() as conn:
        auth.add_user(conn, "anna", "owner", "owner-password")
    assert ui.refusal_reason(visitor, "download") == "sign-in is required now"


# --- every download kind -----------------------------------------------------------------------
@pytest.fixture
def offered(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], bytes]]:
    """The file builder of every download button the pages draw, by key."""
    builds: dict[str, Callable[[], bytes]] = {}
    real = ui._offer_download

    def record(label: str, build: Callable[[], bytes], **options: object) -> None:
        builds[str(options["key"])] = build
        real(label, build, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(ui, "_offer_download", record)
    return builds


def open_page(page: str, user: auth.SignedInUser, **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["user"] = user
    at.session_state["last_seen"] = now()
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(page).run()
    assert not at.exception
    return at


def draw_every_download_kind(url: str) -> None:
    """The Overview as the owner (practice PDF, CSV, PNG), a client's page as their therapist
    (client PDF, client CSVs, client charts)."""
    open_page("pages/0_Overview.py", USERS["owner"])
    client = clients_of(url, THERAPIST)[0]
    open_page("pages/1_Client_Progress.py", USERS["therapist"], client=client)


def test_every_download_kind_is_drawn(practice, offered) -> None:
    draw_every_download_kind(practice)
    assert {"pdf-practice-report", "pdf-report", "csv-intake", "csv-sessions"} <= set(offered)
    assert any(key.startswith("png-") for key in offered)
    assert any(key.startswith("csv-clients-needing") for key in offered)
    assert offered["csv-intake"]()  # an active user gets the file, and the log says so
    assert [user for user, _ in events(practice, "export")] == ["sarah"]


@pytest.mark.parametrize("why", ["disabled", "idle"])
def test_a_disabled_or_idle_user_downloads_nothing(practice, offered, monkeypatch, why) -> None:
    draw_every_download_kind(practice)
    if why == "disabled":
        disable(practice, "anna")
        disable(practice, "sarah")
    else:  # the pages were drawn longer ago than the idle timeout
        monkeypatch.setattr(config, "IDLE_MINUTES", -1)
    for build in offered.values():
        with pytest.raises(PermissionError, match="Nothing to download"):
            build()
    assert events(practice, "export") == []
    assert len(events(practice, "action_refused")) == len(offered)


# --- undo --------------------------------------------------------------------------------------
def import_status(url: str) -> list[str]:
    with open_database(url).connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT status FROM imports ORDER BY id"))]


@pytest.mark.parametrize("why", ["disabled", "idle"])
def test_undo_confirmed_by_a_disabled_or_idle_user_undoes_nothing(practice, why) -> None:
    import_files(open_database(practice), [("new.csv", NEW_CLIENT)])
    at = open_page("pages/4_Import_Data.py", USERS["owner"])
    at.button(key="undo").click().run()
    assert at.button(key="undo_confirm")  # asked
    if why == "disabled":
        disable(practice, "anna")
    else:
        at.session_state["last_seen"] = now() - dt.timedelta(minutes=config.IDLE_MINUTES + 1)
    at.button(key="undo_confirm").click().run()
    assert not at.exception
    assert import_status(practice)[-1] == "completed"  # nothing undone
    assert events(practice, "undo") == []
    assert [d.split(":")[0] for _, d in events(practice, "action_refused")] == ["undo"]
    assert at.title[0].value == "Sign in to Headway"
    assert "Nothing was done" in at.info[0].value


def test_undo_confirmed_by_an_active_user_undoes(practice) -> None:
    import_files(open_database(practice), [("new.csv", NEW_CLIENT)])
    at = open_page("pages/4_Import_Data.py", USERS["owner"])
    at.button(key="undo").click().run()
    at.button(key="undo_confirm").click().run()
    assert import_status(practice)[-1] == "undone"
    assert [user for user, _ in events(practice, "undo")] == ["anna"]


# --- the Overview's counts (issue 14 item 6) ----------------------------------------------------
def test_the_overview_counts_are_scoped_to_the_therapist(practice) -> None:
    with open_database(practice).connect() as conn:
        sessions = fetch_sessions(conn)
        practice_counts = fetch_counts(conn)
    mine = sessions[sessions["client_id"].isin(clients_of(practice, THERAPIST))]
    therapist = open_page("pages/0_Overview.py", USERS["therapist"]).caption[0].value
    assert therapist.startswith(
        f"{mine['client_id'].nunique():,} clients, {len(mine):,} sessions and "
        f"{mine['therapist'].nunique()} therapists stored, "
        f"{mine['session_date'].min():%d %b %Y} to {mine['session_date'].max():%d %b %Y}."
    )
    owner = open_page("pages/0_Overview.py", USERS["owner"]).caption[0].value
    assert owner.startswith(
        f"{practice_counts.clients:,} clients, {practice_counts.sessions:,} sessions and "
        f"{practice_counts.therapists} therapists stored"
    )
    assert mine["client_id"].nunique() < practice_counts.clients

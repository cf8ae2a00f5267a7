"""The sign-in's web session through AppTest: the ticket handed to the page, the session cookie
resuming a new tab with its filters, sign-out and revocation ending it.

AppTest has no browser: the cookie a tab connects with is `ui._session_cookie` (patched here),
and the page's scripts are read as text. tests/e2e/test_session_browser.py runs them for real.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from practice import auth, ui
from practice.bootstrap import open_database

ROOT = Path(__file__).resolve().parent.parent


def tab(cookie: str | None, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """A new browser tab that connects with `cookie` (None: no session cookie)."""
    monkeypatch.setattr(ui, "_session_cookie", lambda: cookie)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()


def sign_in(at: AppTest) -> AppTest:
    """Sign in as the owner through the form."""
    at.text_input(key="sign_in_user").input("anna")
    at.text_input(key="sign_in_password").input("owner-password")
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def scripts(at: AppTest) -> list[str]:
    """The bodies of the page's st.html elements (the session route's scripts)."""
    return [el.proto.body for el in at.get("html")]


def rows(url: str, query: str) -> list[tuple]:
    with open_database(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(query))]


def cookie_for(url: str, name: str = "anna") -> tuple[int, str]:
    """A web session of `name` whose browser holds the cookie: (session id, token)."""
    with open_database(url).begin() as conn:
        start = auth.start_web_session(conn, name)
        token = auth.redeem_ticket(conn, start.ticket)
    assert token is not None
    return start.session_id, token


def test_signing_in_hands_the_page_a_one_time_ticket(practice_with_users, monkeypatch) -> None:
    at = sign_in(tab(None, monkeypatch))
    assert at.title[0].value == "Overview"
    (script,) = scripts(at)
    assert 'fetch("/api/session", {method: "POST"' in script
    ticket = json.loads(json.loads(script.split("body: ")[1].split("})")[0]))["ticket"]
    stored = rows(practice_with_users, "SELECT username, ticket_hash, token_hash FROM web_sessions")
    assert stored == [("anna", auth.secret_digest(ticket), None)]
    assert scripts(at.run()) == []  # handed over once only


def test_a_tab_with_a_live_cookie_opens_signed_in_with_its_filters(
    practice_with_users, monkeypatch
) -> None:
    session_id, token = cookie_for(practice_with_users)
    chosen = {"widget.headache_types": ["tension_type"], "widget.population": "completers"}
    with open_database(practice_with_users).begin() as conn:
        auth.remember_filters(conn, session_id, json.dumps(chosen))
    at = tab(token, monkeypatch)
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert at.session_state["user"] == auth.SignedInUser("anna", "owner")
    assert at.multiselect(key="widget.headache_types").value == ["tension_type"]
    assert at.radio(key="widget.population").value == "completers"
    events = rows(practice_with_users, "SELECT event, username FROM audit_events ORDER BY id")
    assert events[-1] == ("session_resumed", "anna")


def test_filters_chosen_are_kept_with_the_session(practice_with_users, monkeypatch) -> None:
    at = sign_in(tab(None, monkeypatch))
    at.multiselect(key="widget.headache_types").set_value(["migraine"]).run()
    (kept,) = rows(practice_with_users, "SELECT filters FROM web_sessions")
    assert json.loads(kept[0])["widget.headache_types"] == ["migraine"]
    assert json.loads(kept[0])["widget.period"][0].keys() == {"date"}


def test_a_filter_value_no_longer_offered_is_dropped_not_an_error(
    practice_with_users, monkeypatch
) -> None:
    session_id, token = cookie_for(practice_with_users)
    chosen = {"widget.therapists": ["Nobody Here"], "widget.headache_types": ["migraine"]}
    with open_database(practice_with_users).begin() as conn:
        auth.remember_filters(conn, session_id, json.dumps(chosen))
    at = tab(token, monkeypatch)
    assert not at.exception
    assert at.multiselect(key="widget.therapists").value == []
    assert at.multiselect(key="widget.headache_types").value == ["migraine"]


@pytest.mark.parametrize("cookie", ["made-up-token", "revoked"])
def test_a_dead_cookie_asks_to_sign_in_and_is_cleared(
    practice_with_users, monkeypatch, cookie
) -> None:
    if cookie == "revoked":
        session_id, cookie = cookie_for(practice_with_users)
        with open_database(practice_with_users).begin() as conn:
            auth.end_web_session(conn, session_id)
    at = tab(cookie, monkeypatch)
    assert at.title[0].value == "Sign in to Headway"
    (script,) = scripts(at)
    assert 'method: "DELETE"' in script


def test_signing_out_revokes_the_session_and_clears_the_cookie(
    practice_with_users, monkeypatch
) -> None:
    _, token = cookie_for(practice_with_users)
    at = tab(token, monkeypatch)
    at.button(key="sign_out").click().run()
    assert at.title[0].value == "Sign in to Headway"
    assert any('method: "DELETE"' in s for s in scripts(at))
    assert rows(practice_with_users, "SELECT count(*) FROM web_sessions") == [(0,)]
    # The tab still holds the cookie it connected with: it does not sign in again.
    assert at.run().title[0].value == "Sign in to Headway"


@pytest.mark.parametrize(
    ("change", "notice"),
    [
        (lambda conn: auth.disable_user(conn, "anna"), "no longer active"),
        (lambda conn: auth.set_password(conn, "anna", "brand new pw"), "password was changed"),
    ],
    ids=["disabled", "new password"],
)
def test_an_open_tab_is_signed_out_when_its_session_is_revoked(
    practice_with_users, monkeypatch, change, notice
) -> None:
    _, token = cookie_for(practice_with_users)
    at = tab(token, monkeypatch)
    assert at.title[0].value == "Overview"
    with open_database(practice_with_users).begin() as conn:
        change(conn)
    at.run()
    assert at.title[0].value == "Sign in to Headway"
    assert notice in at.info[0].value


def test_an_idle_browser_session_is_signed_out(practice_with_users, monkeypatch) -> None:
    _, token = cookie_for(practice_with_users)
    at = tab(token, monkeypatch)
    long_ago = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=5)
    with open_database(practice_with_users).begin() as conn:
        conn.execute(text("UPDATE web_sessions SET last_seen_at = :t"), {"t": long_ago})
    at.run()
    assert at.title[0].value == "Sign in to Headway"
    assert "period without activity" in at.info[0].value


@pytest.mark.parametrize(
    "value",
    [
        (dt.date(2026, 1, 2), dt.date(2026, 6, 30)),
        ["Sarah Okafor", "Jo Park"],
        [],
        "completers",
    ],
)
def test_filter_values_survive_their_json_form(value) -> None:
    assert ui._python_value(json.loads(json.dumps(ui._json_value(value)))) == value

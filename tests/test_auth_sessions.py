"""Web sessions: the one-time ticket, the cookie's token, idle and absolute limits, revocation.

A fake clock (`now=`) stands in for time; the browser's part (the cookie itself) is in
tests/test_web_session.py and tests/e2e/test_session_browser.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from practice import auth, config

T0 = dt.datetime(2026, 12, 2, 9, 0, 0)
IDLE = dt.timedelta(minutes=config.IDLE_MINUTES)


@pytest.fixture
def conn(engine: Engine):
    with engine.begin() as connection:
        auth.add_user(connection, "anna", "owner", "owner-password")
        auth.add_user(connection, "sarah", "therapist", "therapist-pw", therapist_name="Sarah")
        yield connection


def signed_in(conn, username: str = "anna", at: dt.datetime = T0) -> tuple[int, str]:
    """A web session started at `at` whose ticket was exchanged at once: (id, token)."""
    start = auth.start_web_session(conn, username, now=at)
    token = auth.redeem_ticket(conn, start.ticket, now=at)
    assert token is not None
    return start.session_id, token


def events(conn, event: str) -> list[tuple[str | None, str | None]]:
    rows = conn.execute(
        text("SELECT username, detail FROM audit_events WHERE event = :e ORDER BY id"), {"e": event}
    )
    return [tuple(row) for row in rows]


def test_a_ticket_becomes_a_token_that_resumes_the_session(conn) -> None:
    start = auth.start_web_session(conn, "anna", now=T0)
    token = auth.redeem_ticket(conn, start.ticket, now=T0 + dt.timedelta(seconds=2))
    assert token is not None and token != start.ticket
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    resumed = auth.resume_web_session(conn, token, now=T0 + dt.timedelta(minutes=5))
    anna = auth.SignedInUser("anna", "owner")
    assert resumed == auth.ResumedSession(start.session_id, anna, None)
    assert events(conn, "session_resumed") == [("anna", "owner")]


def test_only_digests_are_stored_never_the_ticket_or_the_token(conn) -> None:
    start = auth.start_web_session(conn, "anna", now=T0)
    stored = conn.execute(text("SELECT ticket_hash, token_hash FROM web_sessions")).one()
    assert stored == (auth.secret_digest(start.ticket), None)
    token = auth.redeem_ticket(conn, start.ticket, now=T0)
    assert token is not None
    stored = conn.execute(text("SELECT ticket_hash, token_hash FROM web_sessions")).one()
    assert stored == (None, auth.secret_digest(token))
    dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM web_sessions")) for v in row)
    assert start.ticket not in dump and token not in dump


def test_a_ticket_is_single_use(conn) -> None:
    start = auth.start_web_session(conn, "anna", now=T0)
    assert auth.redeem_ticket(conn, start.ticket, now=T0) is not None
    assert auth.redeem_ticket(conn, start.ticket, now=T0) is None


@pytest.mark.parametrize(
    ("after", "redeemed"),
    [(auth.TICKET_SECONDS, True), (auth.TICKET_SECONDS + 1, False), (3600, False)],
)
def test_a_ticket_expires_in_seconds(conn, after: int, redeemed: bool) -> None:
    start = auth.start_web_session(conn, "anna", now=T0)
    token = auth.redeem_ticket(conn, start.ticket, now=T0 + dt.timedelta(seconds=after))
    assert (token is not None) is redeemed
    # An expired ticket is gone too: it cannot be tried again.
    assert auth.redeem_ticket(conn, start.ticket, now=T0) is None


def test_a_made_up_ticket_or_token_gets_nothing_and_logs_nothing(conn) -> None:
    signed_in(conn)
    assert auth.redeem_ticket(conn, "not-a-ticket", now=T0) is None
    assert auth.resume_web_session(conn, "not-a-token", now=T0) is None
    assert events(conn, "session_resumed") == []


def test_activity_slides_the_idle_limit(conn) -> None:
    session_id, token = signed_in(conn)
    at = T0
    for _ in range(5):  # a reload every 20 minutes keeps it alive well past IDLE_MINUTES
        at += IDLE - dt.timedelta(minutes=1)
        assert auth.resume_web_session(conn, token, now=at) is not None
    assert auth.keep_web_session(conn, session_id, now=at + IDLE) == "active"


def test_activity_is_written_at_most_once_a_minute(conn) -> None:
    session_id, _ = signed_in(conn)

    def last_seen() -> dt.datetime:
        stored = conn.execute(text("SELECT last_seen_at FROM web_sessions")).scalar_one()
        return stored if isinstance(stored, dt.datetime) else dt.datetime.fromisoformat(stored)

    soon = T0 + dt.timedelta(seconds=auth.TOUCH_SECONDS - 1)
    assert auth.keep_web_session(conn, session_id, now=soon) == "active"
    assert last_seen() == T0
    later = T0 + dt.timedelta(seconds=auth.TOUCH_SECONDS)
    assert auth.keep_web_session(conn, session_id, now=later) == "active"
    assert last_seen() == later


def test_an_idle_session_is_ended_and_cannot_be_resumed(conn) -> None:
    _, token = signed_in(conn)
    assert auth.resume_web_session(conn, token, now=T0 + IDLE + dt.timedelta(seconds=1)) is None
    assert events(conn, "signed_out") == [("anna", "idle")]
    assert conn.execute(text("SELECT count(*) FROM web_sessions")).scalar_one() == 0
    assert auth.resume_web_session(conn, token, now=T0) is None  # revoked, not merely late


def test_a_session_ends_after_its_absolute_limit_however_active(conn) -> None:
    session_id, token = signed_in(conn)
    limit = T0 + dt.timedelta(hours=config.SESSION_MAX_HOURS)
    at = T0
    while at + dt.timedelta(minutes=10) < limit:
        at += dt.timedelta(minutes=10)
        assert auth.keep_web_session(conn, session_id, now=at) == "active"
    assert auth.keep_web_session(conn, session_id, now=limit) == "expired"
    assert auth.resume_web_session(conn, token, now=limit) is None
    assert events(conn, "signed_out") == [("anna", "session older than SESSION_MAX_HOURS")]


def test_signing_out_revokes_the_token(conn) -> None:
    session_id, token = signed_in(conn)
    auth.end_web_session(conn, session_id)
    assert auth.resume_web_session(conn, token, now=T0) is None
    assert auth.keep_web_session(conn, session_id, now=T0) == "ended"


def test_the_cookie_route_revokes_by_token_and_says_whose_it_was(conn) -> None:
    session_id, token = signed_in(conn)
    assert auth.end_web_session_by_token(conn, "not-a-token") is None
    assert auth.end_web_session_by_token(conn, token) == "anna"
    assert auth.keep_web_session(conn, session_id, now=T0) == "ended"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda conn: auth.disable_user(conn, "anna"), "user disabled"),
        (lambda conn: auth.set_password(conn, "anna", "a new password"), "password changed"),
    ],
    ids=["disabled", "new password"],
)
def test_disabling_a_user_or_a_new_password_revokes_every_session(conn, change, reason) -> None:
    first_id, first = signed_in(conn)
    _, second = signed_in(conn)  # a second browser
    _, other = signed_in(conn, "sarah")
    pending = auth.start_web_session(conn, "anna", now=T0)  # a ticket not yet exchanged
    change(conn)
    assert auth.resume_web_session(conn, first, now=T0) is None
    assert auth.resume_web_session(conn, second, now=T0) is None
    assert auth.redeem_ticket(conn, pending.ticket, now=T0) is None
    assert auth.keep_web_session(conn, first_id, now=T0) == "ended"
    assert auth.resume_web_session(conn, other, now=T0) is not None  # nobody else's
    assert events(conn, "sessions_revoked") == [("anna", f"3 ({reason})")]


def test_a_disabled_users_ticket_buys_no_token(conn) -> None:
    start = auth.start_web_session(conn, "anna", now=T0)
    conn.execute(text("UPDATE users SET disabled = :yes WHERE username = 'anna'"), {"yes": True})
    assert auth.redeem_ticket(conn, start.ticket, now=T0) is None


def test_a_session_whose_user_was_disabled_directly_is_ended_on_its_next_use(conn) -> None:
    # E.g. disabled by a database edit that bypassed disable_user.
    session_id, token = signed_in(conn)
    conn.execute(text("UPDATE users SET disabled = :yes WHERE username = 'anna'"), {"yes": True})
    assert auth.keep_web_session(conn, session_id, now=T0) == "disabled"
    assert auth.resume_web_session(conn, token, now=T0) is None
    assert events(conn, "signed_out") == [("anna", "disabled")]


def test_the_browsers_filters_are_kept_with_its_session(conn) -> None:
    session_id, token = signed_in(conn)
    auth.remember_filters(conn, session_id, '{"widget.therapists": ["Sarah"]}')
    resumed = auth.resume_web_session(conn, token, now=T0)
    assert resumed is not None and resumed.filters == '{"widget.therapists": ["Sarah"]}'


def test_dead_sessions_are_cleared_when_a_new_one_starts(conn) -> None:
    signed_in(conn, at=T0)
    signed_in(conn, at=T0 + IDLE - dt.timedelta(minutes=1))
    signed_in(conn, "sarah", at=T0 + IDLE + dt.timedelta(minutes=1))
    assert conn.execute(text("SELECT count(*) FROM web_sessions")).scalar_one() == 2

"""Users, passwords, sign-in, lockout and the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from practice import auth, config


@pytest.fixture
def conn(sqlite_engine: Engine):
    with sqlite_engine.begin() as connection:
        yield connection


def test_a_new_user_can_sign_in_and_the_hash_is_argon2id(conn) -> None:
    assert not auth.any_users(conn)
    auth.add_user(conn, "anna", "owner", "correct horse")
    assert auth.any_users(conn)
    stored = conn.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    result = auth.sign_in(conn, "anna", "correct horse")
    assert result.status == "ok"
    assert result.user == auth.SignedInUser("anna", "owner", None)


@pytest.mark.parametrize(
    ("username", "role", "password", "therapist", "message"),
    [
        ("", "owner", "long enough", None, "a user name is required"),
        ("bob", "admin", "long enough", None, "role must be one of owner, therapist, front_desk"),
        ("bob", "therapist", "long enough", None, "a therapist user needs --therapist NAME"),
        ("bob", "owner", "long enough", "Jo Park", "only a therapist user is linked"),
        ("bob", "owner", "short", None, "a password needs at least 8 characters"),
    ],
)
def test_bad_user_details_are_refused_with_a_reason(
    conn, username, role, password, therapist, message
) -> None:
    with pytest.raises(auth.UserError, match=message):
        auth.add_user(conn, username, role, password, therapist_name=therapist)
    assert not auth.any_users(conn)


def test_a_duplicate_name_is_refused(conn) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    with pytest.raises(auth.UserError, match="already exists"):
        auth.add_user(conn, "anna", "front_desk", "another one")


def test_wrong_password_and_unknown_user_give_the_same_answer(conn) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    wrong = auth.sign_in(conn, "anna", "battery staple")
    unknown = auth.sign_in(conn, "nobody", "battery staple")
    assert (wrong.status, unknown.status) == ("failed", "failed")
    assert wrong.message == unknown.message == "That name and password do not match."


def test_repeated_failures_lock_the_account_until_a_new_password(conn) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    results = [
        auth.sign_in(conn, "anna", "wrong guess").status for _ in range(config.MAX_FAILED_SIGN_INS)
    ]
    assert results == ["failed"] * (config.MAX_FAILED_SIGN_INS - 1) + ["locked"]
    assert auth.sign_in(conn, "anna", "correct horse").status == "locked"
    until = conn.execute(text("SELECT locked_until FROM users")).scalar_one()
    assert until is not None
    auth.set_password(conn, "anna", "a new password")
    assert auth.sign_in(conn, "anna", "a new password").status == "ok"


def test_a_lock_runs_out(conn) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    past = dt.datetime(2000, 1, 1)
    conn.execute(text("UPDATE users SET locked_until = :t"), {"t": past})
    assert auth.sign_in(conn, "anna", "correct horse").status == "ok"


def test_a_disabled_user_cannot_sign_in_or_stay_signed_in(conn) -> None:
    auth.add_user(conn, "sam", "therapist", "correct horse", therapist_name="Sam Wu")
    assert auth.load_user(conn, "sam") == auth.SignedInUser("sam", "therapist", "Sam Wu")
    auth.disable_user(conn, "sam")
    assert auth.sign_in(conn, "sam", "correct horse").status == "failed"
    assert auth.load_user(conn, "sam") is None


def test_the_audit_log_records_events_but_never_a_password(conn) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    auth.sign_in(conn, "anna", "wrong guess!")
    auth.sign_in(conn, "anna", "correct horse")
    log = auth.fetch_audit_log(conn)
    assert log["event"].tolist() == ["sign_in", "sign_in_failed", "user_added"]
    assert log["username"].tolist()[:2] == ["anna", "anna"]
    text_of_log = log.to_string()
    assert "correct horse" not in text_of_log and "wrong guess" not in text_of_log


def test_list_users_shows_no_password_hash(conn) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    users = auth.list_users(conn)
    assert users.columns.tolist() == [
        "username",
        "role",
        "therapist_name",
        "disabled",
        "locked_until",
        "created_at",
    ]
    assert users["username"].tolist() == ["anna"]

"""Users, passwords, sign-in, lockout and the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
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


def test_wrong_password_and_unknown_user_give_the_same_answer(conn, waits) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    wrong = auth.sign_in(conn, "anna", "battery staple")
    unknown = auth.sign_in(conn, "nobody", "battery staple")
    assert (wrong.status, unknown.status) == ("failed", "failed")
    assert wrong.message == unknown.message == "That name and password do not match."


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every pause sign_in takes (not slept: the test only records them)."""
    taken: list[float] = []
    monkeypatch.setattr(auth.time, "sleep", taken.append)
    return taken


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times argon2 hashed and verified, counted from zero after a warm-up."""
    auth.warm_up()  # the dummy hash is made once per process, before any sign-in
    calls = {"hash": 0, "verify": 0}
    for method in ("hash", "verify"):
        original = getattr(PasswordHasher, method)

        def counted(self, *args, _original=original, _method=method, **kwargs):
            calls[_method] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(PasswordHasher, method, counted)
    return calls


def _sign_in_paths(conn) -> dict[str, tuple[str, str, str | None]]:
    auth.add_user(conn, "anna", "owner", "correct horse")
    auth.add_user(conn, "gone", "front_desk", "correct horse")
    auth.disable_user(conn, "gone")
    for _ in range(config.SIGN_IN_MAX_FAILURES_PER_ADDRESS):
        auth.sign_in(conn, "someone", "guess", address="203.0.113.9")
    return {
        "right password": ("anna", "correct horse", None),
        "wrong password": ("anna", "battery staple", None),
        "unknown user": ("nobody", "battery staple", None),
        "disabled user": ("gone", "correct horse", None),
        "throttled address, right password": ("anna", "correct horse", "203.0.113.9"),
        "throttled address, unknown user": ("nobody", "x", "203.0.113.9"),
    }


def test_every_sign_in_path_does_one_argon2_verify_and_no_hash(conn, waits, argon2_calls) -> None:
    paths = _sign_in_paths(conn)
    for path, (name, password, address) in paths.items():
        before = dict(argon2_calls)
        auth.sign_in(conn, name, password, address=address)
        done = {k: argon2_calls[k] - before[k] for k in before}
        assert done == {"hash": 0, "verify": 1}, path


def test_unknown_and_known_names_get_the_same_answers_and_waits(conn, waits) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    answers = {}
    for name in ("anna", "nobody"):
        waits.clear()
        results = [
            auth.sign_in(conn, name, "wrong guess", address=f"198.51.100.{i % 3}")
            for i in range(3 * config.SIGN_IN_MAX_FAILURES_PER_ADDRESS + 3)
        ]
        answers[name] = ([(r.status, r.message) for r in results], list(waits))
        conn.execute(text("DELETE FROM sign_in_failures"))
    assert answers["anna"] == answers["nobody"]
    statuses = [status for status, _ in answers["anna"][0]]
    assert statuses.count("throttled") == 3 and "locked" not in statuses


def test_failures_slow_the_name_down_but_never_lock_it(conn, waits) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    for _ in range(50):  # far more than the old lockout's 5
        assert auth.sign_in(conn, "anna", "wrong guess", address=None).status == "failed"
    assert waits[:5] == [0.0, 0.5, 1.0, 2.0, 4.0]
    assert max(waits) == config.SIGN_IN_MAX_DELAY_S
    waits.clear()
    assert auth.sign_in(conn, "anna", "correct horse").status == "ok"
    assert waits == [config.SIGN_IN_MAX_DELAY_S]  # slowed, not refused
    assert auth.sign_in(conn, "anna", "correct horse").status == "ok"
    assert waits[-1] == 0.0  # a success forgets the name's failures


def test_nobody_can_lock_the_owner_out_from_another_address(conn, waits) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    attacker = "203.0.113.7"
    results = [
        auth.sign_in(conn, "anna", "guess", address=attacker).status
        for _ in range(config.SIGN_IN_MAX_FAILURES_PER_ADDRESS + 5)
    ]
    assert results[-1] == "throttled"  # the attacker's address is refused ...
    assert auth.sign_in(conn, "anna", "correct horse", address=attacker).status == "throttled"
    # ... the owner, anywhere else, signs in (after at most the longest wait).
    assert auth.sign_in(conn, "anna", "correct horse", address="192.0.2.1").status == "ok"
    assert auth.sign_in(conn, "anna", "correct horse", address=None).status == "ok"


def test_old_failures_age_out(conn, waits) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    for _ in range(config.SIGN_IN_MAX_FAILURES_PER_ADDRESS):
        auth.sign_in(conn, "anna", "guess", address="203.0.113.7")
    long_ago = dt.datetime(2000, 1, 1)
    conn.execute(text("UPDATE sign_in_failures SET at = :t"), {"t": long_ago})
    waits.clear()
    assert auth.sign_in(conn, "anna", "correct horse", address="203.0.113.7").status == "ok"
    assert waits == [0.0]
    assert conn.execute(text("SELECT COUNT(*) FROM sign_in_failures")).scalar_one() == 0


def test_a_new_password_forgets_the_names_failures(conn, waits) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    for _ in range(6):
        auth.sign_in(conn, "anna", "guess")
    auth.set_password(conn, "anna", "a new password", actor="maria (command line)")
    waits.clear()
    assert auth.sign_in(conn, "anna", "a new password").status == "ok"
    assert waits == [0.0]


def test_a_disabled_user_cannot_sign_in_or_stay_signed_in(conn, waits) -> None:
    auth.add_user(conn, "sam", "therapist", "correct horse", therapist_name="Sam Wu")
    assert auth.load_user(conn, "sam") == auth.SignedInUser("sam", "therapist", "Sam Wu")
    auth.disable_user(conn, "sam")
    assert auth.sign_in(conn, "sam", "correct horse").status == "failed"
    assert auth.load_user(conn, "sam") is None


def test_the_audit_log_records_events_but_never_a_password(conn, waits) -> None:
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
        "created_at",
        "locations",  # issue 12: users limited to locations
    ]
    assert users["username"].tolist() == ["anna"]


def test_a_failed_name_is_kept_verbatim_only_when_it_is_a_known_user(conn, waits) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse")
    auth.sign_in(conn, "anna", "wrong guess")
    auth.sign_in(conn, "MySecretPassw0rd", "")  # a password typed into the name field
    log = auth.fetch_audit_log(conn)
    failed = log[log["event"] == "sign_in_failed"]
    assert failed["username"].fillna("").tolist() == ["", "anna"]
    assert "MySecretPassw0rd" not in log.to_string()
    digest = auth.name_key("MySecretPassw0rd")[:12]
    assert failed["detail"].tolist() == [f"unknown user name (sha256 {digest})", "wrong password"]
    stored = conn.execute(text("SELECT name_key FROM sign_in_failures")).scalars().all()
    assert "MySecretPassw0rd" not in stored and "anna" not in stored


def test_user_changes_record_who_made_them(conn) -> None:
    auth.add_user(conn, "anna", "owner", "correct horse", actor="maria (command line)")
    auth.disable_user(conn, "anna", actor="maria (command line)")
    log = auth.fetch_audit_log(conn)
    assert log["username"].tolist() == ["maria (command line)"] * 2


def test_cli_actor_names_the_operating_system_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "maria")
    assert auth.cli_actor() == "maria (command line)"

    def no_user() -> str:
        raise KeyError("no such user")

    monkeypatch.setattr("getpass.getuser", no_user)
    assert auth.cli_actor().endswith("(command line)")


def test_a_user_limited_to_locations_carries_them_from_sign_in_and_in_the_list(conn) -> None:
    auth.add_user(conn, "nora", "owner", "correct horse", locations=["North", " Harbour", "North"])
    auth.add_user(conn, "anna", "owner", "correct horse")
    expected = auth.SignedInUser("nora", "owner", None, ("Harbour", "North"))
    assert auth.sign_in(conn, "nora", "correct horse").user == expected
    assert auth.load_user(conn, "nora") == expected
    assert auth.load_user(conn, "anna") == auth.SignedInUser("anna", "owner")
    assert auth.list_users(conn)["locations"].tolist() == ["", "Harbour; North"]
    assert "limited to Harbour, North" in auth.fetch_audit_log(conn)["detail"].tolist()[-1]


@pytest.mark.parametrize(
    ("role", "locations", "message"),
    [
        ("owner", ["North", " "], "a location name is required"),
        ("front_desk", ["North"], "front desk sees no clinical data"),
    ],
)
def test_bad_locations_are_refused_and_nothing_is_stored(
    conn, role: str, locations: list[str], message: str
) -> None:
    with pytest.raises(auth.UserError, match=message):
        auth.add_user(conn, "nora", role, "correct horse", locations=locations)
    assert not auth.any_users(conn)

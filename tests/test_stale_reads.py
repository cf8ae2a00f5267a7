"""Short read-then-write transactions on SQLite survive another connection's write in between.

In WAL mode SQLite refuses such a transaction's first write at once ("database is locked",
SQLITE_BUSY_SNAPSHOT) when anyone committed after its first read. A browser's cookie exchange
failed that way when the page's own run remembered its filters at the same moment, and the
tab then lost its sign-in on reload. `db.run_transaction` runs the transaction again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from practice import auth, db, web_session
from practice.bootstrap import open_database


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A file SQLite practice (WAL) with one owner."""
    engine = open_database(f"sqlite:///{tmp_path / 'practice.sqlite3'}", seed=False)
    with engine.begin() as conn:
        auth.add_user(conn, "anna", "owner", "owner-password")
    return engine


def write_in_between(engine: Engine) -> None:
    """Another connection commits a write (as a page remembering its filters does)."""
    with engine.connect() as other, other.begin():
        auth.record_event(other, "filters_kept", "anna", "a write in between")


def test_a_write_in_between_makes_a_deferred_transaction_fail_at_once(engine: Engine) -> None:
    # The failure the helper exists for: without it, the read-then-write transaction fails.
    with pytest.raises(OperationalError) as raised, engine.begin() as conn:
        conn.execute(text("SELECT count(*) FROM users")).scalar_one()
        write_in_between(engine)
        conn.execute(text("UPDATE users SET role = 'therapist'"))
    assert raised.value.orig.sqlite_errorcode == db.SQLITE_BUSY_SNAPSHOT  # type: ignore[union-attr]


def read_then_write(engine: Engine, runs: list[int], *, stale_runs: int) -> Callable[..., int]:
    """A transaction that counts the users, then makes anna a therapist; someone else writes
    in between during its first `stale_runs` runs. Each run is appended to `runs`."""

    def work(conn: Connection) -> int:
        runs.append(1)
        count = conn.execute(text("SELECT count(*) FROM users")).scalar_one()
        if len(runs) <= stale_runs:
            write_in_between(engine)
        conn.execute(text("UPDATE users SET role = 'therapist' WHERE username = 'anna'"))
        return int(count)

    return work


def stored_role(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT role FROM users")).scalar_one())


def test_run_transaction_runs_it_again_and_keeps_the_second_run(engine: Engine) -> None:
    runs: list[int] = []
    assert db.run_transaction(engine, read_then_write(engine, runs, stale_runs=1)) == 1
    assert len(runs) == 2
    assert stored_role(engine) == "therapist"


def test_run_transaction_gives_up_after_its_attempts(engine: Engine) -> None:
    runs: list[int] = []
    always_stale = read_then_write(engine, runs, stale_runs=db.STALE_READ_ATTEMPTS)
    with pytest.raises(OperationalError):
        db.run_transaction(engine, always_stale)
    assert len(runs) == db.STALE_READ_ATTEMPTS
    assert stored_role(engine) == "owner"


def test_run_transaction_passes_other_errors_through_at_once(engine: Engine) -> None:
    runs = []

    def broken(conn: Connection) -> None:
        runs.append(1)
        conn.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(OperationalError, match="no_such_table"):
        db.run_transaction(engine, broken)
    assert runs == [1]


def test_the_cookie_exchange_survives_a_write_in_between(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as conn:
        start = auth.start_web_session(conn, "anna")
    monkeypatch.setattr(web_session, "_engine", lambda: engine)
    original = auth.load_user
    calls = []

    def load_user_then_someone_writes(conn: Connection, username: str) -> object:
        calls.append(1)
        user = original(conn, username)
        if len(calls) == 1:  # between redeem_ticket's read and its write
            write_in_between(engine)
        return user

    monkeypatch.setattr(auth, "load_user", load_user_then_someone_writes)
    token = web_session._redeem(start.ticket)
    assert token is not None
    with engine.connect() as conn:
        assert auth.resume_web_session(conn, token) is not None

"""An import killed mid-write leaves the database as it was, and simply runs again.

A database holds a small earlier import; a large import (~150,000 sessions) starts in its own
process and is killed with SIGKILL once it is writing: on SQLite when the write-ahead log has
grown by megabytes (uncommitted pages spilled from the cache), on PostgreSQL when the sessions
table's file has grown (COPY of uncommitted rows) while the import's advisory lock is held.
Every table must then hold exactly its rows from before, and the same import, run again, must
complete. Only bounded waits, no timing assertions.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from practice import db
from practice.importing import import_paths
from practice.sample import generate_practice

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LARGE_CLIENTS = 23_000  # about 150,000 sessions
GROWTH_BYTES = 2 * 1024 * 1024  # written but uncommitted: well inside the write phase
WAIT_S = 300  # bounded waits for the import to reach its write phase and to finish


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table in the database, sorted: equal snapshots, unchanged data."""
    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        return {
            table: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table}"))), key=repr)
            for table in sorted(tables)
        }


def count_rows(engine: Engine, tables: list[str]) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
            for table in tables
        }


@pytest.fixture(scope="module")
def large_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    """A ~150,000-session export, with its numbers of clients and sessions."""
    frame = generate_practice(LARGE_CLIENTS, seed=4242)
    path = tmp_path_factory.mktemp("large") / "large.csv"
    frame.to_csv(path, index=False)
    return path, frame["client_id"].nunique(), len(frame)


def sqlite_write_probe(url: str) -> Callable[[], str | None]:
    """None until the import is writing: its WAL has grown and it holds the write lock."""
    path = url.split("///", 1)[1]
    wal = Path(path + "-wal")
    before = wal.stat().st_size if wal.exists() else 0

    def probe() -> str | None:
        size = wal.stat().st_size if wal.exists() else 0
        if size < before + GROWTH_BYTES:
            return None
        check = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            check.execute("BEGIN IMMEDIATE")  # succeeds only when no writer holds the lock
            check.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return f"WAL grew from {before} to {size} bytes; the import holds the write lock"
        finally:
            check.close()
        pytest.fail("the WAL grew but no transaction is open: the import committed too early")

    return probe


def postgres_write_probe(engine: Engine) -> Callable[[], str | None]:
    """None until the import is writing: sessions' file has grown under the import lock."""
    sql = text(
        "SELECT pg_relation_size('sessions'), a.pid, a.backend_xid IS NOT NULL, a.query "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.objid = :key AND l.granted"
    )
    size_sql = text("SELECT pg_relation_size('sessions')")
    with engine.connect() as conn:
        before = int(conn.execute(size_sql).scalar_one())

    def probe() -> str | None:
        with engine.connect() as conn:
            row = conn.execute(sql, {"key": db.IMPORT_LOCK_KEY}).first()
            size = int(conn.execute(size_sql).scalar_one())
        if size < before + GROWTH_BYTES:
            return None
        if row is None or not row[2]:
            pytest.fail("sessions grew but no import transaction is open: it committed too early")
        return f"sessions grew from {before} to {size} bytes; backend {row[1]} runs {row[3]!r}"

    return probe


def start_import(path: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PRACTICE_DATABASE_URL"}
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "practice", "import", str(path), "--db", url],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def kill_when_writing(
    process: subprocess.Popen[bytes], probe: Callable[[], str | None], log: Path
) -> str:
    """Poll `probe` until the import writes, then SIGKILL it; what the probe saw."""
    deadline = time.monotonic() + WAIT_S
    try:
        while (seen := probe()) is None:
            if process.poll() is not None:
                pytest.fail(
                    f"the import exited ({process.returncode}) before it was seen writing:\n"
                    + log.read_text()
                )
            if time.monotonic() > deadline:
                pytest.fail(f"the import was not seen writing within {WAIT_S} s")
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, log.read_text()
    return seen


def test_killed_import_leaves_the_database_unchanged_and_runs_again(
    database_url: str, large_csv: tuple[Path, int, int], tmp_path: Path
) -> None:
    large, large_clients, large_sessions = large_csv
    earlier = tmp_path / "earlier.csv"
    earlier_frame = generate_practice(40, seed=11)
    earlier_frame.assign(client_id="E" + earlier_frame["client_id"]).to_csv(earlier, index=False)
    engine = db.create_engine_for(database_url)
    try:
        import_paths(engine, [earlier])
        before = snapshot(engine)
        probe = (
            sqlite_write_probe(database_url)
            if database_url.startswith("sqlite")
            else postgres_write_probe(engine)
        )
        log = tmp_path / "killed.log"

        seen = kill_when_writing(start_import(large, database_url, log), probe, log)

        assert snapshot(engine) == before, f"changed after the kill ({seen})"
        if database_url.startswith("sqlite"):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"

        rerun_log = tmp_path / "rerun.log"
        rerun = start_import(large, database_url, rerun_log)
        try:
            rerun.wait(timeout=WAIT_S)
        finally:
            if rerun.poll() is None:
                rerun.kill()
                rerun.wait()
        output = rerun_log.read_text()
        assert rerun.returncode == 0, output
        assert "(import #2)" in output, output  # the killed import left no trace, not even an id
        assert count_rows(engine, ["imports", "clients", "sessions"]) == {
            "imports": 2,
            "clients": earlier_frame["client_id"].nunique() + large_clients,
            "sessions": len(earlier_frame) + large_sessions,
        }
        with engine.connect() as conn:
            first_sessions = sorted(
                map(tuple, conn.execute(text("SELECT * FROM sessions WHERE import_id = 1"))),
                key=repr,
            )
        assert first_sessions == before["sessions"]
    finally:
        engine.dispose()


def test_snapshot_sees_a_changed_row(sqlite_engine: Engine, tmp_path: Path) -> None:
    """The snapshot the crash test relies on notices a single changed value."""
    path = tmp_path / "few.csv"
    generate_practice(3, seed=1).to_csv(path, index=False)
    import_paths(sqlite_engine, [path])
    before = snapshot(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET notes = 'x' WHERE id = 1"))
    assert snapshot(sqlite_engine) != before

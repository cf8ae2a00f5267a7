"""Backups: a consistent SQLite copy while others read and write, pg_dump and pg_restore."""

from __future__ import annotations

import argparse
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from practice import backup, db
from practice.backup import BackupError, backup_database, find_pg_tool
from practice.importing import import_paths
from practice.sample import generate_practice

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESTORE_DB = "headway_restore_test"


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted: equal snapshots, equal databases."""
    with engine.connect() as conn:
        return {
            table: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table}"))), key=repr)
            for table in sorted(inspect(conn).get_table_names())
        }


def import_sample(engine: Engine, folder: Path, n_clients: int = 25) -> None:
    path = folder / "sample.csv"
    generate_practice(n_clients, seed=3).to_csv(path, index=False)
    import_paths(engine, [path])


def sqlite_path(engine: Engine) -> str:
    database = engine.url.database
    assert database is not None
    return database


def backup_parser() -> argparse.ArgumentParser:
    from practice.cli import build_parser

    return build_parser()


# --- SQLite -----------------------------------------------------------------------------------
def test_sqlite_backup_is_the_committed_state_while_others_read_and_write(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    import_sample(sqlite_engine, tmp_path)
    before = snapshot(sqlite_engine)
    reader = sqlite3.connect(sqlite_path(sqlite_engine), isolation_level=None)
    writer = sqlite3.connect(sqlite_path(sqlite_engine), isolation_level=None, timeout=0)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] > 0  # holds a read
        writer.execute("BEGIN IMMEDIATE")  # holds the write lock, as an import does
        writer.execute("UPDATE sessions SET notes = 'not committed'")
        writer.execute("DELETE FROM session_techniques")

        made = backup_database(sqlite_engine.url.render_as_string(), tmp_path / "copy.sqlite3")
    finally:
        writer.execute("ROLLBACK")
        reader.execute("ROLLBACK")
        writer.close()
        reader.close()

    assert made == tmp_path / "copy.sqlite3"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*partial"))
    copy = create_engine(f"sqlite:///{made}")
    try:
        assert snapshot(copy) == before
        with copy.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "delete"
    finally:
        copy.dispose()


def test_backup_into_a_folder_gets_a_time_stamped_name(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    made = backup_database(sqlite_engine.url.render_as_string(), folder)
    assert made.parent == folder
    assert made.name.startswith("headway-")
    assert made.suffix == ".sqlite3"


@pytest.mark.parametrize(
    ("url", "out", "message"),
    [
        ("sqlite:///{tmp}/missing.sqlite3", "{tmp}/b.sqlite3", "no SQLite database at"),
        ("sqlite:///{tmp}/practice.sqlite3", "{tmp}/practice.sqlite3", "already exists"),
        ("sqlite:///{tmp}/practice.sqlite3", "{tmp}/no/such/b.sqlite3", "does not exist"),
        ("sqlite://", "{tmp}/b.sqlite3", "in-memory"),
        ("mysql://u@h/d", "{tmp}/b.sql", "SQLite or PostgreSQL only"),
    ],
)
def test_backup_refuses_with_a_clear_message(
    sqlite_engine: Engine, tmp_path: Path, url: str, out: str, message: str
) -> None:
    with pytest.raises(BackupError, match=message):
        backup_database(url.format(tmp=tmp_path), Path(out.format(tmp=tmp_path)))
    assert not list(tmp_path.glob(".*partial"))


def test_backup_command_prints_where_the_backup_went_and_its_size(
    sqlite_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_sample(sqlite_engine, tmp_path, n_clients=5)
    url = sqlite_engine.url.render_as_string()
    out = tmp_path / "b.sqlite3"
    args = backup_parser().parse_args(["backup", "--out", str(out), "--db", url])

    assert args.handler(args) == 0

    size = out.stat().st_size
    shown = f"{size / 1024:.0f} KB ({size:,} bytes)"
    assert capsys.readouterr().out == f"backed up {url} to {out} ({shown})\n"
    args = backup_parser().parse_args(["backup", "--out", str(out), "--db", url])
    assert args.handler(args) == 1
    refused = f"{out} already exists; choose a new file name"
    assert capsys.readouterr().err == f"error: backup failed: {refused}\n"


def test_python_m_practice_backup_writes_a_backup(sqlite_engine: Engine, tmp_path: Path) -> None:
    from practice.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert "backup" in commands.choices
    url = sqlite_engine.url.render_as_string()
    out = tmp_path / "b.sqlite3"
    done = subprocess.run(
        [sys.executable, "-m", "practice", "backup", "--out", str(out), "--db", url],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"backed up {url} to {out} (")


def test_missing_pg_dump_is_named_with_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(backup, "PG_VERSIONS_ROOT", tmp_path)
    with pytest.raises(
        BackupError, match=r"pg_dump not found .* apt-get install postgresql-client"
    ):
        find_pg_tool("pg_dump")


def test_pg_tools_prefer_path_then_the_newest_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for version in ("9.6", "15", "13"):
        tool = tmp_path / version / "bin" / "pg_dump"
        tool.parent.mkdir(parents=True)
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(backup, "PG_VERSIONS_ROOT", tmp_path)
    assert find_pg_tool("pg_dump") == str(tmp_path / "15" / "bin" / "pg_dump")
    monkeypatch.setenv("PATH", str(tmp_path / "13" / "bin"))
    assert find_pg_tool("pg_dump") == str(tmp_path / "13" / "bin" / "pg_dump")


# --- PostgreSQL -------------------------------------------------------------------------------
@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """A PostgreSQL practice database reset to an empty, migrated schema."""
    engine = db.create_engine_for(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.upgrade_schema(engine)
    yield engine
    engine.dispose()


def recreate_database(engine: Engine, name: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))


@pytest.mark.postgres
def test_pg_dump_backup_restores_into_a_second_database(
    postgres_engine: Engine, postgres_url: str, tmp_path: Path
) -> None:
    import_sample(postgres_engine, tmp_path)
    made = backup_database(postgres_url, tmp_path / "practice.dump")
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert made.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    recreate_database(postgres_engine, RESTORE_DB)
    restored_url = make_url(postgres_url).set(database=RESTORE_DB)
    conninfo = restored_url.set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run(
        [find_pg_tool("pg_restore"), "--no-owner", f"--dbname={conninfo}", str(made)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    restored = db.create_engine_for(restored_url.render_as_string(hide_password=False))
    try:
        assert snapshot(restored) == snapshot(postgres_engine)
        with restored.connect() as conn:
            assert db.current_revision(conn) == db.head_revision()
    finally:
        restored.dispose()
        with postgres_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{RESTORE_DB}"'))


@pytest.mark.postgres
def test_pg_dump_failure_is_reported_and_leaves_no_file(
    postgres_engine: Engine, postgres_url: str, tmp_path: Path
) -> None:
    missing = make_url(postgres_url).set(database="no_such_database")
    with pytest.raises(BackupError, match=r'pg_dump failed .*"no_such_database" does not exist'):
        backup_database(missing.render_as_string(hide_password=False), tmp_path / "x.dump")
    assert list(tmp_path.iterdir()) == []

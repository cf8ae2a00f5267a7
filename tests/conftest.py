"""Shared fixtures: databases on SQLite and a throwaway PostgreSQL, CSV builders.

PostgreSQL: `PRACTICE_TEST_POSTGRES_URL` names an existing server; otherwise a throwaway
cluster is started from the installed server binaries. Without either the tests skip, unless
`HEADWAY_REQUIRE_POSTGRES=1` (set by .ci/run) turns the skip into a failure.
"""

from __future__ import annotations

import os

# Cheap password hashing for tests only (read by practice.config at import, so set it first).
os.environ.setdefault("PRACTICE_ARGON2_TIME_COST", "1")
os.environ.setdefault("PRACTICE_ARGON2_MEMORY_KIB", "8")

import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from practice import db

REQUIRE_POSTGRES = os.environ.get("HEADWAY_REQUIRE_POSTGRES") == "1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _missing_postgres(reason: str) -> None:
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required (HEADWAY_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"no PostgreSQL: {reason}")


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a private PostgreSQL cluster on a free port; yield its URL; remove it after."""
    bindirs = sorted(str(p) for p in Path("/usr/lib/postgresql").glob("*/bin"))
    if not bindirs:
        _missing_postgres("no server binaries under /usr/lib/postgresql")
    bindir = bindirs[-1]
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = tempfile.mkdtemp(prefix="headway-pg-")
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data, log, port = f"{base}/data", f"{base}/log", free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_pg, *args], check=True, capture_output=True, timeout=120)

    try:
        run(
            f"{bindir}/initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        run(
            f"{bindir}/pg_ctl",
            "-D",
            data,
            "-l",
            log,
            "-w",
            "-t",
            "60",
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off",
            "start",
        )
        run(
            f"{bindir}/createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "headway_test",
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/headway_test"
    finally:
        with contextlib.suppress(Exception):
            run(f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a PostgreSQL database for the whole test session."""
    given = os.environ.get("PRACTICE_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        with throwaway_postgres() as url:
            yield url
    except subprocess.CalledProcessError as exc:
        _missing_postgres(f"the throwaway cluster did not start: {exc.stderr!r}")


def reset_postgres(url: str) -> Engine:
    """An engine on `url` whose public schema was dropped and created empty."""
    engine = db.create_engine_for(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database without Headway's schema: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        created = db.create_engine_for(f"sqlite:///{tmp_path / 'practice.sqlite3'}")
    else:
        created = reset_postgres(request.getfixturevalue("postgres_url"))
    yield created
    created.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An empty, migrated practice database: once on SQLite, once on PostgreSQL."""
    db.upgrade_schema(empty_engine)
    return empty_engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty, migrated database (for other processes): SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'practice.sqlite3'}"
        created = db.create_engine_for(url)
    else:
        url = request.getfixturevalue("postgres_url")
        created = reset_postgres(url)
    db.upgrade_schema(created)
    created.dispose()
    yield url


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated SQLite practice database."""
    created = db.create_engine_for(f"sqlite:///{tmp_path / 'practice.sqlite3'}")
    db.upgrade_schema(created)
    yield created
    created.dispose()


def csv_bytes(*lines: str, newline: str = "\n", encoding: str = "utf-8") -> bytes:
    """A CSV file's bytes from its lines."""
    return (newline.join(lines) + newline).encode(encoding)


@pytest.fixture
def seeded_db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the app at a fresh SQLite file that is seeded with the sample on first open."""
    import streamlit as st

    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    monkeypatch.setenv("PRACTICE_DATABASE_URL", url)
    monkeypatch.setenv("PRACTICE_SEED_SAMPLE", "1")
    st.cache_data.clear()
    st.cache_resource.clear()  # caches outlive an AppTest run
    yield url
    st.cache_data.clear()
    st.cache_resource.clear()


# The signed-in practice's users (name, role, password, therapist in the exports).
PRACTICE_USERS = (
    ("anna", "owner", "owner-password", None),
    ("sarah", "therapist", "therapist-password", "Sarah Okafor"),
    ("fred", "front_desk", "front-desk-password", None),
)


@pytest.fixture
def practice_with_users(seeded_db_env: str) -> str:
    """The seeded sample practice with an owner, a therapist and a front-desk user."""
    from practice import auth
    from practice.bootstrap import open_database

    with open_database(seeded_db_env).begin() as conn:
        for name, role, password, therapist in PRACTICE_USERS:
            auth.add_user(conn, name, role, password, therapist_name=therapist)
    return seeded_db_env

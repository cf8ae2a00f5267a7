"""Backing up the practice database: one consistent file, taken while the app keeps running.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies every page in one step
under a read transaction, so the copy is one committed state even while imports run (WAL lets
them carry on). PostgreSQL: `pg_dump --format=custom`, restored with `pg_restore`.
docs/security.md ("Backups") gives the restore steps.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

# Where Debian/Ubuntu install the PostgreSQL client tools (<root>/<version>/bin) when they are
# not on PATH.
PG_VERSIONS_ROOT = Path("/usr/lib/postgresql")


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do."""


def backup_database(url: str, destination: Path | str) -> Path:
    """Back up the database at `url` to a new file `destination` (or into that directory).

    The copy is written beside its final name and renamed into place only when complete, so
    a failed backup never leaves a partial file that looks like a backup.
    """
    dialect = make_url(url).get_backend_name()
    if dialect not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {dialect} database (SQLite or PostgreSQL only)")
    target = _target_path(Path(destination), ".sqlite3" if dialect == "sqlite" else ".dump")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    # Client health data: the backup is readable by its owner only (pg_dump keeps the mode).
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if dialect == "sqlite":
            _backup_sqlite(url, partial)
        else:
            _backup_postgres(url, partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _target_path(destination: Path, suffix: str) -> Path:
    if destination.is_dir():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        destination = destination / f"headway-{stamp}{suffix}"
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new file name")
    if not destination.parent.is_dir():
        raise BackupError(f"folder {destination.parent} does not exist")
    return destination


def _backup_sqlite(url: str, partial: Path) -> None:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    if not Path(database).is_file():
        raise BackupError(f"no SQLite database at {database}")
    source = sqlite3.connect(database, timeout=60)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)  # all pages in one step: one committed state of the source
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = copy.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the backup failed its integrity check: {check}")
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup failed: {exc}") from exc
    finally:
        copy.close()
        source.close()


def _backup_postgres(url: str, partial: Path) -> None:
    parsed = make_url(url)
    # The password goes to pg_dump through its environment, never on its command line.
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    conninfo = parsed.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False
    )
    command = [
        find_pg_tool("pg_dump"),
        "--format=custom",
        "--no-password",  # fail, rather than wait for a password prompt nobody sees
        f"--file={partial}",
        f"--dbname={conninfo}",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (no shell; our own argument list)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed ({done.returncode}): {done.stderr.strip()}")


def find_pg_tool(name: str) -> str:
    """Absolute path of a PostgreSQL client tool (`pg_dump`, `pg_restore`): PATH, else the
    newest in PG_VERSIONS_ROOT/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(PG_VERSIONS_ROOT.glob(f"*/bin/{name}"), key=_version)
    if candidates:
        return str(candidates[-1])
    raise BackupError(
        f"{name} not found on PATH or in {PG_VERSIONS_ROOT}/*/bin; install the PostgreSQL client "
        f"tools (Debian/Ubuntu: apt-get install postgresql-client), the same major version "
        f"as the server or newer"
    )


def _version(path: Path) -> tuple[int, ...]:
    """(15,) for /usr/lib/postgresql/15/bin/pg_dump, so that 15 sorts after 9.6."""
    return tuple(int(p) for p in path.parent.parent.name.split(".") if p.isdigit())


__all__ = ["BackupError", "backup_database", "find_pg_tool"]

"""Users, passwords, sign-in and the audit log (no streamlit: the pages and the CLI share it).

Passwords are hashed with argon2id (argon2-cffi); only the hash is stored. Failed sign-ins are
counted per user and lock the account for a while after too many in a row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Row, func, insert, select, update

from practice import config
from practice.models import AuditEvent, User

# A password shorter than this is refused (NIST SP 800-63B, 5.1.1.2: at least 8 characters).
MIN_PASSWORD_LENGTH = 8
# Verified against when the user does not exist, so that a wrong name takes as long as a
# wrong password and does not reveal which names exist.
_DUMMY_PASSWORD = "not-a-real-password"  # noqa: S105


@dataclass(frozen=True)
class SignedInUser:
    """Who is signed in, and what their role lets them see."""

    username: str
    role: str
    therapist_name: str | None = None


@dataclass(frozen=True)
class SignInResult:
    """The outcome of a sign-in attempt; `message` is safe to show (never says which part)."""

    status: Literal["ok", "failed", "locked"]
    user: SignedInUser | None = None
    message: str = ""


class UserError(ValueError):
    """A user command cannot be carried out; the message says why."""


def password_hasher() -> PasswordHasher:
    """argon2id with the configured cost."""
    return PasswordHasher(
        time_cost=config.ARGON2_TIME_COST, memory_cost=config.ARGON2_MEMORY_KIB, parallelism=1
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def any_users(conn: Connection) -> bool:
    """True once at least one user exists (from then on, sign-in is required)."""
    return bool(conn.execute(select(func.count()).select_from(User)).scalar_one())


def add_user(
    conn: Connection, username: str, role: str, password: str, *, therapist_name: str | None = None
) -> None:
    """Create a user; a therapist must be linked to the therapist name used in the exports."""
    username = username.strip()
    if not username:
        raise UserError("a user name is required")
    if role not in config.ROLES:
        raise UserError(f"role must be one of {', '.join(config.ROLES)}, got {role!r}")
    if role == "therapist" and not therapist_name:
        raise UserError("a therapist user needs --therapist NAME (as in the exports)")
    if role != "therapist" and therapist_name:
        raise UserError("only a therapist user is linked to a therapist name")
    if _find(conn, username) is not None:
        raise UserError(f"a user named {username!r} already exists")
    conn.execute(
        insert(User).values(
            username=username,
            role=role,
            therapist_name=therapist_name,
            password_hash=_hash(password),
            disabled=False,
            failed_attempts=0,
            created_at=_now(),
        )
    )
    record_event(conn, "user_added", None, f"{username} ({role})")


def set_password(conn: Connection, username: str, password: str) -> None:
    """Give a user a new password (and unlock them)."""
    _require(conn, username)
    conn.execute(
        update(User)
        .where(User.username == username)
        .values(password_hash=_hash(password), failed_attempts=0, locked_until=None)
    )
    record_event(conn, "password_changed", None, username)


def disable_user(conn: Connection, username: str) -> None:
    """Stop a user from signing in (their history stays in the audit log)."""
    _require(conn, username)
    conn.execute(update(User).where(User.username == username).values(disabled=True))
    record_event(conn, "user_disabled", None, username)


def list_users(conn: Connection) -> pd.DataFrame:
    """Every user without their password hash."""
    rows = conn.execute(
        select(
            User.username,
            User.role,
            User.therapist_name,
            User.disabled,
            User.locked_until,
            User.created_at,
        ).order_by(User.username)
    )
    return pd.DataFrame(
        rows.all(),
        columns=["username", "role", "therapist_name", "disabled", "locked_until", "created_at"],
    )


def sign_in(conn: Connection, username: str, password: str) -> SignInResult:
    """Check a user name and password, counting failures and locking after too many."""
    user = _find(conn, username.strip())
    now = _now()
    if user is None or user.disabled:
        _verify(password_hasher().hash(_DUMMY_PASSWORD), password)  # same cost either way
        record_event(conn, "sign_in_failed", username.strip()[:100], "unknown or disabled user")
        return SignInResult("failed", message="That name and password do not match.")
    if user.locked_until is not None and user.locked_until > now:
        record_event(conn, "sign_in_failed", user.username, "account locked")
        return SignInResult("locked", message=_locked_message(user.locked_until))
    if not _verify(user.password_hash, password):
        return _count_failure(conn, user, now)
    conn.execute(
        update(User).where(User.id == user.id).values(failed_attempts=0, locked_until=None)
    )
    record_event(conn, "sign_in", user.username, user.role)
    return SignInResult("ok", SignedInUser(user.username, user.role, user.therapist_name))


def load_user(conn: Connection, username: str) -> SignedInUser | None:
    """The user as stored now (None when removed or disabled since they signed in)."""
    user = _find(conn, username)
    if user is None or user.disabled:
        return None
    return SignedInUser(user.username, user.role, user.therapist_name)


def record_event(conn: Connection, event: str, username: str | None, detail: str | None) -> None:
    """Add one line to the audit log (never a password, never exported data)."""
    conn.execute(
        insert(AuditEvent).values(
            at=_now(), username=username, event=event, detail=(detail or None) and detail[:500]
        )
    )


def fetch_audit_log(conn: Connection, *, limit: int = 1000) -> pd.DataFrame:
    """The newest audit events first."""
    rows = conn.execute(
        select(AuditEvent.at, AuditEvent.username, AuditEvent.event, AuditEvent.detail)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return pd.DataFrame(rows.all(), columns=["at", "username", "event", "detail"])


def _count_failure(conn: Connection, user: Row[Any], now: dt.datetime) -> SignInResult:
    failures = user.failed_attempts + 1
    locked = failures >= config.MAX_FAILED_SIGN_INS
    until = now + dt.timedelta(minutes=config.LOCKOUT_MINUTES) if locked else None
    conn.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_attempts=0 if locked else failures, locked_until=until)
    )
    record_event(
        conn,
        "sign_in_failed",
        user.username,
        "wrong password; account locked" if locked else "wrong password",
    )
    if until is not None:
        return SignInResult("locked", message=_locked_message(until))
    return SignInResult("failed", message="That name and password do not match.")


def _locked_message(until: dt.datetime) -> str:
    return (
        f"Too many failed sign-ins: this account is locked until {until:%H:%M} UTC. "
        "Ask the practice owner to reset the password if you have forgotten it."
    )


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password_hasher().hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return password_hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _find(conn: Connection, username: str) -> Row[Any] | None:
    """The user's row (columns as attributes), or None."""
    return conn.execute(select(*User.__table__.columns).where(User.username == username)).first()


def _require(conn: Connection, username: str) -> None:
    if _find(conn, username) is None:
        raise UserError(f"there is no user named {username!r}")

"""Users, passwords, sign-in and the audit log (no streamlit: the pages and the CLI share it).

Passwords are hashed with argon2id (argon2-cffi); only the hash is stored. Failed sign-ins
slow down further attempts for the same name and from the same client address (never a lock
on a name); an address with too many recent failures is refused for a while.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, Connection, Row, delete, func, insert, select, update

from practice import config
from practice.models import AuditEvent, SignInFailure, User

# A password shorter than this is refused (NIST SP 800-63B, 5.1.1.2: at least 8 characters).
MIN_PASSWORD_LENGTH = 8
# Its hash is verified against when the user does not exist, so that a wrong name costs one
# verify like a wrong password and does not reveal which names exist.
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

    status: Literal["ok", "failed", "throttled"]
    user: SignedInUser | None = None
    message: str = ""


FAILED_MESSAGE = "That name and password do not match."
THROTTLED_MESSAGE = (
    "Too many failed sign-ins from this address: try again later, or ask the practice owner "
    "to reset your password if you have forgotten it."
)


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
    conn: Connection,
    username: str,
    role: str,
    password: str,
    *,
    therapist_name: str | None = None,
    actor: str | None = None,
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
            created_at=_now(),
        )
    )
    record_event(conn, "user_added", actor, f"{username} ({role})")


def set_password(
    conn: Connection, username: str, password: str, *, actor: str | None = None
) -> None:
    """Give a user a new password (and forget the name's recent failed sign-ins)."""
    _require(conn, username)
    conn.execute(
        update(User).where(User.username == username).values(password_hash=_hash(password))
    )
    conn.execute(delete(SignInFailure).where(SignInFailure.name_key == name_key(username)))
    record_event(conn, "password_changed", actor, username)


def disable_user(conn: Connection, username: str, *, actor: str | None = None) -> None:
    """Stop a user from signing in (their history stays in the audit log)."""
    _require(conn, username)
    conn.execute(update(User).where(User.username == username).values(disabled=True))
    record_event(conn, "user_disabled", actor, username)


def list_users(conn: Connection) -> pd.DataFrame:
    """Every user without their password hash."""
    rows = conn.execute(
        select(
            User.username,
            User.role,
            User.therapist_name,
            User.disabled,
            User.created_at,
        ).order_by(User.username)
    )
    return pd.DataFrame(
        rows.all(),
        columns=["username", "role", "therapist_name", "disabled", "created_at"],
    )


def sign_in(
    conn: Connection,
    username: str,
    password: str,
    *,
    address: str | None = None,
    sleep: Callable[[float], None] | None = None,
) -> SignInResult:
    """Check a user name and password: one argon2 verify whatever the outcome.

    Unknown, disabled and known names take the same path and get the same answers, so that
    neither the answer nor the time tells which names exist. Recent failures for the name or
    from the client `address` make the attempt wait first (never a lock on the name); an
    address with too many recent failures is refused.
    """
    name = username.strip()
    key = name_key(name)
    now = _now()
    since = now - dt.timedelta(minutes=config.SIGN_IN_WINDOW_MINUTES)
    conn.execute(delete(SignInFailure).where(SignInFailure.at < since))
    by_name, by_address = _recent_failures(conn, key, address, since)
    (sleep or time.sleep)(throttle_delay(max(by_name, by_address)))
    user = _find(conn, name)
    # The user's own hash, or a dummy one of the same cost: the work is the same either way.
    matches = _verify(user.password_hash if user is not None else _dummy_hash(), password)
    refused = address is not None and by_address >= config.SIGN_IN_MAX_FAILURES_PER_ADDRESS
    if user is None or user.disabled or not matches or refused:
        conn.execute(insert(SignInFailure).values(at=now, name_key=key, address=address))
        known = user.username if user is not None else None
        reason = _failure_reason(user, matches, refused, key)
        record_event(conn, "sign_in_failed", known, reason)
        if refused:
            return SignInResult("throttled", message=THROTTLED_MESSAGE)
        return SignInResult("failed", message=FAILED_MESSAGE)
    conn.execute(delete(SignInFailure).where(SignInFailure.name_key == key))
    record_event(conn, "sign_in", user.username, user.role)
    return SignInResult("ok", SignedInUser(user.username, user.role, user.therapist_name))


def throttle_delay(failures: int) -> float:
    """Seconds an attempt waits after `failures` recent failures: 0, 0.5, 1, 2, ... capped."""
    if failures <= 0:
        return 0.0
    return float(min(0.5 * 2 ** min(failures - 1, 30), config.SIGN_IN_MAX_DELAY_S))


def name_key(name: str) -> str:
    """How a typed user name is kept for throttling and, when unknown, in the audit log.

    A SHA-256 digest: a password typed into the name field is never stored as typed.
    """
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def warm_up() -> None:
    """Make the dummy hash now (once per process), so no sign-in ever pays for it."""
    _dummy_hash()


def _recent_failures(
    conn: Connection, key: str, address: str | None, since: dt.datetime
) -> tuple[int, int]:
    """Failures since `since` for the name, and from the address (0 when it is unknown)."""

    def count(condition: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(SignInFailure).where(condition)
        return int(conn.execute(query.where(SignInFailure.at >= since)).scalar_one())

    by_name = count(SignInFailure.name_key == key)
    by_address = count(SignInFailure.address == address) if address is not None else 0
    return by_name, by_address


def _failure_reason(user: Row[Any] | None, matches: bool, refused: bool, key: str) -> str:
    if user is None:
        reason = f"unknown user name (sha256 {key[:12]})"
    elif user.disabled:
        reason = "disabled user"
    else:
        reason = "wrong password" if not matches else "right password"
    if refused:
        return f"{reason}; refused: too many failures from this address"
    return reason


def load_user(conn: Connection, username: str) -> SignedInUser | None:
    """The user as stored now (None when removed or disabled since they signed in)."""
    user = _find(conn, username)
    if user is None or user.disabled:
        return None
    return SignedInUser(user.username, user.role, user.therapist_name)


def cli_actor() -> str:
    """How the audit log names whoever runs the command line: their operating-system user."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        who = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown user"
    return f"{who} (command line)"[:100]


def record_event(
    conn: Connection,
    event: str,
    username: str | None,
    detail: str | None,
    *,
    max_chars: int | None = 500,
) -> None:
    """Add one line to the audit log (never a password, never exported data).

    `detail` is cut to `max_chars`; None keeps it whole (a recorded session's before and
    after values, notes included, must survive in full).
    """
    kept = detail[:max_chars] if detail and max_chars is not None else detail
    conn.execute(
        insert(AuditEvent).values(at=_now(), username=username, event=event, detail=kept or None)
    )


def fetch_audit_log(conn: Connection, *, limit: int = 1000) -> pd.DataFrame:
    """The newest audit events first."""
    rows = conn.execute(
        select(AuditEvent.at, AuditEvent.username, AuditEvent.event, AuditEvent.detail)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return pd.DataFrame(rows.all(), columns=["at", "username", "event", "detail"])


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password_hasher().hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A hash of a password nobody has, with the configured cost (made once per process)."""
    return password_hasher().hash(_DUMMY_PASSWORD)


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

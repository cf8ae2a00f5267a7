"""Users, passwords, sign-in and the audit log (no streamlit: the pages and the CLI share it).

Passwords are hashed with argon2id (argon2-cffi); only the hash is stored. Failed sign-ins
slow down further attempts for the same name and from the same client address (never a lock
on a name); an address with too many recent failures is refused for a while.

A signed-in browser is a web session: a one-time ticket made at sign-in is exchanged (by
`practice.web_session`) for a random token kept in an HttpOnly cookie, so that a reload or a
new tab resumes the session. Only SHA-256 digests of tickets and tokens are stored; a session
ends at sign-out, after IDLE_MINUTES without activity, SESSION_MAX_HOURS after sign-in, and
when its user is disabled or given a new password.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, Connection, Row, delete, func, insert, select, update

from practice import config
from practice.models import AuditEvent, SignInFailure, User, UserLocation, WebSession

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
    # The locations the user is limited to (practice.access); empty: every location.
    locations: tuple[str, ...] = ()


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
    locations: Sequence[str] = (),
    actor: str | None = None,
) -> None:
    """Create a user; a therapist must be linked to the therapist name used in the exports.

    `locations`: limit the user to the clients seen at these locations (practice.access).
    """
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
    places = sorted({name.strip() for name in locations})
    if "" in places:
        raise UserError("a location name is required after --location")
    if role == "front_desk" and places:
        raise UserError("front desk sees no clinical data: it is not limited to locations")
    inserted = conn.execute(
        insert(User).values(
            username=username,
            role=role,
            therapist_name=therapist_name,
            password_hash=_hash(password),
            disabled=False,
            created_at=_now(),
        )
    )
    if places:
        user_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]  # one row added
        conn.execute(insert(UserLocation), [{"user_id": user_id, "location": p} for p in places])
    limited = f", limited to {', '.join(places)}" if places else ""
    record_event(conn, "user_added", actor, f"{username} ({role}{limited})")


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
    end_web_sessions(conn, username, reason="password changed")


def disable_user(conn: Connection, username: str, *, actor: str | None = None) -> None:
    """Stop a user from signing in (their history stays in the audit log)."""
    _require(conn, username)
    conn.execute(update(User).where(User.username == username).values(disabled=True))
    record_event(conn, "user_disabled", actor, username)
    end_web_sessions(conn, username, reason="user disabled")


def list_users(conn: Connection) -> pd.DataFrame:
    """Every user without their password hash; `locations` "; "-joined ("" = every location)."""
    rows = conn.execute(
        select(
            User.id,
            User.username,
            User.role,
            User.therapist_name,
            User.disabled,
            User.created_at,
        ).order_by(User.username)
    )
    users = pd.DataFrame(
        rows.all(),
        columns=["id", "username", "role", "therapist_name", "disabled", "created_at"],
    )
    places = _locations_of(conn, None)
    joined = users["id"].map(lambda i: "; ".join(places.get(int(i), ())))
    return users.assign(locations=joined.astype(object)).drop(columns="id")


def _locations_of(conn: Connection, user_id: int | None) -> dict[int, tuple[str, ...]]:
    """The locations each user (or only `user_id`) is limited to, sorted."""
    statement = select(UserLocation.user_id, UserLocation.location).order_by(
        UserLocation.user_id, UserLocation.location
    )
    if user_id is not None:
        statement = statement.where(UserLocation.user_id == user_id)
    places: dict[int, list[str]] = {}
    for owner, place in conn.execute(statement):
        places.setdefault(int(owner), []).append(str(place))
    return {owner: tuple(names) for owner, names in places.items()}


def _signed_in(conn: Connection, user: Row[Any]) -> SignedInUser:
    """The SignedInUser of a stored users row, with the locations it is limited to."""
    places = _locations_of(conn, int(user.id)).get(int(user.id), ())
    return SignedInUser(user.username, user.role, user.therapist_name, places)


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
    return SignInResult("ok", _signed_in(conn, user))


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
    return _signed_in(conn, user)


# --- web sessions (the signed-in browser's cookie) ------------------------------------------
# A ticket is exchanged for the cookie by the browser right after sign-in: seconds suffice.
TICKET_SECONDS = 30
# 32 random bytes (256 bits), URL-safe base64 (secrets.token_urlsafe).
_SECRET_BYTES = 32
# A session's activity is written at most this often (seconds), so that a page's reruns do not
# each wait for the database's write lock (on SQLite an import holds it until it commits). The
# idle limit is then kept to within this much.
TOUCH_SECONDS = 60


@dataclass(frozen=True)
class WebSessionStart:
    """A new web session's id and its one-time ticket (the ticket is never stored as is)."""

    session_id: int
    ticket: str


@dataclass(frozen=True)
class ResumedSession:
    """A web session resumed from its cookie: who, and the filters the browser had chosen."""

    session_id: int
    user: SignedInUser
    filters: str | None


def secret_digest(secret: str) -> str:
    """How a ticket or token is stored and looked up: its SHA-256 hex digest."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def start_web_session(
    conn: Connection, username: str, *, now: dt.datetime | None = None
) -> WebSessionStart:
    """Open a web session for a user who just signed in; its ticket lives TICKET_SECONDS."""
    now = now or _now()
    _forget_dead_sessions(conn, now)
    ticket = secrets.token_urlsafe(_SECRET_BYTES)
    session_id = conn.execute(
        insert(WebSession)
        .values(
            username=username,
            ticket_hash=secret_digest(ticket),
            ticket_expires_at=now + dt.timedelta(seconds=TICKET_SECONDS),
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=config.SESSION_MAX_HOURS),
        )
        .returning(WebSession.id)
    ).scalar_one()
    return WebSessionStart(session_id, ticket)


def redeem_ticket(conn: Connection, ticket: str, *, now: dt.datetime | None = None) -> str | None:
    """The session cookie's new token for a valid ticket (once only), else None."""
    now = now or _now()
    digest = secret_digest(ticket)
    row = conn.execute(
        select(WebSession.id, WebSession.username, WebSession.ticket_expires_at).where(
            WebSession.ticket_hash == digest
        )
    ).first()
    if row is None:
        return None
    live = row.ticket_expires_at is not None and now <= row.ticket_expires_at
    token = secrets.token_urlsafe(_SECRET_BYTES) if live and load_user(conn, row.username) else None
    # The ticket goes whatever the outcome; of two redemptions at once only one updates it.
    taken = conn.execute(
        update(WebSession)
        .where(WebSession.id == row.id, WebSession.ticket_hash == digest)
        .values(
            ticket_hash=None,
            ticket_expires_at=None,
            token_hash=secret_digest(token) if token else None,
        )
    )
    return token if taken.rowcount == 1 else None


def resume_web_session(
    conn: Connection, token: str, *, now: dt.datetime | None = None
) -> ResumedSession | None:
    """The session a cookie's token belongs to, if it is still live (then it counts as activity).

    A session idle for longer than IDLE_MINUTES, past its absolute limit, or whose user is
    disabled or gone is ended here (and the audit log says why).
    """
    now = now or _now()
    row = conn.execute(
        select(WebSession.id, WebSession.username, WebSession.filters).where(
            WebSession.token_hash == secret_digest(token)
        )
    ).first()
    if row is None:
        return None
    if keep_web_session(conn, row.id, now=now) != "active":
        return None
    user = load_user(conn, row.username)
    if user is None:
        return None
    record_event(conn, "session_resumed", user.username, user.role)
    return ResumedSession(row.id, user, row.filters)


# Why keep_web_session ended a session, as the audit log says it.
_END_REASONS = {
    "idle": "idle",
    "expired": "session older than SESSION_MAX_HOURS",
    "disabled": "disabled",
}


def keep_web_session(
    conn: Connection, session_id: int, *, now: dt.datetime | None = None
) -> Literal["active", "idle", "expired", "disabled", "ended"]:
    """Count activity on a web session: "active", or why it has ended (it is then revoked).

    "ended": signed out elsewhere or revoked (sign-out in another tab, a new password).
    """
    now = now or _now()
    row = conn.execute(
        select(WebSession.username, WebSession.last_seen_at, WebSession.expires_at).where(
            WebSession.id == session_id
        )
    ).first()
    if row is None:
        return "ended"
    status: Literal["active", "idle", "expired", "disabled"] = "active"
    if now - row.last_seen_at > dt.timedelta(minutes=config.IDLE_MINUTES):
        status = "idle"
    elif now >= row.expires_at:
        status = "expired"
    elif load_user(conn, row.username) is None:
        status = "disabled"
    if status != "active":
        end_web_session(conn, session_id)
        record_event(conn, "signed_out", row.username, _END_REASONS[status])
        return status
    if now - row.last_seen_at >= dt.timedelta(seconds=TOUCH_SECONDS):
        conn.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now))
    return "active"


def remember_filters(conn: Connection, session_id: int, filters: str) -> None:
    """Keep the sidebar filters a browser chose (JSON) with its web session."""
    conn.execute(update(WebSession).where(WebSession.id == session_id).values(filters=filters))


def end_web_session(conn: Connection, session_id: int) -> None:
    """Revoke one web session (its cookie no longer signs anyone in)."""
    conn.execute(delete(WebSession).where(WebSession.id == session_id))


def end_web_session_by_token(conn: Connection, token: str) -> str | None:
    """Revoke the web session a cookie's token belongs to; its user name, or None."""
    digest = secret_digest(token)
    username = conn.execute(
        select(WebSession.username).where(WebSession.token_hash == digest)
    ).scalar_one_or_none()
    conn.execute(delete(WebSession).where(WebSession.token_hash == digest))
    return username


def end_web_sessions(conn: Connection, username: str, *, reason: str) -> int:
    """Revoke every web session of a user (disabled, new password); how many there were."""
    ended = conn.execute(delete(WebSession).where(WebSession.username == username)).rowcount
    if ended:
        record_event(conn, "sessions_revoked", username, f"{ended} ({reason})")
    return int(ended)


def _forget_dead_sessions(conn: Connection, now: dt.datetime) -> None:
    """Delete sessions that can no longer be resumed, so the table holds live ones only."""
    idle_since = now - dt.timedelta(minutes=config.IDLE_MINUTES)
    conn.execute(
        delete(WebSession).where(
            (WebSession.last_seen_at < idle_since) | (WebSession.expires_at <= now)
        )
    )


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

"""Who may do what with imports: every rule in one place, for the pages and the undo itself.

Least privilege for the front desk (issue 14 item 5): it imports, and it may undo only its own
imports, only the newest, and only while the undo removes at most
`UNDO_MAX_SHARE_FRONT_DESK` of the practice; anything larger needs the owner. The check step
shows front desk only how many clients and sessions are new and how many are already stored,
never which stored values an import would change (that would reveal them).

An owner limited to some locations (issue 12, `users add --location`) sees only those
locations' clients, so on imports they follow the front desk's rules: an import's stored values
and the undo of someone else's import reach clients of every location.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, func, select

from practice import config
from practice.auth import SignedInUser
from practice.models import Client, Import, Session

_MAY_UNDO = frozenset({"owner", "front_desk"})
# Who is held to the share limit, in words ("more than front desk may remove").
_WHO = {"front_desk": "front desk", "owner": "an owner limited to some locations"}


@dataclass(frozen=True)
class Actor:
    """Who asks: a signed-in user's name and role; None role is demo mode or the command line.

    (Anyone who can run the command line can read the database anyway: docs/security.md.)
    """

    username: str | None
    role: str | None
    # The locations the user is limited to (practice.access); empty: every location.
    locations: tuple[str, ...] = ()

    @classmethod
    def of(cls, user: SignedInUser | None) -> Actor:
        """The actor for a signed-in user (None: demo mode, anyone may act)."""
        if user is None:
            return cls(None, None)
        return cls(user.username, user.role, tuple(user.locations))

    @property
    def whole_practice(self) -> bool:
        """Whether this actor sees every client: the command line, demo mode, or an owner
        not limited to some locations."""
        return self.role is None or (self.role == "owner" and not self.locations)


def sees_stored_values(actor: Actor) -> bool:
    """Whether the check step may show updated/unchanged counts (they reveal stored values)."""
    return actor.whole_practice


def undo_refusal(conn: Connection, import_id: int, actor: Actor) -> str | None:
    """Why `actor` may not undo import `import_id` (None: they may).

    Only the role rules live here; that imports are undone newest first is the undo's own rule
    (practice.importing.undo), checked in the same transaction.
    """
    if actor.whole_practice:
        return None
    if actor.role not in _MAY_UNDO:
        return "only the owner or the front desk can undo an import"
    row = conn.execute(
        select(
            Import.imported_by, Import.clients_added, Import.sessions_added, Import.status
        ).where(Import.id == import_id)
    ).first()
    if row is None:
        return None  # the undo itself says there is no such import
    if row.imported_by != actor.username:
        return f"import #{import_id} was not made by you; only the owner can undo it"
    share = _share_removed(conn, int(row.clients_added or 0), int(row.sessions_added or 0))
    if row.status == "completed" and share > config.UNDO_MAX_SHARE_FRONT_DESK:
        return (
            f"undoing import #{import_id} would remove {share:.0%} of the practice's records, "
            f"more than {_WHO[actor.role]} may remove ({config.UNDO_MAX_SHARE_FRONT_DESK:.0%}, "
            "setting PRACTICE_UNDO_MAX_SHARE_FRONT_DESK); ask the owner to undo it"
        )
    return None


def _share_removed(conn: Connection, clients: int, sessions: int) -> float:
    """The larger of the shares of stored clients and of stored sessions an undo removes."""
    stored = conn.execute(
        select(
            select(func.count()).select_from(Client).scalar_subquery(),
            select(func.count()).select_from(Session).scalar_subquery(),
        )
    ).one()
    pairs = ((clients, stored[0]), (sessions, stored[1]))
    return max((part / whole for part, whole in pairs if whole), default=0.0)


def change_counts(actor: Actor, counts: pd.DataFrame) -> pd.DataFrame:
    """The check step's table of what an import changes, as `actor` may see it.

    `counts` is the full table (Records, Added, Updated, Unchanged). Front desk sees new and
    already-stored records only: updated vs unchanged would tell a stored value.
    """
    if sees_stored_values(actor):
        return counts
    stored = counts["Updated"] + counts["Unchanged"]
    return pd.DataFrame(
        {"Records": counts["Records"], "New": counts["Added"], "Already stored": stored}
    )

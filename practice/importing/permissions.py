"""Who may do what with imports: every rule in one place, for the pages and the undo itself.

Least privilege for the front desk (issue 14 item 5): it imports, and it may undo only its own
imports, only the newest, and only while the undo removes at most
`UNDO_MAX_SHARE_FRONT_DESK` of the practice; anything larger needs the owner. The check step
shows front desk only how many clients and sessions are new and how many are already stored,
never which stored values an import would change (that would reveal them).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, func, select

from practice import config
from practice.auth import SignedInUser
from practice.models import Client, Import, Session

# Roles that see what an import would change in stored records (updated vs unchanged).
_SEES_STORED_VALUES = frozenset({"owner"})
_MAY_UNDO = frozenset({"owner", "front_desk"})


@dataclass(frozen=True)
class Actor:
    """Who asks: a signed-in user's name and role; None role is demo mode or the command line.

    (Anyone who can run the command line can read the database anyway: docs/security.md.)
    """

    username: str | None
    role: str | None

    @classmethod
    def of(cls, user: SignedInUser | None) -> Actor:
        """The actor for a signed-in user (None: demo mode, anyone may act)."""
        return cls(user.username, user.role) if user is not None else cls(None, None)


def sees_stored_values(actor: Actor) -> bool:
    """Whether the check step may show updated/unchanged counts (they reveal stored values)."""
    return actor.role is None or actor.role in _SEES_STORED_VALUES


def undo_refusal(conn: Connection, import_id: int, actor: Actor) -> str | None:
    """Why `actor` may not undo import `import_id` (None: they may).

    Only the role rules live here; that imports are undone newest first is the undo's own rule
    (practice.importing.undo), checked in the same transaction.
    """
    if actor.role is None or actor.role == "owner":
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
            f"more than front desk may remove ({config.UNDO_MAX_SHARE_FRONT_DESK:.0%}, setting "
            "PRACTICE_UNDO_MAX_SHARE_FRONT_DESK); ask the owner to undo it"
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

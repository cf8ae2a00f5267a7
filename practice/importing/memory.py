"""Column mappings remembered per source, so a monthly export is mapped only once.

A *source* is a kind of export, recognised by its headers: the signature is a hash of the
sorted, normalised header names, so neither the order of the columns nor case, spaces and
punctuation matter. The mapping is file header -> canonical column, with
"" for a column ignored on purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, insert, select, update

from practice.columns import COLUMNS_BY_NAME
from practice.importing.mapping import header_key
from practice.models import SavedColumnMapping


def source_signature(headers: Iterable[str]) -> str:
    """SHA-256 of the file's sorted, normalised, non-blank headers: one value per source.

    Headers are normalised as the importer matches them (`header_key`: letters and digits).
    """
    names = sorted({header_key(h) for h in headers if header_key(h)})
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


def recall_mapping(conn: Connection, signature: str) -> dict[str, str]:
    """The mapping remembered for `signature` (empty when there is none)."""
    stored = conn.execute(
        select(SavedColumnMapping.mapping).where(SavedColumnMapping.source_signature == signature)
    ).scalar_one_or_none()
    return _valid(_loads(stored)) if stored is not None else {}


def remember_mapping(conn: Connection, signature: str, mapping: Mapping[str, str]) -> None:
    """Store (or replace) the mapping of `signature`; the caller owns the transaction."""
    unknown = sorted(set(mapping.values()) - set(COLUMNS_BY_NAME) - {""})
    if unknown:
        raise ValueError(f"mapping names unknown column(s): {', '.join(unknown)}")
    values = {"mapping": dict(mapping), "updated_at": _now()}
    updated = conn.execute(
        update(SavedColumnMapping)
        .where(SavedColumnMapping.source_signature == signature)
        .values(**values)
    )
    if updated.rowcount == 0:
        conn.execute(insert(SavedColumnMapping).values(source_signature=signature, **values))


def _loads(stored: object) -> dict[str, str]:
    # The JSON type returns a dict on both dialects; text is accepted for hand-edited rows.
    loaded = json.loads(stored) if isinstance(stored, str) else stored
    return dict(loaded) if isinstance(loaded, dict) else {}


def _valid(mapping: dict[str, str]) -> dict[str, str]:
    """Drop entries naming a column this version no longer knows (never map to garbage)."""
    return {
        str(header): target
        for header, target in mapping.items()
        if target == "" or target in COLUMNS_BY_NAME
    }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


__all__ = ["recall_mapping", "remember_mapping", "source_signature"]

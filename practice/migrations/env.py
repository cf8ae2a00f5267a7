"""Alembic environment: runs migrations on the connection Headway hands it."""

from __future__ import annotations

from alembic import context

from practice.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through practice.db.upgrade_schema(engine)")

# render_as_batch lets later migrations ALTER tables on SQLite (copy-and-move).
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

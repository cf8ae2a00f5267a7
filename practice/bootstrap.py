"""Opening the practice database: migrate it, and seed the sample practice on first run."""

from __future__ import annotations

from sqlalchemy import Engine

from practice import config, db
from practice.importing import import_paths


def open_database(url: str | None = None, *, seed: bool | None = None) -> Engine:
    """An engine on an up-to-date schema; an empty database gets the sample when `seed`."""
    engine = db.create_engine_for(url)
    db.upgrade_schema(engine)
    should_seed = config.seed_sample_on_first_run() if seed is None else seed
    if should_seed:
        with engine.connect() as conn:
            empty = not db.has_imports(conn)
        if empty:
            import_paths(engine, [config.SAMPLE_CSV], source="sample")
    return engine

"""The Streamlit pages, run headless with AppTest on the seeded sample practice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from practice.sample import generate_practice


ROOT = Path(__file__).resolve().parent.parent


def run_page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=60)
    return at.run()


def test_overview_shows_what_is_stored_in_the_sample(seeded_db_env: str) -> None:
    at = run_page("app.py")
    assert not at.exception
    sample = generate_practice()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Clients"] == f"{sample['client_id'].nunique():,}"
    assert metrics["Sessions"] == f"{len(sample):,}"
    assert metrics["Therapists"] == str(sample["therapist"].nunique())
    latest = at.dataframe[0].value
    assert len(latest) == 200
    newest = pd.to_datetime(sample["session_date"]).max()
    assert pd.Timestamp(latest["session_date"].iloc[0]) == newest
    assert "synthetic sample practice" in at.sidebar.info[0].value

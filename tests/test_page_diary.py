"""Headache diaries on the pages: the upload page recognises and imports one, Client progress
shows it as a calendar and uses its headache days (AppTest on the seeded sample practice)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from practice import db, queries
from practice.analysis import compute_client_outcomes
from practice.auth import SignedInUser, add_user
from practice.importing import import_files
from tests.diary_files import diary_csv, diary_rows, first_session, sessions_csv
from tests.test_import_page import frame_with, upload
from tests.test_page_client_progress import ROOT, charts, metrics, open_page

CLIENTS = 3
OWNER = SignedInUser("owner", "owner")


@pytest.fixture
def practice(seeded_db_env: str) -> Iterator[Engine]:
    """The sample practice plus three clients' sessions, and an owner to sign in."""
    open_page()  # opens (and seeds) the database
    engine = db.create_engine_for(seeded_db_env)
    import_files(engine, [("sessions.csv", sessions_csv(CLIENTS))])
    with engine.begin() as conn:
        add_user(conn, "owner", "owner", "owner-password")
    yield engine
    engine.dispose()


def test_the_upload_page_recognises_a_diary_and_imports_its_days(practice: Engine) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["user"] = OWNER
    at.switch_page("pages/4_Import_Data.py").run()
    assert not at.exception
    upload(at, ("diary.csv", diary_csv(CLIENTS, repeat_row=None)))
    assert [e.label for e in at.expander if e.label.startswith("📄")] == [
        f"📄 diary\\.csv: {len(diary_rows(CLIENTS)):,} rows, 6 columns · headache diary"
    ]
    columns = frame_with(at, "Headway column")[0]
    assert columns["Headway column"].tolist()[:3] == ["client_id", "diary_date", "headache"]
    changes = frame_with(at, "Added")[0]
    assert changes.to_dict("records") == [
        {"Records": "Diary days", "Added": len(diary_rows(CLIENTS)), "Updated": 0, "Unchanged": 0}
    ]
    at.button(key="do_import").click().run()
    assert not at.exception
    assert f"diary days {len(diary_rows(CLIENTS))} added" in at.success[0].value
    with practice.connect() as conn:
        assert len(queries.fetch_diary_days(conn)) == len(diary_rows(CLIENTS))


def test_client_progress_shows_the_diary_calendar_and_its_headache_days(practice: Engine) -> None:
    import_files(practice, [("diary.csv", diary_csv(CLIENTS, repeat_row=None))])
    at = open_page(OWNER, client="D001")
    with practice.connect() as conn:
        clients, sessions = queries.fetch_clients(conn), queries.fetch_sessions(conn)
        diary = queries.fetch_diary_days(conn)
    expected = compute_client_outcomes(clients, sessions, diary=diary)
    row = expected[expected["client_id"] == "D001"].iloc[0]
    assert row["hd28_source"] == "diary"
    assert metrics(at)["Headache days per 28 days"][0] == f"{row['hd28_latest']:.1f}"
    summary = at.dataframe[1].value.set_index("measure")
    hd28 = summary.loc[summary.index.str.startswith("Headache days")].iloc[0]
    assert (hd28["baseline_from"], hd28["latest_from"]) == ("headache diary", "headache diary")

    spec, data = charts(at)["Headache diary"]
    cells, dots = (data[layer["data"]["name"]] for layer in spec["layer"])
    mine = diary[diary["client_id"] == "D001"]
    days = (mine["diary_date"].max() - mine["diary_date"].min()).days + 1
    assert len(cells) == days  # one cell a day, logged or not
    assert (cells["level"] != "not logged").sum() == len(mine)
    start = pd.Timestamp(first_session(1))
    assert dots["date_text"].tolist() == [
        f"{start + pd.Timedelta(days=7 * week):%a %-d %b %Y}" for week in range(6)
    ]
    assert any("diary days logged" in c.value for c in at.caption)
    windows = frame_with(at, "Counted")[0]
    assert windows["Window"].iloc[0] == "baseline"
    assert windows["Headache days per 28 days"].iloc[0] == pytest.approx(row["hd28_baseline"])


def test_the_techniques_page_says_how_many_series_took_headache_days_from_a_diary(
    practice: Engine,
) -> None:
    import_files(practice, [("diary.csv", diary_csv(CLIENTS, repeat_row=None))])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["user"] = OWNER
    at.switch_page("pages/2_Techniques.py").run()
    assert not at.exception
    captions = [c.value for c in at.caption if "headache diary in" in c.value]
    assert len(captions) == 1
    assert captions[0].startswith("Headache days per 28 days: from a headache diary in 3 of ")


def test_a_baseline_from_the_diary_is_named_so_on_the_intake_and_the_overview(
    practice: Engine,
) -> None:
    """The change table said "headache diary" while the intake said "not recorded" and the
    Overview counted the client as not recorded (issue 13)."""
    from practice.overview import baseline_source_counts

    with practice.connect() as conn:
        clients, sessions = queries.fetch_clients(conn), queries.fetch_sessions(conn)
    before = baseline_source_counts(compute_client_outcomes(clients, sessions))
    import_files(practice, [("diary.csv", diary_csv(CLIENTS, repeat_row=None))])
    at = open_page(OWNER, client="D001")
    intake = next(m.value for m in at.markdown if "Baseline from:" in m.value)
    baseline_from = intake.split("**Baseline from:**")[1].split("\n")[0]
    assert "Headache diary" in baseline_from and "not recorded" not in baseline_from, intake

    with practice.connect() as conn:
        diary = queries.fetch_diary_days(conn)
    after = baseline_source_counts(compute_client_outcomes(clients, sessions, diary=diary))
    moved = before.set_index("source")["clients"] - after.set_index("source")["clients"]
    # D001-D003 began their diaries before treatment: their baselines come from it.
    assert moved.to_dict() == {"diary": -CLIENTS, "recall": 0, "not_recorded": CLIENTS}

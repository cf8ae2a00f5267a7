"""The headache diary in a real browser: Client progress draws the calendar and shows the
diary-derived headache days for a client whose diary was imported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from practice import db, queries
from practice.analysis import compute_client_outcomes
from practice.importing import import_files
from tests.diary_files import diary_csv, sessions_csv
from tests.e2e.conftest import running_app
from tests.e2e.test_browser import save_screenshot, sign_in, wait_until_idle

pytestmark = pytest.mark.browser
CLIENTS = 3


@pytest.fixture(scope="module")
def diary_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float]]:
    """The app with an owner, three clients' sessions and their diaries imported; yields the
    URL and client D001's headache days per 28 days as the analysis computes them."""
    base = tmp_path_factory.mktemp("e2e-diary")
    with running_app(base, users={"anna": ("owner", "owner-password", None)}) as url:
        engine = db.create_engine_for(f"sqlite:///{base / 'e2e.sqlite3'}")
        import_files(engine, [("sessions.csv", sessions_csv(CLIENTS))])
        import_files(engine, [("diary.csv", diary_csv(CLIENTS, repeat_row=None))])
        with engine.connect() as conn:
            clients, sessions = queries.fetch_clients(conn), queries.fetch_sessions(conn)
            diary = queries.fetch_diary_days(conn)
        engine.dispose()
        outcomes = compute_client_outcomes(clients, sessions, diary=diary)
        latest = float(outcomes.loc[outcomes["client_id"] == "D001", "hd28_latest"].iloc[0])
        yield url, latest


def test_client_progress_draws_the_diary_calendar(diary_app, page, tmp_path: Path) -> None:
    url, latest = diary_app
    page.goto(url + "/Client_Progress?client=D001")
    sign_in(page, "anna", "owner-password")
    page.get_by_role("heading", name="Headache diary").wait_for()
    wait_until_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("diary days logged between", exact=False).count() == 1
    assert page.get_by_text("from the headache diary", exact=False).count() >= 1
    headline = page.get_by_test_id("stMetric").filter(has_text="Headache days per 28 days")
    assert headline.get_by_test_id("stMetricValue").inner_text().strip() == f"{latest:.1f}"
    # The calendar is the last chart of the page; it must actually draw (a canvas with size).
    calendar = page.locator('[data-testid="stVegaLiteChart"]').last
    calendar.scroll_into_view_if_needed()
    drawn = calendar.locator("canvas, svg").first
    drawn.wait_for()
    box = drawn.bounding_box()
    # Seven month rows (Jan-Jul 2025) of 22 px under the title: drawn, not squashed.
    assert box is not None and box["width"] > 300 and box["height"] > 7 * 22 + 60
    shot = save_screenshot(page, "client-progress-diary", tmp_path)
    assert shot.stat().st_size > 10_000

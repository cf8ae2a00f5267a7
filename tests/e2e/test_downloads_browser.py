"""Downloads in a real browser: every click brings its file, and a client's PDF report always
has the data lines in its charts (the same charts the command line draws)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from practice.bootstrap import open_database
from practice.queries import fetch_clients, fetch_sessions
from practice.reports import client_report_pdf
from tests.e2e.conftest import running_app
from tests.pdf_charts import chart_images, draws_data_lines

pytestmark = pytest.mark.browser

# The downloads of Client progress clicked in turn: the three tables, a chart and the report.
BUTTONS = ("csv-intake", "csv-change", "csv-sessions", "png-pain", "pdf-report")
CLICKS = 20


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The app in demo mode on the sample practice, and its database URL."""
    base = tmp_path_factory.mktemp("e2e-downloads")
    with running_app(base) as url:
        yield url, f"sqlite:///{base / 'e2e.sqlite3'}"


def open_client(page, url: str, client_id: str) -> None:
    """Client progress for one client, drawn completely (charts included)."""
    page.goto(f"{url}/Client_Progress?client={client_id}")
    page.wait_for_selector("h1")
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_function(
        '() => document.querySelectorAll(\'[data-testid="stVegaLiteChart"] canvas, '
        '[data-testid="stVegaLiteChart"] svg\').length >= 2'
    )


def download(page, key: str) -> bytes:
    """Click the download button with `key` and return the file that arrives."""
    with page.expect_download(timeout=90_000) as arrival:
        page.locator(f".st-key-{key} button").first.click()
    return Path(arrival.value.path()).read_bytes()


@pytest.mark.parametrize("client_id", ["C0042", "C0001"])
def test_client_pdf_from_the_page_has_the_command_lines_charts(app, page, client_id) -> None:
    url, db_url = app
    with open_database(db_url, seed=False).connect() as conn:
        clients, sessions = fetch_clients(conn), fetch_sessions(conn)
    expected = client_report_pdf(clients, sessions, client_id)
    assert draws_data_lines(expected)
    open_client(page, url, client_id)
    for attempt in range(3):
        data = download(page, "pdf-report")
        assert data.startswith(b"%PDF"), attempt
        assert draws_data_lines(data), f"{client_id} try {attempt + 1}: a chart lost its data"
        assert chart_images(data) == chart_images(expected), f"{client_id} try {attempt + 1}"


def test_every_download_arrives_on_every_click(app, page) -> None:
    url, _ = app
    open_client(page, url, "C0042")
    first: dict[str, bytes] = {}
    for click in range(CLICKS):
        key = BUTTONS[click % len(BUTTONS)]
        data = download(page, key)
        assert data, f"click {click + 1} ({key}) brought an empty file"
        if key.startswith("csv"):  # the same table every time
            assert data == first.setdefault(key, data), f"click {click + 1} ({key})"

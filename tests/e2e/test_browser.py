"""Every page in a real browser: it draws without an error, its charts render, and the
filters, an upload and a deep link behave as a person would see them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import SCREENSHOT_DIR

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

# (URL path, page title, how many charts at least must draw)
PAGES = [
    ("/", "Overview", 3),
    ("/Client_Progress?client=C0001", "Client progress", 2),
    ("/Techniques", "Techniques", 3),
    ("/Therapists", "Therapists", 1),
    ("/Import_Data", "Import data", 0),
]
NEW_CLIENT_CSV = (
    "Client ID,Name,Intake date,Diagnosis,Date,Practitioner,Treatment,Pain before,Pain after\n"
    "E2E01,Browser Test,2026-08-01,migraine,2026-08-03,Ana Duarte,MFR,6,4\n"
    "E2E01,Browser Test,2026-08-01,migraine,2026-08-10,Ana Duarte,MFR,5,3\n"
)


def wait_until_idle(page) -> None:
    """Wait until the script run has finished and the page has drawn its title."""
    page.wait_for_selector("h1")
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def save_screenshot(page, name: str, tmp_path: Path) -> Path:
    """A screenshot of the whole page; copied to docs/screenshots when asked to refresh them."""
    height = page.evaluate(
        "() => Math.min(6000, document.querySelector('[data-testid=\"stMain\"]').scrollHeight)"
    )
    page.set_viewport_size({"width": 1400, "height": max(1000, int(height))})
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("HEADWAY_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENSHOT_DIR / path.name)
    return path


@pytest.mark.parametrize(("path", "title", "charts"), PAGES, ids=[p[1] for p in PAGES])
def test_every_page_draws_with_its_charts(app_url, page, tmp_path, path, title, charts) -> None:
    page.goto(app_url + path)
    wait_until_idle(page)
    assert page.locator("h1").first.inner_text().strip() == title
    assert page.locator('[data-testid="stException"]').count() == 0
    if charts:
        page.wait_for_function(
            f'() => document.querySelectorAll(\'[data-testid="stVegaLiteChart"] canvas, '
            f'[data-testid="stVegaLiteChart"] svg\').length >= {charts}'
        )
    shot = save_screenshot(page, title.lower().replace(" ", "-"), tmp_path)
    assert shot.stat().st_size > 10_000


def test_a_filter_chosen_on_one_page_holds_on_the_next(app_url, page) -> None:
    page.goto(app_url + "/")
    wait_until_idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    box = sidebar.get_by_test_id("stMultiSelect").filter(has_text="Headache type")
    box.locator("input").click()
    box.locator("input").press_sequentially("Tension")
    page.get_by_role("option", name="Tension-type headache").wait_for()
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    # Wait for the choice's rerun to be drawn, not for the first idle moment: on a busy
    # machine the app can look idle before that rerun starts.
    expect(page.get_by_test_id("stCaptionContainer").first).to_contain_text(
        "headache type: Tension-type headache"
    )
    wait_until_idle(page)
    sidebar.get_by_role("link", name="Techniques").click()
    expect(page.locator("h1").first).to_have_text("Techniques")
    expect(
        sidebar.get_by_test_id("stMultiSelect").filter(has_text="Headache type")
    ).to_contain_text("Tension-type headache")


def sign_in(page, username: str, password: str) -> None:
    """Sign in through the form of the page that is open, as a person would, and wait until
    the browser holds the session cookie (so that a reload or a link opens signed in)."""
    page.get_by_role("textbox", name="User name").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as", exact=False).first.wait_for()
    page.locator('html[data-headway-session="kept"]').wait_for(state="attached")
    wait_until_idle(page)


def go(page, link: str) -> None:
    """Follow a sidebar link (the session, and so the sign-in, carries over)."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=link).click()
    wait_until_idle(page)


def test_an_uploaded_client_appears_in_client_progress(signed_in_app_url, page, tmp_path) -> None:
    export = tmp_path / "new-client.csv"
    export.write_text(NEW_CLIENT_CSV)
    page.goto(signed_in_app_url + "/Import_Data")
    sign_in(page, "anna", "owner-password")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(export))
    import_button = page.get_by_test_id("stButton").filter(has_text="Import").last
    import_button.wait_for()
    wait_until_idle(page)
    import_button.click()
    page.get_by_text("sessions 2 added").first.wait_for()
    go(page, "Client progress")
    # The picker offers the first 50 clients by id; E2E01 sorts after the sample's 150, so
    # only the search finds it.
    search = page.get_by_role("textbox", name="Find a client")
    search.fill("e2e")
    search.press("Enter")
    expect(
        page.get_by_test_id("stCaptionContainer").filter(has_text="in their id or name")
    ).to_contain_text("1 of all 151 clients")
    page.get_by_test_id("stSelectbox").filter(has_text="Client").first.click()
    page.get_by_role("option", name="E2E01", exact=False).click()
    # Wait for the client's page itself: on a busy machine the rerun after the choice can
    # start after the app first looks idle.
    page.get_by_text("Browser Test").first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_deep_link_asks_to_sign_in_then_opens_the_client(signed_in_app_url, page) -> None:
    page.goto(signed_in_app_url + "/Client_Progress?client=C0001")
    page.get_by_role("button", name="Sign in").wait_for()
    wait_until_idle(page)
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 0
    sign_in(page, "anna", "owner-password")
    assert "client=C0001" in page.url
    assert page.locator("h1").first.inner_text().strip() == "Client progress"


def test_a_therapist_sees_their_pages_and_is_refused_the_others(signed_in_app_url, page) -> None:
    page.goto(signed_in_app_url + "/Therapists")
    sign_in(page, "sarah", "therapist-password")
    # Wait for what must show, not for a time: the menu and the refusal are drawn by the run.
    menu = page.get_by_test_id("stSidebarNav").get_by_role("link")
    expect(menu).to_have_text(["Overview", "Client progress", "Techniques"])
    expect(page.get_by_text("cannot open Therapists")).to_be_visible()
    expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(0)

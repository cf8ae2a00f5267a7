"""A sign-in that survives a reload, a new tab and a link, and ends when it should (issue 11):
the HttpOnly, SameSite session cookie set through serve.py's /api/session route."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, running_app
from tests.e2e.test_browser import go, sign_in, wait_until_idle
from tests.e2e.test_navigation_browser import (
    choose_tension_type_and_sarah,
    expect_overview_numbers,
    main_caption,
    overview_numbers,
)

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.browser

USERS = {
    "anna": ("owner", "owner-password", None),
    "dora": ("owner", "dora-password", None),  # disabled by one test: nobody else signs in as her
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The signed-in app and its database file."""
    base = tmp_path_factory.mktemp("e2e-session")
    with running_app(base, users=USERS) as url:
        yield url, base / "e2e.sqlite3"


def signed_in_with_cookie(page, url: str, path: str, username: str, password: str) -> None:
    """Sign in at `path`; `sign_in` waits until the page has exchanged its ticket for the cookie."""
    page.goto(url + path)
    sign_in(page, username, password)
    expect(page.locator("html")).to_have_attribute("data-headway-session", "kept")


def asks_to_sign_in(page) -> None:
    page.get_by_role("button", name="Sign in").wait_for()
    wait_until_idle(page)
    expect(page.locator("h1").first).to_have_text("Sign in to Headway")
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def test_a_reload_keeps_the_sign_in_the_page_and_the_filters(app, page) -> None:
    url, _ = app
    signed_in_with_cookie(page, url, "/", "anna", "owner-password")
    choose_tension_type_and_sarah(page)
    caption, numbers = main_caption(page), overview_numbers(page)
    go(page, "Techniques")
    expect(page.locator("h1").first).to_have_text("Techniques")
    expect(page).to_have_url(url + "/Techniques")

    page.reload()
    page.get_by_text("Signed in as", exact=False).first.wait_for()
    wait_until_idle(page)
    expect(page.locator("h1").first).to_have_text("Techniques")
    expect(page).to_have_url(url + "/Techniques")
    boxes = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect")
    expect(boxes.filter(has_text="Headache type")).to_contain_text("Tension-type headache")
    expect(boxes.filter(has_text="Therapist")).to_contain_text("Sarah Okafor")
    assert page.get_by_text("Session State").count() == 0  # no warning about widget values
    assert page.locator('[data-testid="stException"]').count() == 0
    go(page, "Overview")
    expect(page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first).to_have_text(
        caption
    )
    expect_overview_numbers(page, numbers)


def test_the_cookie_is_httponly_strict_and_holds_no_user_name(app, page) -> None:
    url, _ = app
    signed_in_with_cookie(page, url, "/", "anna", "owner-password")
    cookies = [c for c in page.context.cookies() if c["name"] == "headway_session"]
    assert len(cookies) == 1
    cookie = cookies[0]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["secure"] is False  # served over plain http here; Secure over https
    assert len(cookie["value"]) >= 43 and "anna" not in cookie["value"]
    # HttpOnly: the page's own scripts cannot read it.
    assert "headway_session" not in page.evaluate("() => document.cookie")


def test_a_link_in_a_new_tab_opens_signed_in(app, page) -> None:
    url, _ = app
    signed_in_with_cookie(page, url, "/", "anna", "owner-password")
    tab = page.context.new_page()
    tab.goto(url + "/Client_Progress?client=C0001")
    tab.get_by_text("Signed in as", exact=False).first.wait_for()
    wait_until_idle(tab)
    expect(tab.locator("h1").first).to_have_text("Client progress")


def test_after_sign_out_a_reload_asks_to_sign_in(app, page) -> None:
    url, _ = app
    signed_in_with_cookie(page, url, "/Techniques", "anna", "owner-password")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("html")).to_have_attribute("data-headway-session", "cleared")
    assert [c for c in page.context.cookies() if c["name"] == "headway_session"] == []
    page.reload()
    asks_to_sign_in(page)


def test_a_user_disabled_from_the_command_line_is_asked_to_sign_in_on_reload(app, page) -> None:
    url, database = app
    signed_in_with_cookie(page, url, "/Techniques", "dora", "dora-password")
    cookie = next(c for c in page.context.cookies() if c["name"] == "headway_session")
    disabled = subprocess.run(
        [
            sys.executable,
            "-m",
            "practice",
            "users",
            "disable",
            "dora",
            "--db",
            f"sqlite:///{database}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert disabled.returncode == 0, disabled.stderr
    page.reload()
    asks_to_sign_in(page)
    # The revoked token signs nobody in, even sent again by hand.
    page.context.add_cookies([cookie])
    page.reload()
    asks_to_sign_in(page)

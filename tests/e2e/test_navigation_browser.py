"""Navigation in a real browser: every page by its URL, signed out and per role; filters that
hold over five page changes with the numbers unchanged (issue 11 section 1)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import USERS
from tests.e2e.test_browser import go, sign_in, wait_until_idle

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.browser

# Each page's URL and title, and the roles that may open it.
PAGES = [
    ("/Overview", "Overview", {"owner", "therapist"}),
    ("/Client_Progress?client=C0001", "Client progress", {"owner", "therapist"}),
    ("/Techniques", "Techniques", {"owner", "therapist"}),
    ("/Therapists", "Therapists", {"owner"}),
    ("/Import_Data", "Import data", {"owner", "front_desk"}),
    ("/Users_and_Audit", "Users and audit log", {"owner"}),
]
PASSWORDS = {role: (name, password) for name, role, password, _ in USERS}


def title(page) -> str:
    return page.locator("h1").first.inner_text().strip()


@pytest.mark.parametrize(("path", "name", "roles"), PAGES, ids=[p[1] for p in PAGES])
def test_every_page_by_its_url_asks_a_visitor_to_sign_in(
    signed_in_app_url, page, path, name, roles
):
    page.goto(signed_in_app_url + path)
    page.get_by_role("button", name="Sign in").wait_for()
    wait_until_idle(page)
    assert title(page) == "Sign in to Headway"
    assert page.locator('[data-testid="stDataFrame"], [data-testid="stMetric"]').count() == 0
    assert page.get_by_test_id("stSidebarNav").count() == 0  # no menu before sign-in


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk"])
def test_every_page_by_its_url_opens_or_refuses_by_role(signed_in_app_url, page, role) -> None:
    username, password = PASSWORDS[role]
    for number, (path, name, roles) in enumerate(PAGES):
        page.goto(signed_in_app_url + path)  # a new session: the first link signs in first,
        if number == 0:  # the others open signed in, through the session cookie
            sign_in(page, username, password)
        page.get_by_text("Signed in as", exact=False).first.wait_for()
        wait_until_idle(page)
        expect(page.locator("h1").first).to_have_text(name)
        assert page.locator('[data-testid="stException"]').count() == 0
        refused = page.get_by_text(f"cannot open {name}")
        if role in roles:
            expect(refused).to_have_count(0)
        else:
            expect(refused).to_be_visible()
            expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(0)


def test_front_desk_signing_in_at_the_root_lands_on_import_data(signed_in_app_url, page) -> None:
    page.goto(signed_in_app_url + "/")
    sign_in(page, *PASSWORDS["front_desk"])
    expect(page.locator("h1").first).to_have_text("Import data")
    # One page only: Streamlit draws no menu at all, so no other page is offered.
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    assert page.get_by_text("cannot open").count() == 0


def choose(page, box_label: str, typed: str, option: str) -> None:
    """Pick an option of a sidebar multiselect by typing, as a person would."""
    box = (
        page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text=box_label)
    )
    box.locator("input").click()
    box.locator("input").press_sequentially(typed)
    page.get_by_role("option", name=option).wait_for()
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    wait_until_idle(page)


def choose_tension_type_and_sarah(page) -> None:
    """On the Overview, filter to tension-type headache and Sarah Okafor's clients."""
    choose(page, "Headache type", "Tension", "Tension-type headache")
    choose(page, "Therapist", "Sarah", "Sarah Okafor")
    # Wait for the reruns the two choices started to be drawn: on a busy machine the app can
    # look idle before the second rerun begins, and a page change then races it.
    caption_box = page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first
    expect(caption_box).to_contain_text("headache type: Tension-type headache")
    expect(caption_box).to_contain_text("therapist: Sarah Okafor")
    wait_until_idle(page)


def main_caption(page) -> str:
    """The page's first caption (the Overview's: counts and what the filters select)."""
    return page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first.inner_text()


def overview_numbers(page) -> list[str]:
    """The Overview's headline figures, once it has drawn them."""
    figures = page.get_by_test_id("stMetricValue")
    figures.first.wait_for()
    return figures.all_inner_texts()


def expect_overview_numbers(page, numbers: list[str]) -> None:
    """The Overview shows exactly `numbers`, waiting while it draws them (a page draws its
    elements one after another: its caption can be there before its figures)."""
    expect(page.get_by_test_id("stMetricValue")).to_have_text(numbers)


# Five page changes in a row from the Overview back to it, through pages with and without filters.
WALKS = {
    "owner": ["Client progress", "Import data", "Techniques", "Therapists", "Overview"],
    "therapist": ["Techniques", "Client progress", "Techniques", "Client progress", "Overview"],
}


@pytest.mark.parametrize("role", list(WALKS))
def test_filters_hold_over_five_page_changes_and_the_numbers_with_them(
    signed_in_app_url, page, role
) -> None:
    page.goto(signed_in_app_url + "/")
    sign_in(page, *PASSWORDS[role])
    choose_tension_type_and_sarah(page)
    caption = main_caption(page)
    before = overview_numbers(page)
    for name in WALKS[role]:
        go(page, name)
        expect(page.locator("h1").first).to_have_text(name)
        if name != "Import data":  # Import data draws no filters, and keeps them all the same
            boxes = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect")
            expect(boxes.filter(has_text="Headache type")).to_contain_text("Tension-type headache")
            expect(boxes.filter(has_text="Therapist")).to_contain_text("Sarah Okafor")
    expect(page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first).to_have_text(
        caption
    )
    expect_overview_numbers(page, before)

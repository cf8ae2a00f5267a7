"""A real browser against a real `streamlit run serve.py`: Debian's Chromium driven by Playwright.

Skips with a reason when /usr/bin/chromium is missing, unless HEADWAY_REQUIRE_BROWSER=1 (set
by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.browser import CHROMIUM, CHROMIUM_ARGS, running_server
from practice import auth
from practice.bootstrap import open_database

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_BROWSER = os.environ.get("HEADWAY_REQUIRE_BROWSER") == "1"
# (name, role, password, therapist) of the users of the signed-in app.
USERS = (
    ("anna", "owner", "owner-password", None),
    ("sarah", "therapist", "therapist-password", "Sarah Okafor"),
    ("fred", "front_desk", "front-desk-password", None),
)
# Where screenshots go: the README's copies are refreshed with HEADWAY_UPDATE_SCREENSHOTS=1.
SCREENSHOT_DIR = ROOT / "docs" / "screenshots"


def _missing_browser(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"a browser is required (HEADWAY_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(f"no browser: {reason}")


@contextlib.contextmanager
def running_app(
    base: Path, *, users: dict[str, tuple[str, str, str | None]] | None = None
) -> Iterator[str]:
    """`streamlit run serve.py` (as scripts/dashboard runs it: app.py plus the session cookie's
    route) on a free port over a fresh database seeded with the sample; `users` (name -> role,
    password, therapist) are created before it starts."""
    url_db = f"sqlite:///{base / 'e2e.sqlite3'}"
    engine = open_database(url_db, seed=True)
    with engine.begin() as conn:
        for name, (role, password, therapist) in (users or {}).items():
            auth.add_user(conn, name, role, password, therapist_name=therapist)
    engine.dispose()
    log = base / "streamlit.log"
    with running_server(url_db, script="serve.py", seed=True, log=log) as (url, _server):
        yield url


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app in demo mode (no users) on the sample practice."""
    with running_app(tmp_path_factory.mktemp("e2e-demo")) as url:
        yield url


@pytest.fixture(scope="module")
def signed_in_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with an owner, a therapist and a front-desk user (sign-in required)."""
    users = {name: (role, password, therapist) for name, role, password, therapist in USERS}
    with running_app(tmp_path_factory.mktemp("e2e-users"), users=users) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, through Playwright (no downloaded browser)."""
    if not CHROMIUM.exists():
        _missing_browser(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("the playwright package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Keep each phase's report on the test, so that the `page` fixture knows it failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A fresh browser tab, large enough for the dashboard's wide layout. When the test fails,
    what the tab showed (its text, and a screenshot beside the test's files) joins the report:
    a browser test that times out otherwise says only what it waited for."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    call = request.node.stash.get(_REPORTS, {}).get("call")
    if call is not None and call.failed:
        _describe_failed_page(tab, call, tmp_path / "failure.png")
    context.close()


def _describe_failed_page(tab: object, report: pytest.TestReport, shot: Path) -> None:
    try:
        tab.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]
        text = tab.locator("body").inner_text(timeout=5_000)  # type: ignore[attr-defined]
        state = tab.evaluate(  # type: ignore[attr-defined]
            "() => document.querySelector('[data-testid=\"stApp\"]')"
            "?.getAttribute('data-test-script-state')"
        )
    except Exception as error:  # a closed tab must not hide the real failure
        report.sections.append(("page at failure", f"could not be read: {error}"))
        return
    summary = f"url {tab.url}\nscript state {state}\nscreenshot {shot}\n\n{text[:4000]}"  # type: ignore[attr-defined]
    report.sections.append(("page at failure", summary))

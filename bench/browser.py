"""A real browser's figures: headless Chromium (Playwright) against `streamlit run app.py`.

The time of a page is from the navigation (the click on its sidebar link, or on "Sign in")
to its last chart drawn: its title is the new page's, the script has finished, and every
visible chart holds its canvas. The server starts on empty caches: signing in at `/` lands on
the Overview, a cold start; every page is then reached by its sidebar link as a person does;
Client progress also by a deep link to a client (a new tab, so from the sign-in click); last
the Overview again, warm. The AppTest figures (`bench.stages.stage_dashboard`) leave the
browser out; these add the network, the browser's work and Vega's drawing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import stages

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 300_000
STABLE_SECONDS = 0.3  # the drawn state must hold this long (a run can pause between steps)
# The page's title, whether the script has finished, visible charts and those drawn, and the
# placeholders of elements still loading (a tab's first chart waits for Vega's code to load,
# after the script has finished).
STATE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const title = document.querySelector('[data-testid="stMain"] h1');
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
    .filter((chart) => chart.offsetParent !== null);
  return {
    title: title ? title.innerText.trim() : '',
    finished: !!app && app.getAttribute('data-test-script-state') === 'notRunning',
    charts: charts.length,
    drawn: charts.filter((chart) => chart.querySelector('canvas, svg')).length,
    loading: document.querySelectorAll('[data-testid="stMain"] [data-testid="stSkeleton"]').length,
  };
}"""


def unavailable() -> str | None:
    """Why the browser cannot be measured here, or None."""
    if not CHROMIUM.exists():
        return f"not measured: {CHROMIUM} is not installed"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "not measured: the playwright package is not installed"
    return None


def measure_pages(url: str) -> dict[str, Any]:
    """Seconds from navigation to the last chart drawn, for every page; the server's peak RSS."""
    reason = unavailable()
    if reason:
        return {"skipped": reason}
    from playwright.sync_api import sync_playwright

    first_client = stages.ensure_bench_user(url)
    pages = []
    with running_server(url) as (base, server), sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.goto(f"{base}/")
        _wait_for_sign_in_form(tab)
        pages.append(_timed(tab, "Overview (sign-in at /, cold start)", "Overview", _sign_in))
        titles = [title for _, title, _ in stages.dashboard_pages()]
        for title in [*titles[1:], titles[0]]:
            label = f"{title} (sidebar link)"
            pages.append(_timed(tab, label, title, lambda t, title=title: _follow(t, title)))
        deep = context.new_page()  # a new tab: a new session, so it signs in first
        deep.set_default_timeout(TIMEOUT_MS)
        deep.goto(f"{base}/Client_Progress?client={first_client}")
        _wait_for_sign_in_form(deep)
        label = f"Client progress (deep link ?client={first_client}, from the sign-in click)"
        pages.append(_timed(deep, label, "Client progress", _sign_in))
        chromium.close()
        server_peak = _peak_mb(server.pid)
    return {"pages": pages, "server_peak_mb": server_peak}


def _timed(tab: Any, what: str, title: str, navigate: Any) -> dict[str, Any]:
    """Seconds from `navigate(tab)` until `title` is drawn with all its charts, and held."""
    started = time.perf_counter()
    navigate(tab)
    drawn_at = None
    state: dict[str, Any] = {}
    while time.perf_counter() - started < TIMEOUT_MS / 1000:
        state = tab.evaluate(STATE)
        done = (
            state["title"] == title
            and state["finished"]
            and state["drawn"] == state["charts"]
            and not state["loading"]
        )
        now = time.perf_counter()
        if not done:
            drawn_at = None
        elif drawn_at is None:
            drawn_at = now
        elif now - drawn_at >= STABLE_SECONDS:
            break
        time.sleep(0.02)
    else:
        raise RuntimeError(f"{what}: not drawn within {TIMEOUT_MS / 1000:.0f} s ({state})")
    if tab.locator('[data-testid="stException"]').count():
        raise RuntimeError(f"{what}: the page raised an exception")
    assert drawn_at is not None
    return {"what": what, "seconds": drawn_at - started, "charts": state["charts"]}


def _wait_for_sign_in_form(tab: Any) -> None:
    tab.get_by_role("button", name="Sign in").wait_for()
    tab.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def _sign_in(tab: Any) -> None:
    tab.get_by_role("textbox", name="User name").fill(stages.BENCH_USER)
    tab.get_by_role("textbox", name="Password").fill(stages.BENCH_PASSWORD)
    tab.get_by_role("button", name="Sign in").click()


def _follow(tab: Any, title: str) -> None:
    tab.get_by_test_id("stSidebar").get_by_role("link", name=title, exact=True).click()


@contextlib.contextmanager
def running_server(
    url: str, *, script: str = "app.py", seed: bool = False, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`streamlit run SCRIPT` over the database at `url`, on a free port, until the block ends
    (also the browser tests' server: `serve.py`, seeded with the sample, output to `log`)."""
    port = free_port()
    env = {**os.environ, "PRACTICE_DATABASE_URL": url, "PRACTICE_SEED_SAMPLE": str(int(seed))}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(stages.ROOT / script),
        "--server.headless=true",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(log.open("w")) if log else subprocess.DEVNULL
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and app)
            command, cwd=stages.ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_health(base, server)
            yield base, server
        finally:
            server.terminate()
            server.wait(timeout=30)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_health(base: str, server: subprocess.Popen[bytes]) -> None:
    """Return once Streamlit at `base` answers its health check (fail if it exits first)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy within 120 s")


def _peak_mb(pid: int) -> float:
    """The peak RSS (VmHWM) of process `pid`, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")

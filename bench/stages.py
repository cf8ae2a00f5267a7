"""One measured stage per child process: `python -m bench.stages STAGE JSON-ARGUMENTS`.

The child prints one line `BENCH-RESULT {json}` with its figures, including its own peak
resident memory (VmHWM from /proc/self/status) and its resident memory before the stage
began (the interpreter and its libraries), so that the parent never mixes stages up.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH-RESULT "
BENCH_USER = "bench-owner"
BENCH_PASSWORD = "bench-password-1"  # noqa: S105 (a throwaway benchmark database)


def memory_mb(field: str = "VmHWM") -> float:
    """A memory figure of this process from /proc/self/status, in MB (VmHWM: peak RSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_database(url: str) -> None:
    """An empty database at `url` with Headway's schema (SQLite: a new file)."""
    from sqlalchemy import text

    from practice import db

    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = db.create_engine_for(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.upgrade_schema(engine)
    engine.dispose()


def stage_import(csv: str, url: str) -> dict[str, Any]:
    """Headway's full import of `csv` into an empty database: read, map, validate, write."""
    from practice import db
    from practice.importing import prepare_batch, write_batch

    reset_database(url)
    engine = db.create_engine_for(url)
    before = memory_mb("VmRSS")
    started = time.perf_counter()
    path = Path(csv)
    batch = prepare_batch([(path.name, path.read_bytes())])
    prepared = time.perf_counter()
    result = write_batch(engine, batch, source="bench")
    finished = time.perf_counter()
    return {
        "seconds": finished - started,
        "prepare_seconds": prepared - started,
        "write_seconds": finished - prepared,
        "rows": result.rows_read,
        "sessions": result.sessions_added,
        "base_mb": before,
        "peak_mb": memory_mb(),
    }


def stage_import_floor(csv: str, url: str) -> dict[str, Any]:
    """pyarrow parsing alone plus a bare bulk insert of the same rows (bench/floors.py)."""
    from bench import floors
    from practice import db

    engine = db.create_engine_for(url)
    floors.drop_floor_table(engine)
    before = memory_mb("VmRSS")
    started = time.perf_counter()
    table = floors.parse_csv(Path(csv))
    parsed = time.perf_counter()
    floors.bare_insert(engine, table)
    finished = time.perf_counter()
    rows = table.num_rows
    del table
    floors.drop_floor_table(engine)
    return {
        "seconds": finished - started,
        "parse_seconds": parsed - started,
        "insert_seconds": finished - parsed,
        "rows": rows,
        "base_mb": before,
        "peak_mb": memory_mb(),
    }


def stage_analysis(url: str, repeat: int) -> dict[str, Any]:
    """Loading the app's frames, the full outcomes and group comparisons, and the floor."""
    from bench import floors
    from practice import analysis, db, queries

    engine = db.create_engine_for(url)
    before = memory_mb("VmRSS")

    def load() -> tuple[Any, Any]:
        return queries.fetch_frames(engine)  # as the dashboard loads them

    load_seconds, (clients, sessions) = _timed(load, repeat)
    loaded_mb = memory_mb()

    outcome_times, total_times = [], []
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        outcomes = analysis.compute_client_outcomes(clients, sessions)
        computed = time.perf_counter()
        for by in ("primary_technique", "therapist", "headache_type"):
            analysis.compare_groups(outcomes, by=by, measure="hd28")
        outcome_times.append(computed - started)
        total_times.append(time.perf_counter() - started)
    outcomes_seconds, seconds = statistics.median(outcome_times), statistics.median(total_times)
    floor_seconds, floor = _timed(lambda: floors.baseline_and_latest(clients, sessions), repeat)
    floors.check_agrees(floor, outcomes)
    return {
        "load_seconds": load_seconds,
        "outcomes_seconds": outcomes_seconds,
        "seconds": seconds,
        "floor_seconds": floor_seconds,
        "sessions": len(sessions),
        "series": len(outcomes),
        "base_mb": before,
        "load_peak_mb": loaded_mb,
        "peak_mb": memory_mb(),
    }


def stage_dashboard(url: str, reruns: int) -> dict[str, Any]:
    """Every page under AppTest as an owner reaches it: cold start, first visit, reruns, filter.

    app.py runs first on empty caches and routes to the owner's home page, the Overview
    (loading the frames and computing the outcomes, as the first visitor after a restart or an
    import waits for). Every page is then opened through the sidebar's page switch, as a person
    does (its own analyses, the shared frames already cached), rerun `reruns` times (a click
    that changes nothing the caches are keyed on) and, on each page with sidebar filters, the
    headache-type filter is changed to a type no page chose before and the page rerun; the
    filter is then cleared (untimed) before the next page.
    """
    at, first_client = open_dashboard(url)
    started = time.perf_counter()
    at.run()
    cold = time.perf_counter() - started
    _check_drawn(at, "app.py")
    pages = []
    headache_types = filter_values()
    for page, title, analytic in dashboard_pages():
        first = cold
        if page != OVERVIEW:
            first = visit(at, page, first_client)
        times = []
        for _ in range(reruns):
            started = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - started)
        _check_drawn(at, page)
        figures = {
            "page": page,
            "title": title,
            "first_seconds": first,
            "first_is_cold": page == OVERVIEW,
            "rerun_seconds": statistics.median(times) if times else float("nan"),
            "payload_kb": payload_bytes(at) / 1024,
        }
        if analytic:
            figures["filter_seconds"] = change_filter(at, page, [next(headache_types)])
            figures["filtered_payload_kb"] = payload_bytes(at) / 1024
            change_filter(at, page, [])
        pages.append(figures)
    return {"cold_seconds": cold, "pages": pages, "peak_mb": memory_mb()}


OVERVIEW = "pages/0_Overview.py"
CLIENT_PROGRESS = "pages/1_Client_Progress.py"
HEADACHE_TYPE_FILTER = "widget.headache_types"


def dashboard_pages() -> list[tuple[str, str, bool]]:
    """(file, title, has sidebar filters) of every page app.py routes to, in menu order."""
    from practice import ui

    return [(f"pages/{name}", spec.title, spec.filters) for name, spec in ui.PAGES.items()]


def open_dashboard(url: str) -> tuple[Any, str]:
    """app.py under AppTest, signed in as the benchmark's owner, on empty caches."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from practice.auth import SignedInUser

    first_client = ensure_bench_user(url)
    import_page_modules()
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=1800)
    at.session_state["user"] = SignedInUser(BENCH_USER, "owner")
    return at, first_client


# Imported inside functions at a server's first visit, never again: the Arrow reader's drivers
# (practice.columnar) and Streamlit's emoji table (compiled into one large regex on import,
# about 0.5 s, when a label or icon is first checked for a leading emoji).
LAZY_MODULES = (
    "adbc_driver_manager",
    "adbc_driver_sqlite",
    "adbc_driver_postgresql",
    "streamlit.emojis",
)


def import_page_modules() -> None:
    """Import what app.py and the pages import, so that no timed run pays for imports.

    A server imports them once, on its first visitor; the cold start measured here is the
    one every visitor after an import or an undo waits for, in a server already running.
    So are the modules imported inside functions on a first visit (LAZY_MODULES).
    """
    for name in LAZY_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for script in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for name in names:
                with contextlib.suppress(ImportError):
                    importlib.import_module(name)


def ensure_bench_user(url: str) -> str:
    """Create the benchmark's owner at `url` if missing; the first client's code."""
    from sqlalchemy import text

    from practice import auth, db

    engine = db.create_engine_for(url)
    with engine.begin() as conn:
        if auth.load_user(conn, BENCH_USER) is None:
            auth.add_user(conn, BENCH_USER, "owner", BENCH_PASSWORD)
        first_client = conn.execute(text("SELECT MIN(client_code) FROM clients")).scalar_one()
    engine.dispose()
    return str(first_client)


def visit(at: Any, page: str, first_client: str) -> float:
    """Seconds of switching to `page` (Client progress: a deep link to the first client)."""
    at.switch_page(page)
    if page == CLIENT_PROGRESS:
        at.query_params["client"] = first_client  # a client's page, not the empty picker
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    _check_drawn(at, page)
    return seconds


def change_filter(at: Any, page: str, value: list[str]) -> float:
    """Seconds of the rerun after setting the sidebar's headache-type filter to `value`."""
    widget = at.multiselect(key=HEADACHE_TYPE_FILTER).set_value(value)
    started = time.perf_counter()
    widget.run()
    seconds = time.perf_counter() - started
    _check_drawn(at, page)
    return seconds


def filter_values() -> Iterator[str]:
    """Headache types in turn, so that no page reuses another page's cached filter."""
    from practice.vocabulary import HEADACHE_TYPES

    return itertools.cycle(HEADACHE_TYPES)


def payload_bytes(at: Any) -> int:
    """Bytes of every element the page's last run sent to the browser (their protobufs)."""
    return _tree_bytes(at._tree)


def _tree_bytes(node: Any) -> int:
    proto: Any = getattr(node, "proto", None)
    total = proto.ByteSize() if hasattr(proto, "ByteSize") else 0
    for child in getattr(node, "children", {}).values():
        total += _tree_bytes(child)
    return total


def _check_drawn(at: Any, page: str) -> None:
    if at.exception:
        raise RuntimeError(f"{page} raised: {at.exception[0].message}")
    if at.error:
        raise RuntimeError(f"{page} showed an error: {at.error[0].value}")


def _timed(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of `repeat` calls, and the last call's result."""
    times, result = [], None
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def stage_profile(**arguments: Any) -> dict[str, Any]:
    """A missed target's stage again, under a profiler (bench/profiles.py)."""
    from bench import profiles

    return profiles.profile(**arguments)


def stage_browser(url: str) -> dict[str, Any]:
    """Every page in headless Chromium against `streamlit run app.py` (bench/browser.py)."""
    from bench import browser

    return browser.measure_pages(url)


STAGES: dict[str, Callable[..., dict[str, Any]]] = {
    "import": stage_import,
    "import_floor": stage_import_floor,
    "analysis": stage_analysis,
    "dashboard": stage_dashboard,
    "browser": stage_browser,
    "profile": stage_profile,
}


def main(argv: list[str]) -> None:
    """Run one stage with keyword arguments given as JSON; print its result line."""
    stage, arguments = argv[0], json.loads(argv[1])
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    result = STAGES[stage](**arguments)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

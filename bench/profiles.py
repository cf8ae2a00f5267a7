"""Why a target was missed: the missed stage run again under cProfile (or tracemalloc).

`python -m bench` runs `profile(kind, ...)` in a fresh child after the measured run, only for
the targets it missed, so profiling never slows a measured figure. Each profile is a dict
`{"title", "intro", "tables": [{"caption", "header", "rows"}]}` that `bench.report` prints.
"""

from __future__ import annotations

import cProfile
import pstats
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from bench import stages

ROOT = stages.ROOT
HOTSPOTS = 12  # rows of each hotspot table
OWN_CODE = ("practice/", "pages/", "app.py", "bench/")

Profile = dict[str, Any]


def profile(
    kind: str,
    url: str,
    csv: str | None = None,
    requests: list[dict[str, str]] | None = None,
    title: str = "",
) -> dict[str, list[Profile]]:
    """Run the stage behind missed targets under a profiler: `{"profiles": [...]}`.

    `kind` "dashboard" walks the pages once, as the measured run did, and profiles each of
    `requests` ({"action": cold/first/rerun/filter/payload, "page": file, "title": heading})
    on its way; every other kind profiles one stage, under `title`.
    """
    if kind == "dashboard":
        return {"profiles": _profile_dashboard(url, requests or [])}
    if kind == "dashboard_memory":
        return {"profiles": [_dashboard_memory(url, title)]}
    if kind == "analysis":
        return {"profiles": [_analysis_profile(url, title)]}
    if csv is None:
        raise ValueError(f"the {kind!r} profile needs the CSV file")
    if kind == "import":
        return {"profiles": [_import_profile(csv, url, title)]}
    if kind == "import_memory":
        return {"profiles": [_import_memory(csv, url, title)]}
    raise ValueError(f"no profile for {kind!r}")


# --- the dashboard -----------------------------------------------------------------------------
PAGE_ACTIONS = {
    "cold": "the Overview's cold start",
    "first": "the first visit",
    "rerun": "a rerun",
    "filter": "the sidebar filter change",
}


class _ScriptProfiler:
    """cProfile of AppTest's script thread (cProfile sees only the thread that enables it)."""

    def __init__(self) -> None:
        self.profiler: cProfile.Profile | None = None

    @contextmanager
    def installed(self) -> Iterator[None]:
        from streamlit.testing.v1.local_script_runner import LocalScriptRunner

        original = LocalScriptRunner._run_script_thread
        outer = self

        def profiled(runner: Any) -> None:
            if outer.profiler is None:
                original(runner)
                return
            outer.profiler.enable()
            try:
                original(runner)
            finally:
                outer.profiler.disable()

        LocalScriptRunner._run_script_thread = profiled  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            LocalScriptRunner._run_script_thread = original  # type: ignore[method-assign]

    @contextmanager
    def measuring(self) -> Iterator[cProfile.Profile]:
        self.profiler = cProfile.Profile()
        try:
            yield self.profiler
        finally:
            self.profiler = None


def _profile_dashboard(url: str, requests: list[dict[str, str]]) -> list[Profile]:
    """The measured run's walk over the pages, once, profiling the requested steps."""
    wanted = {(r["action"], r["page"]): r["title"] for r in requests}
    script = _ScriptProfiler()
    at, first_client = stages.open_dashboard(url)
    profiles: list[Profile] = []

    def step(action: str, page: str, run: Callable[[], Any]) -> None:
        if (action, page) not in wanted:
            run()
            return
        with script.measuring() as profiler:
            seconds = _timed_run(run)
        intro = f"{PAGE_ACTIONS[action]} took {seconds:.2f} s"
        profiles.append(_hotspots(profiler, wanted[(action, page)], intro))

    headache_types = stages.filter_values()
    with script.installed():
        step("cold", stages.OVERVIEW, at.run)
        for page, _, analytic in stages.dashboard_pages():
            if page != stages.OVERVIEW:
                step("first", page, partial(stages.visit, at, page, first_client))
            if ("payload", page) in wanted:
                profiles.append(_payload_profile(at, wanted[("payload", page)]))
            step("rerun", page, at.run)
            if analytic:
                value = [next(headache_types)]
                step("filter", page, partial(stages.change_filter, at, page, value))
                stages.change_filter(at, page, [])
    return profiles


def _payload_profile(at: Any, title: str) -> Profile:
    """The page's largest elements, by the bytes each sends to the browser."""
    elements = sorted(_elements(at._tree), key=lambda e: -e[2])[:HOTSPOTS]
    rows = [[kind, name, size / 1024] for kind, name, size in elements]
    return {
        "title": title,
        "intro": f"The page sends {stages.payload_bytes(at) / 1024:,.0f} KB; its largest elements:",
        "tables": [{"caption": "", "header": ["element", "key or label", "KB"], "rows": rows}],
    }


def _elements(node: Any) -> Iterator[tuple[str, str, int]]:
    children = getattr(node, "children", {})
    proto: Any = getattr(node, "proto", None)
    if not children and hasattr(proto, "ByteSize"):
        name = getattr(node, "key", None) or getattr(node, "label", None) or _table_shape(node)
        yield str(getattr(node, "type", type(node).__name__)), str(name)[:80], proto.ByteSize()
    for child in children.values():
        yield from _elements(child)


def _table_shape(node: Any) -> str:
    """A table's rows and first columns, e.g. '8,000 rows: client, sessions, ...'."""
    if getattr(node, "type", "") not in ("arrow_data_frame", "dataframe", "table"):
        return ""
    try:
        frame = node.value
    except Exception:  # a label only; the size is what matters
        return ""
    columns = ", ".join(str(c) for c in list(frame.columns)[:4])
    more = ", ..." if len(frame.columns) > 4 else ""
    return f"{len(frame):,} rows: {columns}{more}"


def _dashboard_memory(url: str, title: str) -> Profile:
    """Every page visited once under tracemalloc: what the process still holds, by line."""
    tracemalloc.start()
    at, first_client = stages.open_dashboard(url)
    at.run()
    for page, _, _ in stages.dashboard_pages():
        if page != stages.OVERVIEW:
            stages.visit(at, page, first_client)
    snapshot = tracemalloc.take_snapshot()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return _allocations(
        snapshot,
        title,
        f"Every page visited once: Python allocations peaked at {peak / 2**20:,.0f} MB "
        "(tracemalloc; Arrow buffers are not traced). Held after the last page, by line:",
    )


# --- the import and the analysis ---------------------------------------------------------------
def _import_profile(csv: str, url: str, title: str) -> Profile:
    from practice import db
    from practice.importing import prepare_batch, write_batch

    stages.reset_database(url)
    engine = db.create_engine_for(url)
    path = Path(csv)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with _enabled(profiler):
        write_batch(engine, prepare_batch([(path.name, path.read_bytes())]), source="bench")
    seconds = time.perf_counter() - started
    return _hotspots(profiler, title, f"the import took {seconds:.2f} s")


def _import_memory(csv: str, url: str, title: str) -> Profile:
    from practice.importing import prepare_batch

    path = Path(csv)
    tracemalloc.start()
    batch = prepare_batch([(path.name, path.read_bytes())])
    snapshot = tracemalloc.take_snapshot()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del batch
    return _allocations(
        snapshot,
        title,
        f"Reading and checking the file: Python allocations peaked at {peak / 2**20:,.0f} MB "
        "(tracemalloc). Held by the prepared batch before the write, by line:",
    )


def _analysis_profile(url: str, title: str) -> Profile:
    from practice import analysis, db, queries

    clients, sessions = queries.fetch_frames(db.create_engine_for(url))
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with _enabled(profiler):
        outcomes = analysis.compute_client_outcomes(clients, sessions)
        for by in ("primary_technique", "therapist", "headache_type"):
            analysis.compare_groups(outcomes, by=by, measure="hd28")
    seconds = time.perf_counter() - started
    return _hotspots(profiler, title, f"outcomes + comparisons took {seconds:.2f} s")


# --- formatting --------------------------------------------------------------------------------
@contextmanager
def _enabled(profiler: cProfile.Profile) -> Iterator[None]:
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()


def _timed_run(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _hotspots(profiler: cProfile.Profile, title: str, intro: str) -> Profile:
    """The functions with the most own time, and Headway's own with the most cumulative time."""
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    entries = [
        (_where(file, line, name), calls, own, total)
        for (file, line, name), (_, calls, own, total, _) in stats.items()
    ]
    own_rows = [
        [where, calls, own, total] for where, calls, own, total in sorted(entries, key=_by_own)
    ][:HOTSPOTS]
    headway = [e for e in entries if e[0].startswith(OWN_CODE)]
    cumulative_rows = [
        [where, calls, own, total] for where, calls, own, total in sorted(headway, key=_by_total)
    ][:HOTSPOTS]
    header = ["function (file:line)", "calls", "own (s)", "cumulative (s)"]
    return {
        "title": title,
        "intro": f"{intro[0].upper()}{intro[1:]} (cProfile; profiled times run slower).",
        "tables": [
            {"caption": "Most own time:", "header": header, "rows": own_rows},
            {
                "caption": "Headway's functions by cumulative time:",
                "header": header,
                "rows": cumulative_rows,
            },
        ],
    }


def _by_own(entry: tuple[str, int, float, float]) -> float:
    return -entry[2]


def _by_total(entry: tuple[str, int, float, float]) -> float:
    return -entry[3]


def _allocations(snapshot: tracemalloc.Snapshot, title: str, intro: str) -> Profile:
    rows = [
        [_where(frame.filename, frame.lineno, ""), stat.count, stat.size / 2**20]
        for stat in snapshot.statistics("lineno")[:HOTSPOTS]
        for frame in stat.traceback[:1]
    ]
    return {
        "title": title,
        "intro": intro,
        "tables": [{"caption": "", "header": ["file:line", "blocks", "MB"], "rows": rows}],
    }


def _where(file: str, line: int, name: str) -> str:
    """A short, readable location: relative to the repository or to site-packages."""
    path = file
    root = f"{ROOT}/"
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(root):
        path = path[len(root) :]
    elif path.startswith("/") and "/lib/python" in path:
        path = path.split("/lib/python", 1)[1].split("/", 1)[-1]
    located = f"{path}:{line}" if line else path
    return f"{located} ({name})" if name else located

"""The benchmark's tables, as Markdown: printed by the run and kept in docs/performance.md."""

from __future__ import annotations

import itertools
import math
import os
import platform
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import targets

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
DATABASE_LABELS = targets.DATABASE_LABELS


def machine(postgres_version: str | None) -> str:
    """One line naming the machine and the versions that matter."""
    import pandas
    import pyarrow

    cpu = _cpu_model()
    memory = _memory_gb()
    parts = [
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GB RAM",
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}",
        f"pandas {pandas.__version__}",
        f"pyarrow {pyarrow.__version__}",
        f"SQLite {sqlite3.sqlite_version}",
    ]
    if postgres_version:
        parts.append(f"PostgreSQL {postgres_version}")
    parts.append(f"load average {os.getloadavg()[1]:.1f} over the run's last 5 minutes")
    return "; ".join(parts)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; numbers right-aligned."""
    aligns = [
        "---:"
        if rows
        and any(_is_number(r[i]) for r in rows)
        and all(_is_number(r[i]) or r[i] in ("", "–") for r in rows)
        else "---"
        for i in range(len(header))
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(aligns) + "|",
        *("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows),
    ]
    return "\n".join(lines)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) or (isinstance(value, str) and value[:1].isdigit())


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def import_table(results: list[dict[str, Any]]) -> str:
    """Headway's import against its floor, per size and database."""
    rows = []
    for r in results:
        imp, floor = r["import"], r["import_floor"]
        rows.append(
            [
                r["sessions"],
                DATABASE_LABELS[r["database"]],
                imp["seconds"],
                round(imp["rows"] / imp["seconds"]),
                floor["seconds"],
                round(floor["rows"] / floor["seconds"]),
                f"{imp['seconds'] / floor['seconds']:.2f}x",
                imp["peak_mb"],
                floor["peak_mb"],
            ]
        )
    return markdown_table(
        [
            "sessions",
            "database",
            "import (s)",
            "rows/s",
            "floor (s)",
            "floor rows/s",
            "ratio",
            "import peak RSS (MB)",
            "floor peak RSS (MB)",
        ],
        rows,
    )


def analysis_table(results: list[dict[str, Any]]) -> str:
    """Loading the frames, the outcomes and comparisons against the floor."""
    rows = []
    for r in results:
        a = r["analysis"]
        rows.append(
            [
                r["sessions"],
                DATABASE_LABELS[r["database"]],
                a["load_seconds"],
                a["outcomes_seconds"],
                a["seconds"],
                a["floor_seconds"],
                f"{a['seconds'] / a['floor_seconds']:.2f}x",
                a["peak_mb"],
            ]
        )
    return markdown_table(
        [
            "sessions",
            "database",
            "load frames (s)",
            "outcomes (s)",
            "outcomes + comparisons (s)",
            "floor (s)",
            "ratio",
            "peak RSS (MB)",
        ],
        rows,
    )


def dashboard_table(results: list[dict[str, Any]]) -> str:
    """Each page's first visit, rerun, filter change, and what it sends to the browser."""
    rows = []
    for r in results:
        for page in r["dashboard"]["pages"]:
            first = page["first_seconds"]
            rows.append(
                [
                    r["sessions"],
                    DATABASE_LABELS[r["database"]],
                    page["title"] + (" (cold start)" if page.get("first_is_cold") else ""),
                    first,
                    page["rerun_seconds"],
                    page.get("filter_seconds", "–"),
                    page["payload_kb"],
                ]
            )
        rows.append(
            [
                r["sessions"],
                DATABASE_LABELS[r["database"]],
                "dashboard process peak RSS (MB)",
                "",
                "",
                "",
                r["dashboard"]["peak_mb"],
            ]
        )
    return markdown_table(
        [
            "sessions",
            "database",
            "page",
            "first visit (s)",
            "rerun (s)",
            "filter change (s)",
            "payload (KB)",
        ],
        rows,
    )


def browser_table(results: list[dict[str, Any]]) -> str:
    """Headless Chromium: from navigation to the page's last chart drawn."""
    rows = []
    for r in results:
        browser = r.get("browser")
        if not browser:
            continue
        if browser.get("skipped"):
            rows.append([r["sessions"], DATABASE_LABELS[r["database"]], browser["skipped"], "", ""])
            continue
        for page in browser["pages"]:
            rows.append(
                [
                    r["sessions"],
                    DATABASE_LABELS[r["database"]],
                    page["what"],
                    page["seconds"],
                    page["charts"],
                ]
            )
        rows.append(
            [
                r["sessions"],
                DATABASE_LABELS[r["database"]],
                "streamlit server peak RSS (MB)",
                browser["server_peak_mb"],
                "",
            ]
        )
    if not rows:
        return "(not measured in this run)"
    return markdown_table(
        ["sessions", "database", "navigation", "to last chart drawn (s)", "charts"], rows
    )


def targets_table(verdicts: Sequence[targets.Verdict]) -> str:
    """Issue 12's targets: the worst figure of each, its limit, met or missed."""
    rows = [
        [
            v.target.name,
            v.size,
            DATABASE_LABELS[v.database],
            v.measured_text(),
            v.target.limit_text(v.size),
            "met" if v.met else "**MISSED**",
        ]
        for v in verdicts
    ]
    if not rows:
        return "(no target is set at the sizes of this run)"
    return markdown_table(["target", "size", "database", "measured (worst)", "limit", ""], rows)


def profiles_section(profiles: Sequence[dict[str, Any]]) -> str:
    """Each missed target's profile: where the time (or the memory) went."""
    parts = []
    for profile in profiles:
        parts += [f"#### {profile['title']}", "", profile["intro"], ""]
        for table in profile["tables"]:
            if table["caption"]:
                parts += [table["caption"], ""]
            parts += [markdown_table(table["header"], table["rows"]), ""]
    return "\n".join(parts).rstrip() if parts else "Every target is met: no profile needed."


GROWTH_FIGURES = (
    ("import", lambda r: r["import"]["seconds"]),
    ("import floor", lambda r: r["import_floor"]["seconds"]),
    ("import peak RSS", lambda r: r["import"]["peak_mb"] - r["import"]["base_mb"]),
    ("load frames", lambda r: r["analysis"]["load_seconds"]),
    ("outcomes + comparisons", lambda r: r["analysis"]["seconds"]),
    ("analysis floor", lambda r: r["analysis"]["floor_seconds"]),
    ("analysis peak RSS", lambda r: r["analysis"]["peak_mb"] - r["analysis"]["base_mb"]),
    ("Overview cold start", lambda r: r["dashboard"]["cold_seconds"]),
    ("slowest page rerun", lambda r: max(p["rerun_seconds"] for p in r["dashboard"]["pages"])),
    ("dashboard peak RSS", lambda r: r["dashboard"]["peak_mb"]),
)


def growth_table(results: list[dict[str, Any]]) -> str:
    """How each figure grows from one size to the next, against the growth in sessions."""
    rows = []
    for database in dict.fromkeys(r["database"] for r in results):
        ordered = sorted(
            (r for r in results if r["database"] == database), key=lambda r: r["sessions"]
        )
        steps = list(itertools.pairwise(ordered))
        if not steps:
            continue
        for name, figure in GROWTH_FIGURES:
            cells: list[object] = [DATABASE_LABELS[database], name]
            for small, large in steps:
                sessions = large["sessions"] / small["sessions"]
                grew = figure(large) / figure(small) if figure(small) > 0 else float("nan")
                cells.append(f"x{grew:.1f} (sessions x{sessions:.1f})")
            rows.append(cells)
    sizes = sorted({r["sessions"] for r in results})
    header = ["database", "figure"] + [f"{a:,} -> {b:,}" for a, b in itertools.pairwise(sizes)]
    return markdown_table(header, rows) if rows else "(one size only: no growth to show)"


def full_report(
    results: list[dict[str, Any]],
    *,
    machine_line: str,
    command: str,
    date: str,
    verdicts: Sequence[targets.Verdict] = (),
    profiles: Sequence[dict[str, Any]] = (),
) -> str:
    """Every table with the machine, the date and the command that reproduces them."""
    return "\n".join(
        [
            f"Measured on {date} with `{command}`.",
            "",
            f"Machine: {machine_line}.",
            "",
            "### Targets (issue 12)",
            "",
            targets_table(verdicts),
            "",
            "### Import (read, map, validate, write) against its floor",
            "",
            import_table(results),
            "",
            "### Analysis against its floor",
            "",
            analysis_table(results),
            "",
            "### Dashboard pages (AppTest, signed in as an owner)",
            "",
            dashboard_table(results),
            "",
            "### Browser: headless Chromium, from navigation to the last chart drawn",
            "",
            browser_table(results),
            "",
            "### Growth from one size to the next (linear: the figure grows as the sessions do)",
            "",
            growth_table(results),
            "",
            "### Profiles of the missed targets",
            "",
            profiles_section(profiles),
        ]
    )


def write_into_docs(path: Path, report: str) -> None:
    """Replace the text between the bench markers of `path` with `report`."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path} has no {BEGIN} ... {END} section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{report}\n{END}{tail}")

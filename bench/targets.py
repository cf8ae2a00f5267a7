"""Issue 12's targets in one table, and the judging: measured figures in, check lines out.

`judge` is pure (no clock, no files): it takes the figures `bench.run` collected, one dict per
size and database, and returns one `Verdict` per target, size and database. A target is met
when the worst of its figures (e.g. the slowest page's rerun) is within the limit. A target
whose figure is missing or not a number counts as missed: a check that could not measure
must not pass. Sizes without a column in the table (2k, 10k) are not judged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Result = Mapping[str, Any]
DATABASE_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _pages(result: Result) -> list[Mapping[str, Any]]:
    return list(result.get("dashboard", {}).get("pages", []))


def _reruns(r: Result) -> list[tuple[str, float]]:
    return [(p["title"], p["rerun_seconds"]) for p in _pages(r)]


def _first_visits(r: Result) -> list[tuple[str, float]]:
    return [(p["title"], p["first_seconds"]) for p in _pages(r) if not p.get("first_is_cold")]


def _cold_start(r: Result) -> list[tuple[str, float]]:
    dashboard = r.get("dashboard", {})
    return [("Overview", dashboard["cold_seconds"])] if "cold_seconds" in dashboard else []


def _filter_changes(r: Result) -> list[tuple[str, float]]:
    return [(p["title"], p["filter_seconds"]) for p in _pages(r) if "filter_seconds" in p]


def _payloads(r: Result) -> list[tuple[str, float]]:
    return [(p["title"], p["payload_kb"]) for p in _pages(r)]


def _dashboard_rss(r: Result) -> list[tuple[str, float]]:
    dashboard = r.get("dashboard", {})
    return [("dashboard process", dashboard["peak_mb"])] if "peak_mb" in dashboard else []


def _import_ratio(r: Result) -> list[tuple[str, float]]:
    if "import" not in r or "import_floor" not in r:
        return []
    return [("import", r["import"]["seconds"] / r["import_floor"]["seconds"])]


def _analysis_ratio(r: Result) -> list[tuple[str, float]]:
    if "analysis" not in r:
        return []
    return [("analysis", r["analysis"]["seconds"] / r["analysis"]["floor_seconds"])]


def _import_rss(r: Result) -> list[tuple[str, float]]:
    return [("import process", r["import"]["peak_mb"])] if "import" in r else []


@dataclass(frozen=True)
class Target:
    """One row of issue 12's table: a figure, its unit, and its limit at each size."""

    key: str
    name: str
    unit: str
    limits: Mapping[str, float]  # size -> limit; a size not listed has no target
    figures: Callable[[Result], list[tuple[str, float]]]  # (what, value) of one result
    inclusive: bool = False  # "<=" rather than "<"
    profile: str = ""  # what `bench.stages.profile` runs to show why it was missed

    def limit_text(self, size: str) -> str:
        """The limit as the issue writes it, e.g. '< 0.3 s' or '<= 2x'."""
        limit = f"{self.limits[size]:,g}"
        unit = "x" if self.unit == "x" else f" {self.unit}"
        return f"{'<=' if self.inclusive else '<'} {limit}{unit}"


# Issue 12, "Targets": 2-core machine, figures from `python -m bench`.
TARGETS: tuple[Target, ...] = (
    Target("rerun", "every page's rerun", "s", {"100k": 0.3, "1m": 1.0}, _reruns, profile="rerun"),
    Target(
        "first_visit",
        "every page's first visit after the Overview's cold start",
        "s",
        {"100k": 1.0, "1m": 3.0},
        _first_visits,
        profile="first",
    ),
    Target(
        "cold_start",
        "the Overview's cold start",
        "s",
        {"100k": 2.0, "1m": 8.0},
        _cold_start,
        profile="cold",
    ),
    Target(
        "filter_change",
        "a sidebar filter change, then rerun, on each analytic page",
        "s",
        {"100k": 0.5, "1m": 2.0},
        _filter_changes,
        profile="filter",
    ),
    Target(
        "payload",
        "bytes a page sends to the browser",
        "KB",
        {"100k": 300.0, "1m": 300.0},
        _payloads,
        profile="payload",
    ),
    Target(
        "dashboard_rss",
        "the dashboard process's peak RSS",
        "MB",
        {"100k": 600.0, "1m": 1500.0},
        _dashboard_rss,
        profile="dashboard_memory",
    ),
    Target(
        "import_ratio",
        "import / its floor",
        "x",
        {"100k": 2.0, "1m": 2.0},
        _import_ratio,
        inclusive=True,
        profile="import",
    ),
    Target(
        "analysis_ratio",
        "analysis (outcomes + comparisons) / its floor",
        "x",
        {"100k": 3.0, "1m": 3.0},
        _analysis_ratio,
        inclusive=True,
        profile="analysis",
    ),
    Target(
        "import_rss", "import peak RSS", "MB", {"1m": 1500.0}, _import_rss, profile="import_memory"
    ),
)
TARGET_SIZES = ("100k", "1m")


@dataclass(frozen=True)
class Verdict:
    """One target at one size on one database: the worst figure, and whether it is met."""

    target: Target
    size: str
    database: str
    measured: float | None  # None: not measured
    worst: str  # which page or process gave the measured figure
    met: bool

    def line(self) -> str:
        """`target, measured, limit, ok/MISSED` as `python -m bench --check` prints it."""
        where = f"{self.target.name} [{self.size}, {DATABASE_LABELS[self.database]}]"
        return (
            f"{where}, {self.measured_text()}, {self.target.limit_text(self.size)}, "
            f"{'ok' if self.met else 'MISSED'}"
        )

    def measured_text(self) -> str:
        """The worst figure with its unit and where it was measured, e.g. '0.74 s (Techniques)'."""
        if self.measured is None:
            return "not measured"
        text = _number(self.measured, self.target.unit)
        return f"{text} ({self.worst})" if self.worst else text


def judge(results: Sequence[Result], targets: Sequence[Target] = TARGETS) -> list[Verdict]:
    """Every target that has a limit at a measured size, judged on each database's figures."""
    verdicts = []
    for result in results:
        size = result["size"]
        for target in targets:
            if size not in target.limits:
                continue
            figures = [(w, v) for w, v in target.figures(result) if _is_number(v)]
            if len(figures) < len(target.figures(result)) or not figures:
                verdicts.append(Verdict(target, size, result["database"], None, "", False))
                continue
            worst, value = max(figures, key=lambda figure: figure[1])
            limit = target.limits[size]
            met = value <= limit if target.inclusive else value < limit
            verdicts.append(Verdict(target, size, result["database"], value, worst, met))
    return verdicts


def check_lines(verdicts: Sequence[Verdict], sizes: Sequence[str]) -> list[str]:
    """The check's output: one line per verdict, a note on unjudged sizes, the count last."""
    lines = [v.line() for v in verdicts]
    unjudged = [s for s in sizes if s not in TARGET_SIZES]
    if unjudged:
        lines.append(
            f"no targets at {', '.join(unjudged)} (issue 12 sets them at "
            f"{' and '.join(TARGET_SIZES)} only)"
        )
    met = sum(v.met for v in verdicts)
    lines.append(f"bench check: {met}/{len(verdicts)} targets met")
    return lines


def exit_code(verdicts: Sequence[Verdict]) -> int:
    """0 when every judged target is met, else 1."""
    return 0 if all(v.met for v in verdicts) else 1


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:,.0f} {unit}"

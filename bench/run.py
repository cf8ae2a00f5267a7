"""The benchmark run: generate practices, measure every stage in a child process, print tables.

.venv/bin/python -m bench [--check] [--sizes 10k,100k,1m] [--databases sqlite,postgresql]
                          [--repeat 3] [--reruns 3] [--write-docs] [--json FILE]

--check judges the figures against issue 12's targets (bench/targets.py, at 100k and 1m),
prints one line per target and `bench check: N/M targets met`, profiles each missed target,
and exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import report, targets
from bench.stages import RESULT_PREFIX

ROOT = Path(__file__).resolve().parent.parent
# Sizes by the sessions they give; practice.sample draws about 6.3 sessions per client.
SIZES = {"2k": 320, "10k": 1_600, "100k": 16_000, "1m": 160_000}
SEED = 20261122
CHILD_ENVIRONMENT = {
    # A million-session export is about 250 MB, above the upload limit's default of 200 MB.
    "PRACTICE_MAX_UPLOAD_MB": "2048",
    "PRACTICE_SEED_SAMPLE": "0",
    "PRACTICE_ARGON2_TIME_COST": "1",
    "PRACTICE_ARGON2_MEMORY_KIB": "8",
    "OPENBLAS_NUM_THREADS": "1",  # as scripts/dashboard runs the dashboard
}
LARGE_CLIENTS = 100_000  # sizes above this are measured once (no repetitions)
BROWSER_CLIENTS = 16_000  # the browser is measured up to 100k sessions (issue 12)


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        default="10k,100k,1m",
        help=f"comma-separated sizes in sessions, of {', '.join(SIZES)} (default 10k,100k,1m)",
    )
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="sqlite, postgresql or both (default)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        help="repetitions of the import and analysis below 1m sessions, median reported "
        "(1m is measured once); default 3, or 1 with --check, so that --check --sizes 100k "
        "stays under 5 minutes (the analysis at least 3 below 1m)",
    )
    parser.add_argument("--reruns", type=int, default=3, help="reruns of each page (median)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="judge the figures against issue 12's targets (at 100k and 1m): one line per "
        "target, profile each missed one, exit 1 when one is missed",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="leave out headless Chromium (measured up to 100k, on the first database)",
    )
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="with --check or --write-docs, do not profile the missed targets (profiled "
        "otherwise, at the run's largest size, after the measurements)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PRACTICE_TEST_POSTGRES_URL"),
        help="an existing, disposable PostgreSQL database (its public schema is dropped); "
        "default: a throwaway cluster from the installed server binaries",
    )
    parser.add_argument("--workdir", type=Path, help="where the CSVs and SQLite files go")
    parser.add_argument(
        "--write-docs", action="store_true", help="put the tables into docs/performance.md"
    )
    parser.add_argument("--json", type=Path, help="also save every figure as JSON")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the stages in this process (quick, for the smoke test; peak memory is then "
        "the whole run's, not each stage's)",
    )
    return parser


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the benchmark; print the tables (and write them where asked); exit 1 on a miss."""
    args = build_parser().parse_args(argv)
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise SystemExit(f"unknown size(s) {unknown}; choose from {list(SIZES)}")
    if not sizes:
        raise SystemExit(f"--sizes names no size; choose from {list(SIZES)}")
    sizes = sorted(set(sizes), key=SIZES.__getitem__)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if not set(databases) <= set(report.DATABASE_LABELS):
        raise SystemExit(f"databases must be among {list(report.DATABASE_LABELS)}")
    started = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="headway-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results, profiles, postgres_version = measure_all(workdir, sizes, databases, args)
    finally:
        if args.workdir is None:  # a million sessions leave about 1 GB of files behind
            shutil.rmtree(workdir, ignore_errors=True)
    verdicts = targets.judge(results)
    text = report.full_report(
        results,
        machine_line=report.machine(postgres_version),
        command=reproducing_command(sys.argv[1:] if argv is None else argv),
        date=dt.date.today().isoformat(),
        verdicts=verdicts,
        profiles=profiles,
    )
    print()
    print(text)
    print(f"\nThe benchmark took {time.perf_counter() - started:.0f} s.")
    if args.write_docs:
        report.write_into_docs(ROOT / "docs" / "performance.md", text)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "profiles": profiles}, indent=1))
    if args.check:
        print()
        print("\n".join(targets.check_lines(verdicts, sizes)), flush=True)
        code = targets.exit_code(verdicts)
        if code:
            raise SystemExit(code)
    return results


# Options that say where files go, not what is measured: left out of the command shown.
_PLACE_OPTIONS = ("--json", "--workdir", "--postgres-url")


def reproducing_command(argv: list[str]) -> str:
    """The command line that reproduces the figures, without file and server locations."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _PLACE_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{o}=" for o in _PLACE_OPTIONS)):
            kept.append(shlex.quote(arg))
    return " ".join(["python -m bench", *kept])


def measure_all(
    workdir: Path, sizes: list[str], databases: list[str], args: argparse.Namespace
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """Every size on every database, the missed targets' profiles, the PostgreSQL version."""
    csvs = generate(workdir, sizes)
    results: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    postgres_version = None
    for database in databases:
        with database_urls(database, workdir, args.postgres_url) as url_for:
            if database == "postgresql":
                postgres_version = server_version(url_for("version"))
            for size in sizes:
                url = url_for(size)
                browser = not args.no_browser and database == databases[0]
                result = measure(database, size, csvs[size], url, args, browser=browser)
                results.append(result)
            # The largest size only: its database is the one still in place (PostgreSQL holds
            # one size at a time), and its profiles explain the misses that matter most.
            if (args.check or args.write_docs) and not args.no_profile:
                started = time.perf_counter()
                dashboard = database == databases[0]
                profiles += profile_misses(result, csvs[size], url, args, dashboard=dashboard)
                print(f"profiles took {time.perf_counter() - started:.0f} s", flush=True)
    return results, profiles, postgres_version


def profile_misses(
    result: dict[str, Any], csv: Path, url: str, args: argparse.Namespace, *, dashboard: bool
) -> list[dict[str, Any]]:
    """Profiles of the targets `result` misses (the dashboard's only when `dashboard`).

    The missed page targets share one walk over the pages in one child; each other missed
    target gets a child of its own.
    """
    run_stage = run_in_process if args.in_process else run_in_child
    pages = {p["title"]: p["page"] for p in result["dashboard"]["pages"]}
    requests, singles = [], []
    for verdict in targets.judge([result]):
        kind = verdict.target.profile
        if verdict.met or (not dashboard and kind not in PER_DATABASE_PROFILES):
            continue
        title = verdict.line().rsplit(", ", 1)[0]
        print(f"profiling: {title}", flush=True)
        if kind in PAGE_PROFILES:
            page = pages.get(verdict.worst, "pages/0_Overview.py")
            requests.append({"action": kind, "page": page, "title": title})
        else:
            singles.append({"kind": kind, "url": url, "csv": str(csv), "title": title})
    profiles = []
    if requests:
        profiles += run_stage("profile", kind="dashboard", url=url, requests=requests)["profiles"]
    for arguments in singles:
        profiles += run_stage("profile", **arguments)["profiles"]
    return profiles


# The dashboard behaves alike on both databases: its targets are profiled on the first only,
# except the cold start, whose first step (reading the frames) is each database's own.
PER_DATABASE_PROFILES = ("import", "import_memory", "analysis", "cold")
PAGE_PROFILES = ("cold", "first", "rerun", "filter", "payload")


def generate(workdir: Path, sizes: list[str]) -> dict[str, Path]:
    """One sample practice CSV per size (the same seed, so every run sees the same data)."""
    from practice.sample import write_sample_csv

    csvs = {}
    for size in sizes:
        path = workdir / f"practice-{size}.csv"
        started = time.perf_counter()
        sessions = write_sample_csv(path, SIZES[size], SEED)
        mb = path.stat().st_size / 1e6
        print(
            f"generated {size}: {SIZES[size]:,} clients, {sessions:,} sessions, {mb:.0f} MB "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        csvs[size] = path
    return csvs


@contextlib.contextmanager
def database_urls(database: str, workdir: Path, postgres_url: str | None) -> Iterator[Any]:
    """A function from a size to a database URL: a SQLite file each, or one PostgreSQL."""
    if database == "sqlite":
        yield lambda size: f"sqlite:///{workdir / f'bench-{size}.sqlite3'}"
        return
    if postgres_url:
        yield lambda size: postgres_url
        return
    from tests.conftest import throwaway_postgres

    with throwaway_postgres() as url:
        yield lambda size: url


def server_version(url: str) -> str:
    """The PostgreSQL server's version number."""
    from practice import db

    engine = db.create_engine_for(url)
    with engine.connect() as conn:
        version = str(conn.exec_driver_sql("SHOW server_version").scalar_one())
    engine.dispose()
    return version.split()[0]


def measure(
    database: str, size: str, csv: Path, url: str, args: argparse.Namespace, *, browser: bool
) -> dict[str, Any]:
    """Every stage of one size on one database, each in fresh child processes."""
    asked = args.repeat if args.repeat is not None else (1 if args.check else 3)
    repeat = 1 if SIZES[size] > LARGE_CLIENTS else max(asked, 1)
    label = f"{size} on {report.DATABASE_LABELS[database]}"
    run_stage = run_in_process if args.in_process else run_in_child
    imports = [run_stage("import", csv=str(csv), url=url) for _ in range(repeat)]
    floors = [run_stage("import_floor", csv=str(csv), url=url) for _ in range(repeat)]
    imported = median_run(imports)
    floor = median_run(floors)
    print(
        f"{label}: import {imported['seconds']:.2f} s, floor {floor['seconds']:.2f} s, "
        f"peak {imported['peak_mb']:.0f} MB",
        flush=True,
    )
    # The analysis repeats in one process and costs about a second below 1m: a median of three
    # even under --check, so that one run's first-call costs do not stand for its speed.
    analysis_repeat = repeat if SIZES[size] > LARGE_CLIENTS else max(repeat, 3)
    analysed = run_stage("analysis", url=url, repeat=analysis_repeat)
    print(
        f"{label}: load {analysed['load_seconds']:.2f} s, analysis {analysed['seconds']:.2f} s, "
        f"floor {analysed['floor_seconds']:.2f} s",
        flush=True,
    )
    pages = run_stage("dashboard", url=url, reruns=args.reruns)
    slowest = max(p["rerun_seconds"] for p in pages["pages"])
    print(
        f"{label}: Overview cold {pages['cold_seconds']:.2f} s, slowest rerun {slowest:.2f} s, "
        f"peak {pages['peak_mb']:.0f} MB",
        flush=True,
    )
    extra = {}
    if browser and SIZES[size] <= BROWSER_CLIENTS:
        extra["browser"] = run_stage("browser", url=url)
        drawn = extra["browser"].get("pages", [])
        slowest_drawn = max((p["seconds"] for p in drawn), default=float("nan"))
        print(f"{label}: browser, slowest page {slowest_drawn:.2f} s", flush=True)
    return {
        **extra,
        "size": size,
        "database": database,
        "sessions": imported["sessions"],
        "import": imported,
        "import_runs": imports,
        "import_floor": floor,
        "analysis": analysed,
        "dashboard": pages,
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time, its peak memory replaced by the largest of all runs."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["peak_mb"] = max(r["peak_mb"] for r in runs)
    return chosen


def stage_environment(arguments: dict[str, Any]) -> dict[str, str]:
    """The settings a stage runs with: the database it measures, no sample, cheap hashes."""
    env = dict(CHILD_ENVIRONMENT)
    if "url" in arguments:
        env["PRACTICE_DATABASE_URL"] = arguments["url"]
    return env


def run_in_process(stage: str, **arguments: Any) -> dict[str, Any]:
    """Run one stage here, with its settings in the environment while it runs."""
    from bench.stages import STAGES

    saved = {name: os.environ.get(name) for name in stage_environment(arguments)}
    os.environ.update(stage_environment(arguments))
    try:
        return STAGES[stage](**arguments)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_in_child(stage: str, **arguments: Any) -> dict[str, Any]:
    """Run one stage in a fresh interpreter and return the figures it printed."""
    env = {**os.environ, **stage_environment(arguments)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "bench.stages", stage, json.dumps(arguments)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [x for x in completed.stdout.splitlines() if x.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(
            f"bench stage {stage} failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return result

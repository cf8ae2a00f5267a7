"""How long each dashboard page takes on a large generated practice (AppTest, no browser).

    .venv/bin/python bench/page_reruns.py --clients 15000   # about 100,000 sessions

Prints, per page, the first run (cold caches: loading and analysing everything) and the mean
of a few reruns (what a click costs once the caches are warm). Figures only; no assertion.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = [
    "app.py",
    "pages/1_Client_Progress.py",
    "pages/2_Techniques.py",
    "pages/3_Therapists.py",
    "pages/4_Import_Data.py",
]


def main() -> None:
    """Generate, import, then time every page."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=15_000)
    parser.add_argument("--reruns", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="headway-bench-"))
    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.update(
        PRACTICE_DATABASE_URL=url,
        PRACTICE_SEED_SAMPLE="0",
        PRACTICE_ARGON2_TIME_COST="1",
        PRACTICE_ARGON2_MEMORY_KIB="8",
    )

    from practice import auth
    from practice.bootstrap import open_database
    from practice.importing import import_paths
    from practice.sample import write_sample_csv

    csv = workdir / "practice.csv"
    sessions = write_sample_csv(csv, args.clients, 7)
    started = time.perf_counter()
    engine = open_database(url)
    import_paths(engine, [csv])
    with engine.begin() as conn:
        auth.add_user(conn, "bench", "owner", "bench-password")
    print(
        f"{sessions:,} sessions of {args.clients:,} clients imported in "
        f"{time.perf_counter() - started:.1f} s"
    )
    print(f"{'page':32} {'first run (s)':>14} {'rerun (s)':>10}")
    for page in PAGES:
        first, rerun = time_page(page, args.reruns)
        print(f"{page:32} {first:14.2f} {rerun:10.2f}")


def time_page(page: str, reruns: int) -> tuple[float, float]:
    """Seconds of the first run (cold caches) and the mean of `reruns` reruns."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    from practice.auth import SignedInUser

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["user"] = SignedInUser("bench", "owner")
    at.run()
    started = time.perf_counter()
    at.switch_page(page).run()
    first = time.perf_counter() - started
    if at.exception or at.error:
        problem = at.exception[0].message if at.exception else at.error[0].value
        raise SystemExit(f"{page} did not draw: {problem}")
    if at.exception:
        raise SystemExit(f"{page} failed: {at.exception[0].message}")
    times = []
    for _ in range(reruns):
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
    return first, statistics.mean(times)


if __name__ == "__main__":
    main()

"""Before/after agreement of the analysis: every outcome column and every group comparison.

    .venv/bin/python scripts/compare_analysis.py save BEFORE.pkl [CSV ...]
    (change the analysis)
    .venv/bin/python scripts/compare_analysis.py compare BEFORE.pkl [CSV ...]

Each CSV (default: data/sample.csv) is imported into a throwaway SQLite database and read
back as the app reads it; then `compute_client_outcomes` and `compare_groups` (every `by`,
measure and population) and `adjusted_differences` run on it. `compare` fails unless every
frame has the same rows, columns, dtypes and missing values, every other value is equal, and
every float agrees to RTOL relative; it prints how many floats are not bitwise equal.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from practice import analysis, db, queries  # noqa: E402
from practice.analysis._common import GROUPINGS, MEASURES  # noqa: E402
from practice.analysis.populations import POPULATIONS  # noqa: E402
from practice.importing import prepare_batch, write_batch  # noqa: E402

RTOL = 1e-9


def load(csv: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clients and sessions of `csv`, imported into a new SQLite file and fetched back."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.create_engine_for(f"sqlite:///{tmp}/compare.sqlite3")
        db.upgrade_schema(engine)
        write_batch(engine, prepare_batch([(csv.name, csv.read_bytes())]), source="compare")
        with engine.connect() as conn:
            frames = queries.fetch_clients(conn), queries.fetch_sessions(conn)
        engine.dispose()
    return frames


def outputs(clients: pd.DataFrame, sessions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every frame compared: the outcomes, then each comparison by name."""
    outcomes = analysis.compute_client_outcomes(clients, sessions)
    out = {"outcomes": outcomes}
    for by in GROUPINGS:
        for measure in MEASURES:
            for population in POPULATIONS:
                name = f"compare_groups by={by} measure={measure.key} population={population}"
                out[name] = analysis.compare_groups(
                    outcomes, by=by, measure=measure.key, population=population
                )
                if by != "technique_exposure":
                    out[name.replace("compare_groups", "adjusted_differences")] = (
                        analysis.adjusted_differences(
                            outcomes, by=by, measure=measure.key, population=population
                        )
                    )
    return out


def differences(before: pd.DataFrame, after: pd.DataFrame) -> tuple[list[str], int, float]:
    """Problems found, floats not bitwise equal, and the largest relative difference."""
    if list(before.columns) != list(after.columns):
        return [f"columns differ: {list(before.columns)} != {list(after.columns)}"], 0, 0.0
    if not before.index.equals(after.index):
        return ["rows differ"], 0, 0.0
    problems, moved, worst = [], 0, 0.0
    for column in before.columns:
        a, b = before[column], after[column]
        if a.dtype != b.dtype:
            problems.append(f"{column}: dtype {a.dtype} != {b.dtype}")
            continue
        if not a.isna().equals(b.isna()):
            problems.append(f"{column}: missing values in other places")
            continue
        if pd.api.types.is_float_dtype(a.dtype):
            x, y = a.to_numpy(float), b.to_numpy(float)
            known = ~np.isnan(x)
            x, y = x[known], y[known]
            moved += int((x != y).sum())
            scale = np.maximum(np.abs(x), np.abs(y))
            relative = np.where(x == y, 0.0, np.abs(x - y) / np.where(scale > 0, scale, 1.0))
            if len(relative):
                worst = max(worst, float(relative.max()))
            if (relative > RTOL).any():
                problems.append(f"{column}: relative difference {relative.max():.3g} > {RTOL}")
        elif not a.equals(b):
            problems.append(f"{column}: values differ")
    return problems, moved, worst


def main(argv: list[str]) -> int:
    """Save or compare the outputs on each CSV given (default data/sample.csv)."""
    command, path, *csvs = argv
    results = {}
    for csv in csvs or [str(ROOT / "data" / "sample.csv")]:
        clients, sessions = load(Path(csv))
        for name, frame in outputs(clients, sessions).items():
            results[f"{Path(csv).name}: {name}"] = frame
    if command == "save":
        Path(path).write_bytes(pickle.dumps(results))
        print(f"saved {len(results)} frames to {path}")
        return 0
    before = pickle.loads(Path(path).read_bytes())  # noqa: S301 (our own file)
    failed, moved_total, worst_total = 0, 0, 0.0
    if set(before) != set(results):
        print("different frames:", sorted(set(before) ^ set(results)))
        failed += 1
    for name in sorted(set(before) & set(results)):
        problems, moved, worst = differences(before[name], results[name])
        moved_total += moved
        worst_total = max(worst_total, worst)
        if moved:
            print(f"{name}: {moved} floats not bitwise equal, largest relative {worst:.3g}")
        for problem in problems:
            print(f"FAIL {name}: {problem}")
        failed += bool(problems)
    print(
        f"{len(results)} frames compared; {failed} differ beyond {RTOL} relative; "
        f"{moved_total} floats not bitwise equal; largest relative difference {worst_total:.3g}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

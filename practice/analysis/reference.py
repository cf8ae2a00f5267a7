"""Practice-wide reference values: what a client's labels are judged against.

A client's reliable change, status (ongoing or dropout) and alerts depend on a few values
computed from the whole practice: the spread of baselines (Jacobson & Truax 1991), the
date "now" is judged at and the practice's usual interval between sessions. They are computed
once, on every client of the practice, before any view is narrowed to one therapist's
caseload; the narrowed analysis receives them, so that a client gets the same labels and
alerts for every user allowed to see that client (docs/metrics.md, "Reliable change").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

from practice import config


@dataclass(frozen=True)
class ReferenceValues:
    """Values computed on the whole practice that every narrower view is judged against."""

    as_of: pd.Timestamp | None
    usual_interval_days: float
    baseline_sd: dict[str, float] = field(default_factory=dict)
    baseline_n: dict[str, int] = field(default_factory=dict)
    reliability: dict[str, float] = field(default_factory=lambda: dict(config.RELIABILITY))

    def change_error(self, key: str) -> float:
        """Jacobson & Truax 1991: SE of a difference = SD_baseline * sqrt(2) * sqrt(1 - r).

        NaN when it cannot be computed (fewer than 2 clients with a baseline, no spread):
        a change is then "not enough data to judge", never "no clear change".
        """
        sd = self.baseline_sd.get(key, math.nan)
        error = sd * math.sqrt(2) * math.sqrt(1 - self.reliability[key])
        return error if error > 0 else math.nan


def baseline_spread(
    client_ids: pd.Series, baselines: pd.DataFrame
) -> tuple[dict[str, float], dict[str, int]]:
    """Per measure column: SD (ddof 1) of one baseline per client and how many clients had one.

    `baselines` holds one column per measure key, rows sorted by client and series: a client's
    baseline is that of their earliest series with one.
    """
    client = client_ranks(client_ids)
    per_client = baselines.groupby(client).first()
    counts = per_client.notna().sum()
    sds = per_client.std(ddof=1).where(counts >= 2)
    return (
        {key: float(sds[key]) for key in baselines.columns},
        {key: int(counts[key]) for key in baselines.columns},
    )


def client_ranks(client_ids: pd.Series) -> np.ndarray:
    """Each row's client rank in text order: pd.factorize(sort=True)'s codes."""
    if isinstance(client_ids.array, ArrowStringArray):
        ids = pa.array(client_ids.array)
        if ids.null_count == 0 and len(ids) > 1:
            changes = pc.not_equal(ids[1:], ids[:-1])
            # Rows sorted by client (sessions as fetched, series as listed): the ranks are
            # counted where the id changes (Arrow compares text bytewise, the order factorize
            # sorts in) instead of hashing every id.
            if pc.all(pc.or_(pc.less(ids[:-1], ids[1:]), pc.invert(changes))).as_py():
                ranks = np.zeros(len(ids), dtype=np.intp)
                np.cumsum(changes.to_numpy(zero_copy_only=False), out=ranks[1:])
                return ranks
    return pd.factorize(client_ids, sort=True)[0]


def usual_interval(intervals: np.ndarray) -> float:
    """The practice's median days between consecutive attended sessions of a series, from
    each attended session's days since the series' previous one (NaN at a series' first)."""
    value = pd.Series(intervals).median()
    return float(value) if pd.notna(value) else np.nan


def compute_reference_values(
    clients: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    gap_days: int | None = None,
    as_of: object = None,
) -> ReferenceValues:
    """The reference values of the whole practice given (pass every client, unscoped)."""
    from practice.analysis.outcomes import compute_outcomes_and_reference

    return compute_outcomes_and_reference(clients, sessions, gap_days=gap_days, as_of=as_of)[1]

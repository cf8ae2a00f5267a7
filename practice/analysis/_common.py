"""Shared pieces of the analysis: the measures, argument checks and interval helpers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from practice import config

# Every interval Headway reports is a two-sided 95 % interval.
CONFIDENCE = 0.95
# Tolerance for comparing a percent change with a threshold (0.3 * 7 is not exactly 2.1).
EPS = 1e-9
# The label of a group whose value was not recorded (no therapist, headache type, technique).
NOT_RECORDED = "not recorded"
# Values that t_interval takes and returns alike: a Series, or a numpy array.
Numbers = TypeVar("Numbers", pd.Series, np.ndarray)


@dataclass(frozen=True)
class Measure:
    """One outcome measure: where its baseline and its session reports come from."""

    key: str
    label: str
    intake_column: str
    session_column: str | None = None
    weekly_column: str | None = None  # a 7-day count, scaled by 4 to a 28-day count
    lower_is_better: bool = True

    @property
    def windowed(self) -> bool:
        """Counts per 28 days are averaged over the last 28 days of reports."""
        return self.weekly_column is not None

    @property
    def columns(self) -> tuple[str, ...]:
        """The session columns this measure reads."""
        return tuple(c for c in (self.session_column, self.weekly_column) if c is not None)


MEASURES: tuple[Measure, ...] = (
    Measure(
        "hd28",
        "headache days per 28 days",
        "baseline_headache_days_28d",
        "headache_days_28d",
        "headache_days_7d",
    ),
    Measure("pain", "pain (0-10)", "baseline_pain", "pain_pre"),
    Measure(
        "medication_days",
        "medication days per 28 days",
        "baseline_medication_days_28d",
        None,
        "medication_days_7d",
    ),
    Measure("hit6", "HIT-6", "baseline_hit6", "hit6"),
    Measure("midas", "MIDAS", "baseline_midas", "midas"),
    Measure("stress", "stress (0-10)", "baseline_stress", "stress"),
    # Sleep quality is scored 0 (worst) to 10 (best): higher is better.
    Measure(
        "sleep_quality",
        "sleep quality (0-10)",
        "baseline_sleep_quality",
        "sleep_quality",
        lower_is_better=False,
    ),
)
MEASURES_BY_KEY: dict[str, Measure] = {m.key: m for m in MEASURES}

# The headline responder flag of each measure (None: no published responder rule).
RESPONDER_COLUMNS: dict[str, str | None] = {
    "hd28": "hd28_responder_50",
    "pain": "pain_responder_30",
    "medication_days": None,
    "hit6": "hit6_responder",
    "midas": "midas_responder",
    "stress": None,
    "sleep_quality": None,
}

# Group comparisons: the `by` argument and the outcome column it groups on.
GROUPINGS: dict[str, str] = {
    "primary_technique": "primary_technique",
    "technique": "primary_technique",
    "technique_exposure": "exposure_techniques",
    "therapist": "therapist",
    "location": "location",
    "headache_type": "headache_type",
}


def pain_reduced(change: pd.Series, baseline: pd.Series, fraction: float) -> pd.Series:
    """True where pain fell by at least `fraction` of a baseline above 0 (IMMPACT / Farrar
    2001: 30 % is moderately important), and by config.PAIN_RESPONDER_MIN_POINTS when that
    option is set. One rule for the responder flag, meaningful change, time to response and
    the off-track alert."""
    pct = 100 * change / baseline.where(baseline > 0)
    met = pct <= -100 * fraction + EPS
    if config.PAIN_RESPONDER_MIN_POINTS > 0:
        met &= change <= -config.PAIN_RESPONDER_MIN_POINTS + EPS
    return met


def require_frame(value: object, name: str, columns: Iterable[str] = ()) -> pd.DataFrame:
    """`value` itself when it is a DataFrame with `columns`, else a ValueError naming `name`."""
    if not isinstance(value, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(value).__name__}")
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise ValueError(f"{name} is missing columns {missing}")
    return value


def require_choice(value: object, name: str, choices: Iterable[str]) -> str:
    """`value` when it is one of `choices`, else a ValueError naming `name`."""
    allowed = list(choices)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def require_measure(measure: object) -> Measure:
    """The Measure called `measure`, else a ValueError naming the argument."""
    return MEASURES_BY_KEY[require_choice(measure, "measure", MEASURES_BY_KEY)]


def group_column(by: object) -> str:
    """The outcome column behind a `by` argument."""
    return GROUPINGS[require_choice(by, "by", GROUPINGS)]


def canonical_by(by: str) -> str:
    """`by` with the alias "technique" spelled out as "primary_technique"."""
    return "primary_technique" if by == "technique" else by


def t_interval(mean: Numbers, sd: Numbers, n: Numbers) -> tuple[Numbers, Numbers]:
    """Student-t 95 % interval of a mean; NaN where n < 2 (no spread to estimate).

    Series in, Series out; numpy arrays in, arrays out (the same numbers either way).
    """
    n_float = np.asarray(n, dtype="float64")
    df = np.where(n_float >= 2, n_float - 1, np.nan)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, df) * sd / np.sqrt(n_float)
    return mean - half, mean + half


def wilson_interval(count: pd.Series, nobs: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Wilson score 95 % interval of a proportion (Wilson 1927); NaN where nobs is 0."""
    low, high = wilson_bounds(count.to_numpy(float), nobs.to_numpy(float))
    return pd.Series(low, index=count.index), pd.Series(high, index=count.index)


def wilson_bounds(count: np.ndarray, nobs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`wilson_interval` of numpy arrays."""
    low = np.full(len(count), np.nan)
    high = np.full(len(count), np.nan)
    ok = nobs > 0
    if ok.any():
        low[ok], high[ok] = proportion_confint(
            count[ok], nobs[ok], alpha=1 - CONFIDENCE, method="wilson"
        )
    return low, high


def normal_quantile(level: float) -> float:
    """The two-sided standard-normal quantile of a coverage `level` (0.95 -> 1.96)."""
    return float(stats.norm.ppf(0.5 + level / 2))


def label_groups(values: pd.Series) -> pd.Series:
    """Group labels as text, with missing values labelled "not recorded"."""
    codes, labels = label_codes(values)
    return pd.Series(labels[codes], index=values.index, name=values.name, dtype=object)


def label_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """`label_groups(values)` as codes into its distinct labels in sorted order, and those."""
    # Each distinct value is labelled once; the codes then spread the labels over the rows.
    codes, uniques = pd.factorize(values)
    if all(isinstance(u, str) and u.isascii() and u.isprintable() for u in uniques):
        # Printable ASCII text can only be padded with spaces, which every strip removes:
        # Python's strip on a handful of values, not pandas' on a Series of them.
        labels = np.array([u.strip() or NOT_RECORDED for u in uniques], dtype=object)
    else:
        text = pd.Series(uniques, dtype=object).astype("string").str.strip()
        labels = text.mask(text.isna() | text.eq(""), NOT_RECORDED).to_numpy(object)
    labels = np.append(labels, NOT_RECORDED)  # code -1 (missing): the last entry
    names, inverse = np.unique(labels, return_inverse=True)
    return inverse[codes], names


def default_reference(groups: pd.Series, client_ids: pd.Series) -> str | None:
    """The group with the most clients ("not recorded" only if alone); ties alphabetical."""
    return largest_group(client_ids.groupby(groups).nunique())


def largest_group(counts: pd.Series) -> str | None:
    """The group (index of `counts`, clients per group) with the most clients ("not
    recorded" only if alone); ties alphabetical."""
    if counts.empty:
        return None
    names, n = counts.index.to_numpy(object), counts.to_numpy()
    named = names != NOT_RECORDED
    if named.any():
        names, n = names[named], n[named]
    return str(min(names[n == n.max()]))


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    """An empty frame with `columns`."""
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})


def json_ready(value: Any) -> Any:
    """`value` with numpy scalars as Python numbers and NaN/NA/NaT as None, recursively."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return None if math.isnan(number) or math.isinf(number) else number
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value

"""The practice summary behind `python -m practice summary`: a JSON-ready dict and a flat table.

Contract (keys are stable; more may be added; None where a value cannot be computed; never
NaN): {"population", "by", "reference", "groups": [{"group", "n_clients",
"hd28": {"n", "baseline_mean", "last_mean", "change_mean", "change_ci", "responders_50",
"responder_rate_50", "responder_rate_50_ci", "adjusted_difference", "adjusted_difference_ci"},
"pain": {... the same with responders_30, responder_rate_30, responder_rate_30_ci}}]}.
An interval is [low, high] or None. The reference group has adjusted_difference 0 and
adjusted_difference_ci None.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from practice import config
from practice.analysis._common import (
    MEASURES_BY_KEY,
    json_ready,
    require_choice,
)
from practice.analysis.groups import compare_groups, grouped_rows, resolve_reference
from practice.analysis.outcomes import compute_client_outcomes
from practice.analysis.populations import POPULATIONS, select_population

SUMMARY_BY = ("technique", "therapist", "headache_type")
# The measures of the summary and the responder level each reports.
SUMMARY_MEASURES = {"hd28": "50", "pain": "30"}


def build_summary(
    clients: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    by: str = "technique",
    population: str = "all",
    reference: str | None = None,
    gap_days: int | None = None,
    as_of: object = None,
) -> dict[str, Any]:
    """The summary dict (contract in the module docstring) of groups `by` in `population`."""
    require_choice(by, "by", SUMMARY_BY)
    require_choice(population, "population", POPULATIONS)
    outcomes = compute_client_outcomes(clients, sessions, gap_days=gap_days, as_of=as_of)
    return summarise_outcomes(outcomes, by=by, population=population, reference=reference)


def summarise_outcomes(
    outcomes: pd.DataFrame,
    *,
    by: str = "technique",
    population: str = "all",
    reference: str | None = None,
) -> dict[str, Any]:
    """The summary dict from already computed client outcomes."""
    require_choice(by, "by", SUMMARY_BY)
    selected = select_population(outcomes, population)
    rows = grouped_rows(selected, by)
    if rows.empty and reference is not None:
        raise ValueError(f"reference {reference!r} given, but no client is in {population!r}")
    ref = resolve_reference(rows, reference) if not rows.empty else None
    tables = {
        key: compare_groups(
            selected, by=by, measure=key, population=population, reference=ref
        ).set_index("group")
        for key in SUMMARY_MEASURES
    }
    first = tables["hd28"]
    groups = [
        {
            "group": str(group),
            "n_clients": first.at[group, "n_clients"],
            "n_series": first.at[group, "n_series"],
            "small_n": first.at[group, "small_n"],
            "is_reference": group == ref,
            **{key: _block(tables[key].loc[group], key) for key in SUMMARY_MEASURES},
        }
        for group in first.index  # one entry per group, a handful
    ]
    summary = {
        "population": population,
        "by": by,
        "reference": ref,
        "n_clients": selected["client_id"].nunique(),
        "n_series": len(selected),
        "min_group_n": config.MIN_GROUP_N,
        "measures": {key: MEASURES_BY_KEY[key].label for key in SUMMARY_MEASURES},
        "groups": groups,
    }
    return json_ready(summary)


def _interval(low: object, high: object) -> list[object] | None:
    """[low, high], or None when either end cannot be computed."""
    return None if pd.isna(low) or pd.isna(high) else [low, high]


def _block(row: pd.Series, key: str) -> dict[str, object]:
    """One measure's part of a group entry."""
    level = SUMMARY_MEASURES[key]
    return {
        "n": row["n"],
        "baseline_mean": row["baseline_mean"],
        "last_mean": row["latest_mean"],
        "change_mean": row["change_mean"],
        "change_ci": _interval(row["change_ci_low"], row["change_ci_high"]),
        f"responders_{level}": row["responders"],
        f"responder_rate_{level}": row["responder_rate"],
        f"responder_rate_{level}_ci": _interval(
            row["responder_rate_ci_low"], row["responder_rate_ci_high"]
        ),
        "adjusted_difference": row["adjusted_difference"],
        "adjusted_difference_ci": _interval(
            row["adjusted_difference_ci_low"], row["adjusted_difference_ci_high"]
        ),
        "adjusted_p_value": row["adjusted_p_value"],
        "adjusted_n": row["adjusted_n"],
    }


def _block_names(level: str) -> list[str]:
    """The keys of one measure's block, in order."""
    return [
        "n",
        "baseline_mean",
        "last_mean",
        "change_mean",
        "change_ci",
        f"responders_{level}",
        f"responder_rate_{level}",
        f"responder_rate_{level}_ci",
        "adjusted_difference",
        "adjusted_difference_ci",
        "adjusted_p_value",
        "adjusted_n",
    ]


def summary_columns() -> list[str]:
    """The columns of summary_table, in order: an interval becomes `<name>_low`/`<name>_high`."""
    columns = [
        "population",
        "by",
        "reference",
        "group",
        "n_clients",
        "n_series",
        "small_n",
        "is_reference",
    ]
    for key, level in SUMMARY_MEASURES.items():
        for name in _block_names(level):
            ends = ["_low", "_high"] if name.endswith("_ci") else [""]
            columns += [f"{key}_{name}{end}" for end in ends]
    return columns


def summary_table(summary: dict[str, Any]) -> pd.DataFrame:
    """The summary as a flat table, one row per group (for --format table and csv)."""
    if not isinstance(summary, dict) or not {"population", "by", "groups"} <= set(summary):
        raise ValueError("summary must be a dict returned by build_summary")
    records = []
    for entry in summary["groups"]:  # one record per group, a handful
        record = {
            "population": summary["population"],
            "by": summary["by"],
            "reference": summary.get("reference"),
            **{
                k: entry.get(k)
                for k in ("group", "n_clients", "n_series", "small_n", "is_reference")
            },
        }
        for key in SUMMARY_MEASURES:
            for name, value in entry[key].items():
                if isinstance(value, list) or (name.endswith("_ci") and value is None):
                    low, high = value if value is not None else (None, None)
                    record[f"{key}_{name}_low"], record[f"{key}_{name}_high"] = low, high
                else:
                    record[f"{key}_{name}"] = value
        records.append(record)
    columns = summary_columns()
    if not records:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return pd.DataFrame.from_records(records, columns=columns)

"""The practice summary behind `python -m practice summary`: a JSON-ready dict and a flat table.

Contract (keys are stable; more may be added; None where a value cannot be computed; never
NaN): {"population", "by", "reference", "groups": [{"group", "n_clients",
"hd28": {"n", "baseline_mean", "last_mean", "change_mean", "change_ci", "followup_n",
"followup_mean", "followup_change_mean", "followup_change_ci", "responders_50",
"responder_rate_50", "responder_rate_50_ci", "adjusted_difference", "adjusted_difference_ci"},
"pain": {... the same with responders_30, responder_rate_30, responder_rate_30_ci}}]}.
An interval is [low, high] or None. The reference group has adjusted_difference 0 and
adjusted_difference_ci None.

Added since: top-level "at", "at_days", "at_window_days" (the time point, None without one);
per measure "baseline_sd", "last_sd", "change_sd", "unadjusted_difference" (group minus
reference in mean change), "unadjusted_difference_ci", "adjusted_covariates" (the model's
terms) and the "at_" keys (the same figures at the time point; None without one);
"responders_50_denominator" / "responders_30_denominator" (the count each responder rate and
its interval are over); per group "label" (the group's display label; "group" stays the key);
top-level "reference_label" and "empty_reason" (why no group is shown, naming the rule; None
when there are groups); per
measure "baseline_from_diary", "baseline_from_intake", "baseline_from_first_report",
"last_from_diary", "last_from_sessions" (how many of the n series took that figure from where:
a headache diary wins over reported figures, practice.analysis.diary).
docs/metrics.md lists every key.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from practice import config
from practice.analysis._common import (
    MEASURES_BY_KEY,
    json_ready,
    require_choice,
)
from practice.analysis.diary import SOURCE_COUNT_NAMES, count_sources
from practice.analysis.groups import compare_groups, grouped_rows, resolve_reference
from practice.analysis.labels import POPULATION_LABELS, group_label
from practice.analysis.outcomes import compute_client_outcomes
from practice.analysis.populations import POPULATIONS, empty_reason, select_population
from practice.analysis.timepoints import parse_time_point

SUMMARY_BY = ("technique", "therapist", "location", "headache_type")
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
    at: object = None,
    diary: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The summary dict (contract in the module docstring) of groups `by` in `population`;
    with `at` ("3m", "12w") each measure is also reported at that time point. `diary`: the
    headache diary days, whose figures win over reported ones (practice.analysis.diary)."""
    require_choice(by, "by", SUMMARY_BY)
    require_choice(population, "population", POPULATIONS)
    point = parse_time_point(at) if at is not None else None
    outcomes = compute_client_outcomes(
        clients, sessions, gap_days=gap_days, as_of=as_of, diary=diary
    )
    at_outcomes = None
    if point is not None:
        at_outcomes = compute_client_outcomes(
            clients, sessions, gap_days=gap_days, as_of=as_of, at=point, diary=diary
        )
    return summarise_outcomes(
        outcomes,
        by=by,
        population=population,
        reference=reference,
        at=point,
        at_outcomes=at_outcomes,
    )


def summarise_outcomes(
    outcomes: pd.DataFrame,
    *,
    by: str = "technique",
    population: str = "all",
    reference: str | None = None,
    at: object = None,
    at_outcomes: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The summary dict from already computed client outcomes (and, for a time point `at`,
    the outcomes computed with `compute_client_outcomes(..., at=at)`)."""
    require_choice(by, "by", SUMMARY_BY)
    point = parse_time_point(at) if at is not None else None
    if (point is None) != (at_outcomes is None):
        raise ValueError("at and at_outcomes go together: give both or neither")
    selected = select_population(outcomes, population)
    rows = grouped_rows(selected, by)
    reason = empty_reason(outcomes, population) if rows.empty else None
    if rows.empty and reference is not None:
        raise ValueError(
            f"reference {reference!r} given, but nobody is counted "
            f'("{POPULATION_LABELS[population].lower()}"): {reason}'
        )
    ref = resolve_reference(rows, reference, by) if not rows.empty else None
    tables = _tables(selected, by, population, ref)
    at_tables = (
        _tables(select_population(at_outcomes, population), by, population, ref)
        if at_outcomes is not None
        else None
    )
    first = tables["hd28"]
    sources = {key: count_sources(rows, key) for key in SUMMARY_MEASURES}
    groups = [
        {
            "group": str(group),
            "label": group_label(group, by),
            "n_clients": first.at[group, "n_clients"],
            "n_series": first.at[group, "n_series"],
            "small_n": first.at[group, "small_n"],
            "is_reference": group == ref,
            **{
                key: _block(tables[key].loc[group], key)
                | _at_block(at_tables, key, group)
                | _source_block(sources[key], group)
                for key in SUMMARY_MEASURES
            },
        }
        for group in first.index  # one entry per group, a handful
    ]
    summary = {
        "population": population,
        "by": by,
        "reference": ref,
        "reference_label": group_label(ref, by) if ref is not None else None,
        "empty_reason": reason,
        "n_clients": selected["client_id"].nunique(),
        "n_series": len(selected),
        "min_group_n": config.MIN_GROUP_N,
        "measures": {key: MEASURES_BY_KEY[key].label for key in SUMMARY_MEASURES},
        "at": point.code if point else None,
        "at_days": point.days if point else None,
        "at_window_days": config.TIME_POINT_WINDOW_DAYS if point else None,
        "groups": groups,
    }
    return json_ready(summary)


def _tables(
    selected: pd.DataFrame, by: str, population: str, reference: str | None
) -> dict[str, pd.DataFrame]:
    """compare_groups of each summary measure, indexed by group. A reference with nobody in
    `selected` (possible at a time point) gives no differences rather than another reference."""
    present = reference in set(grouped_rows(selected, by)["group"]) if len(selected) else False
    tables = {
        key: compare_groups(
            selected,
            by=by,
            measure=key,
            population=population,
            reference=reference if present else None,
        ).set_index("group")
        for key in SUMMARY_MEASURES
    }
    if not present:
        for table in tables.values():
            table[[c for c in table.columns if c.endswith(_DIFFERENCE_PARTS)]] = np.nan
    return tables


def _interval(low: object, high: object) -> list[object] | None:
    """[low, high], or None when either end cannot be computed."""
    return None if pd.isna(low) or pd.isna(high) else [low, high]


def _block(row: pd.Series, key: str) -> dict[str, object]:
    """One measure's part of a group entry (last available values)."""
    level = SUMMARY_MEASURES[key]
    return {
        "n": row["n"],
        "baseline_mean": row["baseline_mean"],
        "last_mean": row["latest_mean"],
        "change_mean": row["change_mean"],
        "change_ci": _interval(row["change_ci_low"], row["change_ci_high"]),
        # Lasting change at the latest follow-up visit (practice/analysis/followup.py).
        "followup_n": row["followup_n"],
        "followup_mean": row["followup_mean"],
        "followup_change_mean": row["followup_change_mean"],
        "followup_change_ci": _interval(
            row["followup_change_ci_low"], row["followup_change_ci_high"]
        ),
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
        "baseline_sd": row["baseline_sd"],
        "last_sd": row["latest_sd"],
        "change_sd": row["change_sd"],
        "unadjusted_difference": row["unadjusted_difference"],
        "unadjusted_difference_ci": _interval(
            row["unadjusted_difference_ci_low"], row["unadjusted_difference_ci_high"]
        ),
        "adjusted_covariates": _covariates(row["covariates"]),
        # The count the rate and its interval are over (with dropouts as non-responders it
        # exceeds `n`, the series with a follow-up value).
        f"responders_{level}_denominator": row["responder_n"],
    }


def _source_block(counts: pd.DataFrame, group: object) -> dict[str, object]:
    """How many of the group's counted series took each figure from the diary, the intake,
    a first report or the sessions (practice.analysis.diary.count_sources)."""
    if group not in counts.index:
        return dict.fromkeys(SOURCE_COUNT_NAMES, 0)
    return {name: int(counts.at[group, name]) for name in SOURCE_COUNT_NAMES}


def _covariates(terms: object) -> list[str] | None:
    """The model's terms ("baseline, age_at_intake") as a list; None where no model ran."""
    if not isinstance(terms, str):
        return None
    return [t.strip() for t in terms.split(",") if t.strip()]


def _at_block(tables: dict[str, pd.DataFrame] | None, key: str, group: object) -> dict[str, object]:
    """The `at_` keys of one measure: its figures at the time point (None without one, or
    where the group has nobody with a value at the time point)."""
    level = SUMMARY_MEASURES[key]
    names = _at_names(level)
    if tables is None or group not in tables[key].index:
        return dict.fromkeys(names)
    row = tables[key].loc[group]
    block = _block(row, key)
    block["mean"] = block.pop("last_mean")
    block["sd"] = block.pop("last_sd")
    return {f"at_{name}": block[name] for name in _AT_KEYS[level]}


_DIFFERENCE_PARTS = (
    "adjusted_difference",
    "adjusted_difference_ci_low",
    "adjusted_difference_ci_high",
    "adjusted_p_value",
    "unadjusted_difference",
    "unadjusted_difference_ci_low",
    "unadjusted_difference_ci_high",
)
# The figures reported at a time point, per responder level (prefixed "at_" in the summary).
_AT_KEYS = {
    level: [
        "n",
        "baseline_mean",
        "mean",
        "sd",
        "change_mean",
        "change_sd",
        "change_ci",
        f"responders_{level}",
        f"responder_rate_{level}",
        f"responder_rate_{level}_ci",
        "unadjusted_difference",
        "unadjusted_difference_ci",
        "adjusted_difference",
        "adjusted_difference_ci",
        f"responders_{level}_denominator",
    ]
    for level in SUMMARY_MEASURES.values()
}


def _at_names(level: str) -> list[str]:
    return [f"at_{name}" for name in _AT_KEYS[level]]


def _block_names(level: str) -> list[str]:
    """The keys of one measure's block, in order."""
    return [
        "n",
        "baseline_mean",
        "last_mean",
        "change_mean",
        "change_ci",
        "followup_n",
        "followup_mean",
        "followup_change_mean",
        "followup_change_ci",
        f"responders_{level}",
        f"responder_rate_{level}",
        f"responder_rate_{level}_ci",
        "adjusted_difference",
        "adjusted_difference_ci",
        "adjusted_p_value",
        "adjusted_n",
        "baseline_sd",
        "last_sd",
        "change_sd",
        "unadjusted_difference",
        "unadjusted_difference_ci",
        "adjusted_covariates",
        f"responders_{level}_denominator",
        *_at_names(level),
        *SOURCE_COUNT_NAMES,
    ]


def summary_columns() -> list[str]:
    """The columns of summary_table, in order: an interval becomes `<name>_low`/`<name>_high`."""
    columns = [
        "population",
        "by",
        "reference",
        "reference_label",
        "at",
        "group",
        "label",
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
            "reference_label": summary.get("reference_label"),
            "at": summary.get("at"),
            **{
                k: entry.get(k)
                for k in ("group", "label", "n_clients", "n_series", "small_n", "is_reference")
            },
        }
        for key in SUMMARY_MEASURES:
            for name, value in entry[key].items():
                if name == "adjusted_covariates":  # a list of terms: one cell of text
                    record[f"{key}_{name}"] = ", ".join(value) if value else None
                elif isinstance(value, list) or (name.endswith("_ci") and value is None):
                    low, high = value if value is not None else (None, None)
                    record[f"{key}_{name}_low"], record[f"{key}_{name}_high"] = low, high
                else:
                    record[f"{key}_{name}"] = value
        records.append(record)
    columns = summary_columns()
    if not records:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return pd.DataFrame.from_records(records, columns=columns)

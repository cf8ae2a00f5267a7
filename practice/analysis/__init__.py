"""Outcome analysis: pure pandas/statsmodels, DataFrame in, new DataFrame out.

Typical use (every metric is explained for therapists in docs/metrics.md):

    outcomes = compute_client_outcomes(clients, sessions)       # one row per client x series
    table = compare_groups(outcomes, by="therapist", measure="hd28", population="completers")
    points = funnel_data(outcomes, measure="hd28", by="therapist")
    summary = build_summary(clients, sessions, by="technique")  # JSON-ready dict
"""

from practice.analysis._common import (
    CONFIDENCE,
    MEASURES_BY_KEY,
    NOT_RECORDED,
    RESPONDER_COLUMNS,
    label_groups,
    wilson_interval,
)
from practice.analysis.alerts import ALERT_COLUMNS, off_track_alerts
from practice.analysis.funnel import (
    CURVE_COLUMNS,
    FUNNEL_COLUMNS,
    estimate_overdispersion,
    funnel_curve,
    funnel_data,
    funnel_frames,
)
from practice.analysis.groups import (
    ADJUSTED_COLUMNS,
    GROUP_COLUMNS,
    adjusted_differences,
    compare_groups,
)
from practice.analysis.labels import group_label, group_labels, pain_rule_text, resolve_group
from practice.analysis.outcomes import (
    NOT_JUDGED,
    OUTCOME_COLUMNS,
    compute_client_outcomes,
    compute_outcomes_and_reference,
)
from practice.analysis.populations import POPULATIONS, empty_reason, select_population
from practice.analysis.reference import ReferenceValues, compute_reference_values
from practice.analysis.relief import RELIEF_COLUMNS, immediate_relief
from practice.analysis.summary import (
    build_summary,
    summarise_outcomes,
    summary_columns,
    summary_table,
)
from practice.analysis.survival import TIME_COLUMNS, kaplan_meier, time_to_response

__all__ = [
    "ADJUSTED_COLUMNS",
    "ALERT_COLUMNS",
    "CONFIDENCE",
    "CURVE_COLUMNS",
    "FUNNEL_COLUMNS",
    "GROUP_COLUMNS",
    "MEASURES_BY_KEY",
    "NOT_JUDGED",
    "NOT_RECORDED",
    "OUTCOME_COLUMNS",
    "POPULATIONS",
    "RELIEF_COLUMNS",
    "RESPONDER_COLUMNS",
    "TIME_COLUMNS",
    "ReferenceValues",
    "adjusted_differences",
    "build_summary",
    "compare_groups",
    "compute_client_outcomes",
    "compute_outcomes_and_reference",
    "compute_reference_values",
    "empty_reason",
    "estimate_overdispersion",
    "funnel_curve",
    "funnel_data",
    "funnel_frames",
    "group_label",
    "group_labels",
    "immediate_relief",
    "kaplan_meier",
    "label_groups",
    "off_track_alerts",
    "pain_rule_text",
    "resolve_group",
    "select_population",
    "summarise_outcomes",
    "summary_columns",
    "summary_table",
    "time_to_response",
    "wilson_interval",
]

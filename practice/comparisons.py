"""Shape group comparisons, funnels and caseloads for display: labels, readable intervals.

Pure pandas helpers between `practice.analysis` and the Techniques and Therapists pages. The
analysis frames stay untouched (they are what the CSV downloads contain); these functions add
display labels and turn numbers with intervals into short text such as "−4.2 (−5.3 to −3.0)".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from practice import config
from practice.analysis import (
    MEASURES_BY_KEY,
    RESPONDER_COLUMNS,
    empty_reason,
    group_labels,
    pain_rule_text,
)
from practice.formatting import client_link

# The measures a page offers, in this order; hd28 and pain are always offered.
MEASURE_LABELS: dict[str, str] = {
    "hd28": "Headache days per 28 days",
    "pain": "Pain (0-10)",
    "medication_days": "Medication days per 28 days",
    "hit6": "HIT-6 score (36-78)",
    "midas": "MIDAS score",
    "stress": "Stress (0-10)",
    "sleep_quality": "Sleep quality (0-10)",
}
ALWAYS_OFFERED = ("hd28", "pain")
# The headline responder rule of each measure in plain words (docs/metrics.md, "Responders").
RESPONDER_RULES: dict[str, str] = {
    "hd28": "headache days per 28 days down by at least 50 %",
    "pain": f"pain down by at least {pain_rule_text()}",
    "hit6": "HIT-6 down by at least 6 points",
    "midas": "MIDAS down by at least one grade",
}
# Short units for sentences ("2 fewer headache days per 28 days").
MEASURE_UNITS: dict[str, str] = {
    "hd28": "headache days per 28 days",
    "pain": "points of pain (0-10)",
    "medication_days": "medication days per 28 days",
    "hit6": "HIT-6 points",
    "midas": "MIDAS points",
    "stress": "points of stress (0-10)",
    "sleep_quality": "points of sleep quality (0-10)",
}
MINUS = "\u2212"  # a real minus sign: "−4.2" reads better than "-4.2"
GROUPINGS: dict[str, str] = {
    "primary_technique": "Primary technique (the one used in most sessions)",
    "technique_exposure": "Every technique used in at least half of the sessions",
}
# When each client's value is read (the Techniques page's "When" choice): the last available
# value, or the report nearest a time point after the first session (docs/metrics.md, "Time
# points"). "" is the last value.
LAST_VALUE = ""
WHEN_CHOICES: dict[str, str] = {
    LAST_VALUE: "Last available value",
    "6w": "At 6 weeks",
    "3m": "At 3 months",
    "6m": "At 6 months",
}
STATISTICS: dict[str, str] = {
    "responder_rate": "Responder rate",
    "adjusted_residual": "Adjusted residual (result compared with similar clients)",
}
SMALL_NOTE = "small group: not judged"
REFERENCE_NOTE = "reference"


def available_measures(outcomes: pd.DataFrame) -> list[str]:
    """Measure keys worth offering: hd28 and pain, plus every other measure with a change."""
    return [
        key
        for key in MEASURE_LABELS
        if key in ALWAYS_OFFERED
        or (f"{key}_change" in outcomes and outcomes[f"{key}_change"].notna().any())
    ]


def has_responder_rule(measure: str) -> bool:
    """Whether the measure has a published responder rule (headache days, pain, HIT-6, MIDAS)."""
    return RESPONDER_COLUMNS.get(measure) is not None


def change_direction(measure: str) -> str:
    """Which sign of change is an improvement for the measure, in words."""
    unit = MEASURE_UNITS[measure]
    if MEASURES_BY_KEY[measure].lower_is_better:
        return f"A negative change means fewer {unit} than at the start: an improvement."
    return f"A positive change means more {unit} than at the start: an improvement."


def adjusted_sign_note(measure: str, reference_label: str) -> str:
    """How to read an adjusted difference (group minus reference) for the measure, in words."""
    unit = MEASURE_UNITS[measure]
    better = "negative" if MEASURES_BY_KEY[measure].lower_is_better else "positive"
    return (
        f"Each number is the group **minus {reference_label}**, in {unit}. A negative number "
        f"means the group's clients ended with fewer {unit} than similar clients treated mainly "
        f'with {reference_label}; a positive number means more. "Similar" means after '
        "accounting for where clients started (their baseline), age, sex, headache type and "
        f"years with headaches. For this measure {better} is the better direction. When the "
        "interval includes 0, the data are compatible with no difference at all."
    )


def technique_keys(sessions: pd.DataFrame) -> list[str]:
    """Every technique key used in any session, sorted (for colours stable across filters)."""
    # A practice has a few hundred distinct technique lists, however many sessions: split those.
    distinct = sessions["techniques"].dropna().astype(str).unique()
    return sorted({key.strip() for cell in distinct for key in cell.split(";")} - {""})


def empty_population_text(outcomes: pd.DataFrame, population: str) -> str | None:
    """ "Nobody in this selection is counted: <the rule that left it empty>." when `population`
    of the selected `outcomes` is empty ("no series has at least 4 attended sessions (the
    completer rule, PRACTICE_MIN_SESSIONS_COMPLETER)"), else None."""
    reason = empty_reason(outcomes, population)
    return None if reason is None else f"Nobody in this selection is counted: {reason}."


def empty_comparison_text(outcomes: pd.DataFrame, population: str) -> str:
    """Why a comparison of the selected `outcomes` has no group, naming the rule that left
    the population empty rather than only asking to widen the filters."""
    text = empty_population_text(outcomes, population)
    return text or "No client in this selection has a technique recorded to group by."


def empty_funnel_text(outcomes: pd.DataFrame, population: str) -> str:
    """Why no funnel is drawn: the population's rule, else too few scores."""
    text = empty_population_text(outcomes, population)
    return text or "Too few clients with scores in this selection to draw a funnel."


def with_labels(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """`table` plus a `label` column for its `group` keys (for charts and tables)."""
    return table.assign(label=group_labels(table["group"], by))


# --- numbers as text ---------------------------------------------------------------------------
def format_number(values: pd.Series, *, digits: int = 1, percent: bool = False) -> pd.Series:
    """Numbers as text with a real minus sign ("−4.2"); rates as whole percents ("48 %")."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    places = 0 if percent else digits
    # Round first so that -0.04 shows as "0.0", not "−0.0".
    rounded = np.round(numbers.to_numpy() * 100 if percent else numbers.to_numpy(), places) + 0.0
    suffix = " %" if percent else ""
    # Display tables have a row per group: formatting each number beats a dozen pandas calls.
    text = ["" if np.isnan(v) else f"{v:.{places}f}".replace("-", MINUS) + suffix for v in rounded]
    return pd.Series(text, index=values.index, name=numbers.name, dtype=object)


def format_interval(
    value: pd.Series,
    low: pd.Series,
    high: pd.Series,
    *,
    digits: int = 1,
    percent: bool = False,
) -> pd.Series:
    """ "−4.2 (−5.3 to −3.0)"; the value alone without an interval; "" without a value."""
    middle = format_number(value, digits=digits, percent=percent)
    lo = format_number(low, digits=digits, percent=percent)
    hi = format_number(high, digits=digits, percent=percent)
    if percent:  # "48 % (32 to 65 %)": one percent sign inside the brackets is enough
        lo = lo.str.removesuffix(" %")
    # "" is a missing number (format_number): no value, no text; no bound, no interval.
    text = [
        f"{mid} ({a} to {b})" if mid and a and b else mid
        for mid, a, b in zip(middle, lo, hi, strict=True)
    ]
    shared = middle.name if middle.name == lo.name == hi.name else None  # as `a + b` names it
    return pd.Series(text, index=middle.index, name=shared, dtype=object)


def _notes(table: pd.DataFrame) -> pd.Series:
    small = table["small_n"].fillna(False).astype(bool)
    reference = table.get("is_reference", pd.Series(False, index=table.index))
    reference = reference.fillna(False).astype(bool)
    note = pd.Series("", index=table.index, dtype=object)
    note = note.mask(reference, REFERENCE_NOTE)
    both = reference & small
    note = note.mask(small, SMALL_NOTE)
    return note.mask(both, f"{REFERENCE_NOTE}; {SMALL_NOTE}")


# --- Techniques page ---------------------------------------------------------------------------
def group_table(table: pd.DataFrame, *, by: str, measure: str) -> pd.DataFrame:
    """A readable table of a `compare_groups` frame, in its order (largest group first)."""
    shown = pd.DataFrame(
        {
            "Group": group_labels(table["group"], by),
            "Clients": table["n_clients"].astype(int),
            "Series with a score": table["n"].astype(int),
            "Change (95 % CI)": format_interval(
                table["change_mean"], table["change_ci_low"], table["change_ci_high"]
            ),
        }
    )
    if has_responder_rule(measure):
        shown["Responders"] = (
            table["responders"].astype(int).astype(str)
            + " of "
            + table["responder_n"].astype(int).astype(str)
        )
        shown["Responder rate (95 % CI)"] = format_interval(
            table["responder_rate"],
            table["responder_rate_ci_low"],
            table["responder_rate_ci_high"],
            digits=0,
            percent=True,
        )
    _add_follow_up(shown, table)
    if table["adjusted_difference"].notna().any():
        shown["Adjusted difference (95 % CI)"] = format_interval(
            table["adjusted_difference"],
            table["adjusted_difference_ci_low"],
            table["adjusted_difference_ci_high"],
        )
    shown["Note"] = _notes(table)
    return shown.reset_index(drop=True)


def _add_follow_up(shown: pd.DataFrame, table: pd.DataFrame) -> None:
    """The lasting change at follow-up visits with its own n, when any group has one."""
    n = pd.to_numeric(table.get("followup_n", pd.Series(0, index=table.index)), errors="coerce")
    if not n.fillna(0).gt(0).any():
        return
    shown["Series with a follow-up visit"] = n.fillna(0).astype(int).to_numpy()
    shown["Change at follow-up (95 % CI)"] = format_interval(
        table["followup_change_mean"],
        table["followup_change_ci_low"],
        table["followup_change_ci_high"],
    ).to_numpy()


def relief_frame(relief: pd.DataFrame) -> pd.DataFrame:
    """An `immediate_relief` frame by technique with `label` and `small_n` (few clients)."""
    return with_labels(relief, "technique").assign(small_n=relief["n_clients"] < config.MIN_GROUP_N)


def relief_table(relief: pd.DataFrame) -> pd.DataFrame:
    """A readable table of immediate relief per technique, most sessions first."""
    frame = relief_frame(relief)
    return pd.DataFrame(
        {
            "Technique": frame["label"],
            "Sessions": frame["n_sessions"].astype(int),
            "Clients": frame["n_clients"].astype(int),
            "Pain relief straight after (95 % CI)": format_interval(
                frame["relief_mean"], frame["relief_ci_low"], frame["relief_ci_high"]
            ),
            "Note": np.where(frame["small_n"], SMALL_NOTE, ""),
        }
    ).reset_index(drop=True)


def response_curves(curve: pd.DataFrame, table: pd.DataFrame, *, by: str) -> pd.DataFrame:
    """Kaplan-Meier rows with `label` and the group's `small_n` (from `compare_groups`)."""
    small = table.set_index("group")["small_n"]
    frame = curve.assign(
        label=group_labels(curve["group"], by),
        small_n=curve["group"].map(small).fillna(False).astype(bool),
    )
    return frame.reset_index(drop=True)


# --- Therapists page ---------------------------------------------------------------------------
POSITION_ORDER = (
    "within limits",
    "above 95 % limit",
    "above 99.8 % limit",
    "below 95 % limit",
    "below 99.8 % limit",
    "not judged (small n)",
)


def funnel_direction(measure: str, statistic: str) -> str:
    """What "above" and "below" the funnel mean for this measure and statistic, in words."""
    if statistic == "responder_rate":
        return "Above the funnel: more clients responded than across the practice; below: fewer."
    unit = MEASURE_UNITS[measure]
    better, worse = ("below", "above")
    if not MEASURES_BY_KEY[measure].lower_is_better:
        better, worse = worse, better
    return (
        f"Above the line: clients ended with more {unit} than expected for similar clients; "
        f"below: fewer. Here {better} is the better side, {worse} the worse."
    )


def therapist_summary(
    groups: pd.DataFrame, residuals: pd.DataFrame, points: pd.DataFrame
) -> pd.DataFrame:
    """One row per therapist: `compare_groups` columns, the adjusted residual and the position.

    `groups`: compare_groups(by="therapist"); `residuals`: funnel_data(statistic=
    "adjusted_residual"); `points`: funnel_data for the statistic plotted (gives `position`).
    Ordered by caseload (most clients first), never by result.
    """
    residual = residuals.set_index("group")
    point = points.set_index("group")
    summary = groups.assign(
        adjusted_residual=groups["group"].map(residual["value"]),
        residual_n=groups["group"].map(residual["n"]),
        funnel_statistic=points["statistic"].iloc[0] if len(points) else None,
        position=groups["group"].map(point["position"]),
    )
    small = summary["small_n"].fillna(False).astype(bool)
    summary["position"] = summary["position"].mask(small, "not judged (small n)")
    summary["position"] = summary["position"].fillna("no data for the funnel")
    return summary.reset_index(drop=True)


def therapist_table(summary: pd.DataFrame, *, measure: str) -> pd.DataFrame:
    """A readable table of `therapist_summary`, largest caseload first."""
    shown = pd.DataFrame(
        {
            "Therapist": summary["group"].astype(str),
            "Clients": summary["n_clients"].astype(int),
            "Series with a score": summary["n"].astype(int),
            "Change (95 % CI)": format_interval(
                summary["change_mean"], summary["change_ci_low"], summary["change_ci_high"]
            ),
        }
    )
    if has_responder_rule(measure):
        shown["Responder rate (95 % CI)"] = format_interval(
            summary["responder_rate"],
            summary["responder_rate_ci_low"],
            summary["responder_rate_ci_high"],
            digits=0,
            percent=True,
        )
    _add_follow_up(shown, summary)
    shown["Adjusted residual"] = format_number(summary["adjusted_residual"], digits=2)
    shown["Position"] = summary["position"]
    shown["Note"] = np.where(summary["small_n"].fillna(False), SMALL_NOTE, "")
    return shown.reset_index(drop=True)


def caseload_table(outcomes: pd.DataFrame, therapist: str, *, links: bool = True) -> pd.DataFrame:
    """The treatment series whose main therapist is `therapist`, newest first.

    With `links` the Client column holds links to the Client progress page, else the codes.
    """
    rows = outcomes.loc[outcomes["therapist"].eq(therapist)]
    rows = rows.sort_values(
        ["last_session_date", "client_id", "series_number"],
        ascending=[False, True, True],
        kind="stable",
    )
    return pd.DataFrame(
        {
            "Client": _client_column(rows["client_id"], links=links),
            "Name": rows["client_name"].astype(str),
            "Series": rows["series_number"].astype(int),
            "Headache type": group_labels(rows["headache_type"], "headache_type"),
            "Sessions attended": rows["sessions_attended"].astype(int),
            "Last session": rows["last_session_date"],
            "Change in headache days": format_number(rows["hd28_change"]),
            "Headache-day label": rows["hd28_change_label"].fillna("").astype(str),
            "Change in pain": format_number(rows["pain_change"]),
            "Pain label": rows["pain_change_label"].fillna("").astype(str),
            "Status": rows["series_status"].fillna("").astype(str),
        }
    ).reset_index(drop=True)


def _client_column(client_ids: pd.Series, *, links: bool) -> pd.Series:
    codes = client_ids.astype(str)
    return codes.map(client_link) if links else codes


def caseload_alerts(alerts: pd.DataFrame, therapist: str, *, links: bool = True) -> pd.DataFrame:
    """A readable table of the off-track alerts of `therapist`'s current clients."""
    rows = alerts.loc[alerts["therapist"].eq(therapist)]
    return pd.DataFrame(
        {
            "Client": _client_column(rows["client_id"], links=links),
            "Name": rows["client_name"].astype(str),
            "Sessions attended": rows["sessions_attended"].astype(int),
            "Last session": rows["last_session_date"],
            "Why": rows["reason"].astype(str),
        }
    ).reset_index(drop=True)

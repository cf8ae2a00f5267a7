"""One client's progress: the frames behind the Client progress page (pure pandas).

Everything here takes the practice's frames (`clients`, `sessions`, the per-series `outcomes`
of `practice.analysis.compute_client_outcomes`) or one row of them, and returns a small new
frame, list or dict for a page to show. The meaning of each number is in docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from practice import config
from practice.analysis import NOT_JUDGED, NOT_RECORDED, pain_rule_text
from practice.filters import baseline_source_keys
from practice.vocabulary import BASELINE_SOURCES, HEADACHE_TYPES, STATUSES, technique_label

# "C0001 · Fatima Green": what the client picker shows, and searches as the user types.
LABEL_SEPARATOR = " · "
NO_FOLLOW_UP = "no follow-up score yet"

# Measures in the order the page lists them: (outcome key, label, intake column).
MEASURE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("hd28", "Headache days per 28 days", "baseline_headache_days_28d"),
    ("pain", "Pain (0-10)", "baseline_pain"),
    ("medication_days", "Medication days per 28 days", "baseline_medication_days_28d"),
    ("hit6", "HIT-6 (36-78)", "baseline_hit6"),
    ("midas", "MIDAS", "baseline_midas"),
    ("stress", "Stress (0-10)", "baseline_stress"),
    ("sleep_quality", "Sleep quality (0-10)", "baseline_sleep_quality"),
)
HOW_TO_READ = {
    "hd28": "Days with any headache in 28 days; fewer is better.",
    "pain": "Usual pain, 0 none to 10 worst; lower is better.",
    "medication_days": "Days with headache medication in 28 days; fewer is better.",
    "hit6": "Headache impact on daily life, 36-78; under 50 little impact, 60+ severe.",
    "midas": "Days lost to headache in 3 months; grade I 0-5 ... grade IV 21+.",
    "stress": "0 none to 10 extreme; lower is better.",
    "sleep_quality": "0 worst to 10 best; higher is better.",
}
# The meaningful-change rule of each measure (docs/metrics.md, "Responders"); None: no
# published threshold, so the measure is only ever called "reliable".
MEANINGFUL_RULES: dict[str, str | None] = {
    "hd28": f"at least {100 * config.HD28_RESPONDER_FRACTION:.0f} % fewer headache days",
    "pain": f"at least {pain_rule_text()} less pain",
    "medication_days": None,
    "hit6": f"at least {config.HIT6_MEANINGFUL_POINTS:g} points lower HIT-6",
    "midas": "at least one MIDAS grade lower",
    "stress": None,
    "sleep_quality": None,
}
HEADLINE_LABELS = {"hd28": "Headache days per 28 days", "pain": "Pain before sessions (0-10)"}
NO_FLAGS_TEXT = (
    f"No risk flags at the start of this series: fewer than {config.CHRONIC_HEADACHE_DAYS} "
    f"headache days and fewer than {config.MEDICATION_OVERUSE_DAYS_ANY} medication days per 28 "
    "days."
)
SERIES_HELP = (
    f"A pause of more than {config.SERIES_GAP_DAYS} days starts a new treatment series; each "
    "series is judged from its own start. Latest first."
)
BASELINE_FROM = {
    "intake": "(at intake)",
    "first report": "(first report of the series)",
    "diary": "(headache diary, 28 days before the first session)",
}
# Where a latest value came from (docs/metrics.md, "Headache diaries").
LATEST_FROM = {"sessions": "session reports", "diary": "headache diary"}
STATUS_TEXT = {
    "completer": f"attended at least {config.MIN_SESSIONS_COMPLETER} sessions",
    "ongoing": (
        f"fewer than {config.MIN_SESSIONS_COMPLETER} sessions so far, but still coming: "
        "too early to judge"
    ),
    "dropout": f"stopped after fewer than {config.MIN_SESSIONS_COMPLETER} sessions",
}
SESSION_TABLE_COLUMNS = [
    "Date",
    "Session",
    "Therapist",
    "Status",
    "Techniques",
    "Pain before",
    "Pain after",
    "Relief",
    "Headache days (7 d)",
    "Headache days (28 d)",
    "Medication days (7 d)",
    "Stress",
    "Sleep quality",
    "HIT-6",
    "MIDAS",
    "Notes",
]
# The long-format measures of the stress / sleep / medication chart, with how to read them.
WELLBEING_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("stress", "stress", "Stress (0-10, lower is better)"),
    ("sleep_quality", "sleep_quality", "Sleep quality (0-10, higher is better)"),
    ("medication_days", "medication_days_7d", "Medication days per 28 days (fewer is better)"),
)


# --- finding the client ------------------------------------------------------------------------
def client_label(client_id: str, name: object) -> str:
    """ "C0001 · Fatima Green" (just the id when the name is missing)."""
    if name is None or pd.isna(name) or str(name).strip() == "":
        return str(client_id)
    return f"{client_id}{LABEL_SEPARATOR}{name}"


def client_choices(
    clients: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    therapists: Iterable[str] = (),
    headache_types: Iterable[str] = (),
    baseline_sources: Iterable[str] = (),
    locations: Iterable[str] = (),
) -> pd.DataFrame:
    """Clients the picker offers (`client_id`, `label`), by id.

    With `therapists`, only clients who had a session with one of them; with `locations`, only
    clients who had a session at one of them; with `headache_types`,
    only clients of those types; with `baseline_sources` ("diary", "recall", "not_recorded"),
    only clients whose baseline came from one of them. Empty means everyone.
    """
    keep = pd.Series(True, index=clients.index)
    chosen_therapists = list(therapists)
    if chosen_therapists:
        seen = sessions.loc[sessions["therapist"].isin(chosen_therapists), "client_id"]
        keep &= clients["client_id"].isin(seen)
    chosen_locations = list(locations)
    if chosen_locations and "location" in sessions:
        seen = sessions.loc[sessions["location"].isin(chosen_locations), "client_id"]
        keep &= clients["client_id"].isin(seen)
    chosen_types = list(headache_types)
    if chosen_types:
        keep &= clients["headache_type"].isin(chosen_types)
    chosen_sources = list(baseline_sources)
    if chosen_sources:
        keep &= baseline_source_keys(clients["baseline_source"]).isin(chosen_sources)
    kept = clients.loc[keep, ["client_id", "client_name"]].sort_values("client_id")
    ids = kept["client_id"].astype(str)
    names = kept["client_name"].astype("string").str.strip()
    labels = (ids + LABEL_SEPARATOR + names).where(names.fillna("").ne(""), ids)
    return pd.DataFrame({"client_id": ids.to_numpy(), "label": labels.astype(object).to_numpy()})


def search_clients(choices: pd.DataFrame, query: object, *, limit: int) -> tuple[pd.DataFrame, int]:
    """The first `limit` of `choices` (`client_choices`) whose id or name contains `query`,
    ignoring case, and how many match in all; an exact id comes first, then by id.

    An empty query matches everyone: the picker then offers the first `limit` ids.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    wanted = str(query or "").strip().casefold()
    if not wanted:
        return choices.head(limit).reset_index(drop=True), len(choices)
    hits = choices.loc[choices["label"].str.casefold().str.contains(wanted, regex=False)]
    exact = hits["client_id"].str.casefold().eq(wanted)
    ordered = pd.concat([hits.loc[exact], hits.loc[~exact]])
    return ordered.head(limit).reset_index(drop=True), len(hits)


def find_client(clients: pd.DataFrame, requested: object) -> str | None:
    """The stored id a link's `client` value names (exact, else ignoring case), or None."""
    if requested is None:
        return None
    wanted = str(requested).strip()
    if not wanted:
        return None
    ids = clients["client_id"].astype(str)
    if ids.eq(wanted).any():
        return wanted
    folded = ids[ids.str.casefold() == wanted.casefold()]
    return str(folded.iloc[0]) if len(folded) == 1 else None


def series_choices(outcomes: pd.DataFrame, client_id: str) -> pd.DataFrame:
    """The client's treatment series (`series_number`, `label`), latest first."""
    rows = outcomes.loc[outcomes["client_id"] == client_id].sort_values(
        "series_number", ascending=False
    )
    labels = [
        _series_label(int(number), first, int(attended))
        for number, first, attended in zip(
            rows["series_number"],
            rows["first_session_date"],
            rows["sessions_attended"],
            strict=True,
        )
    ]
    return pd.DataFrame({"series_number": rows["series_number"].astype(int), "label": labels})


def _series_label(number: int, first: object, attended: int) -> str:
    if pd.isna(first) or attended == 0:
        return f"Series {number} · no session attended yet"
    sessions = "session" if attended == 1 else "sessions"
    return f"Series {number} · from {pd.Timestamp(first):%d %b %Y} · {attended} {sessions} attended"


def find_series(requested: object, available: Sequence[int]) -> int | None:
    """The series number a link's `series` value names when the client has it, else None."""
    try:
        number = int(str(requested).strip())
    except (TypeError, ValueError):
        return None
    return number if number in {int(a) for a in available} else None


# --- intake ------------------------------------------------------------------------------------
def intake_facts(client: pd.Series, outcome: pd.Series | None = None) -> list[tuple[str, str]]:
    """(label, text) pairs describing the client at intake, "not recorded" where missing; an
    intake that does not say where the baseline came from names the diary when `outcome`'s
    headache-day baseline was derived from it."""
    intake = pd.to_datetime(client.get("intake_date"))
    birth = pd.to_numeric(client.get("birth_year"))
    years = pd.to_numeric(client.get("headache_years"))
    age = intake.year - birth if pd.notna(intake) and pd.notna(birth) else np.nan
    source = client.get("baseline_source")
    return [
        ("Headache type", _lookup(HEADACHE_TYPES, client.get("headache_type"))),
        ("Intake date", f"{intake:%d %b %Y}" if pd.notna(intake) else NOT_RECORDED),
        ("Age at intake", f"{age:.0f}" if pd.notna(age) else NOT_RECORDED),
        ("Years with headaches", f"{years:g}" if pd.notna(years) else NOT_RECORDED),
        ("Baseline from", _baseline_source_text(source, outcome)),
        ("Triggers", list_text(client.get("triggers"))),
        ("Referred by", _text(client.get("referral_source"))),
    ]


def baseline_table(client: pd.Series) -> pd.DataFrame:
    """The intake baseline of every measure (`measure`, `value`, `how_to_read`)."""
    values = [pd.to_numeric(client.get(column), errors="coerce") for _, _, column in MEASURE_ROWS]
    return pd.DataFrame(
        {
            "measure": [label for _, label, _ in MEASURE_ROWS],
            "value": pd.Series(values, dtype="float64"),
            "how_to_read": [HOW_TO_READ[key] for key, _, _ in MEASURE_ROWS],
        }
    )


def risk_flags(outcome: pd.Series) -> list[str]:
    """The series' intake risk flags in plain words: prompts for the client's doctor.

    Thresholds from ICHD-3 (2018): 1.3 / 2.3 chronic headache, 8.2 medication overuse.
    """
    flags = []
    hd28, medication = outcome.get("hd28_baseline"), outcome.get("medication_days_baseline")
    if _is_true(outcome.get("chronic_headache")):
        flags.append(
            f"**Frequent headaches**: {hd28:g} headache days per 28 days at the start of this "
            f"series. From {config.CHRONIC_HEADACHE_DAYS} days a month, doctors consider chronic "
            "migraine or chronic tension-type headache (ICHD-3). Check that the client's doctor "
            "knows. This is a prompt to talk, not a diagnosis."
        )
    if _is_true(outcome.get("medication_overuse")):
        flags.append(
            f"**Medication overuse**: headache medicine on {medication:g} days per 28 days. From "
            f"{config.MEDICATION_OVERUSE_DAYS_SIMPLE} days a month, even simple painkillers "
            "(paracetamol, ibuprofen) can keep headaches going (medication-overuse headache, "
            "ICHD-3 8.2). Suggest the client talks to their doctor. A prompt, not a diagnosis."
        )
    elif _is_true(outcome.get("possible_medication_overuse")):
        flags.append(
            f"**Possible medication overuse**: headache medicine on {medication:g} days per 28 "
            f"days. From {config.MEDICATION_OVERUSE_DAYS_ANY} days a month, triptans, opioids or "
            "combination painkillers can keep headaches going (ICHD-3 8.2). Ask which medicines "
            "they take and suggest they talk to their doctor. A prompt, not a diagnosis."
        )
    return flags


def unchecked_flags(outcome: pd.Series) -> list[str]:
    """The risk flags that cannot be checked because the baseline is missing."""
    missing = []
    if pd.isna(outcome.get("hd28_baseline")):
        missing.append("chronic headache (no headache days at baseline)")
    if pd.isna(outcome.get("medication_days_baseline")):
        missing.append("medication overuse (no medication days at baseline)")
    return missing


# --- change over the series --------------------------------------------------------------------
def change_summary(outcome: pd.Series) -> pd.DataFrame:
    """Per measure: baseline -> latest, change, % change, the result label and a sentence."""
    rows = []
    for key, label, _ in MEASURE_ROWS:
        baseline = _number(outcome.get(f"{key}_baseline"))
        latest = _number(outcome.get(f"{key}_latest"))
        result = _result(baseline, latest, outcome.get(f"{key}_change_label"))
        rows.append(
            {
                "measure": label,
                "baseline": baseline,
                "baseline_from": baseline_from_text(
                    outcome.get(f"{key}_baseline_from"), outcome.get("baseline_source")
                ),
                "latest": latest,
                "latest_from": LATEST_FROM.get(_latest_from(outcome, key), ""),
                "change": _number(outcome.get(f"{key}_change")),
                "pct_change": _number(outcome.get(f"{key}_pct_change")),
                "result": result,
                "meaning": explain_result(key, result),
            }
        )
    return pd.DataFrame(rows)


# How an intake baseline was obtained, after "intake" (docs/metrics.md, "Baseline source").
INTAKE_SOURCE_WORDS = {"diary": "intake, from a headache diary", "recall": "intake, recalled"}


def _latest_from(outcome: pd.Series, key: str) -> str:
    """ "diary" or "sessions" where the series has a latest value of `key`, else ""."""
    if pd.isna(outcome.get(f"{key}_latest")):
        return ""
    return _text(outcome.get(f"{key}_latest_from"), default="sessions")


def baseline_from_text(baseline_from: object, source: object) -> str:
    """Where a baseline came from: "first report", or "intake" with how the intake knew it."""
    text = _text(baseline_from, default="")
    if text == "intake" and isinstance(source, str):
        return INTAKE_SOURCE_WORDS.get(source, text)
    if text == "diary":
        return "headache diary"
    return text


def _result(baseline: float, latest: float, label: object) -> str:
    if np.isnan(baseline) and np.isnan(latest):
        return NOT_RECORDED
    if np.isnan(latest):
        return NO_FOLLOW_UP
    return _text(label, default="no clear change")


def explain_result(key: str, result: str) -> str:
    """One plain sentence saying what a change label means for measure `key`."""
    rule = MEANINGFUL_RULES[key]
    noise = "bigger than the measure's usual ups and downs (reliable change)"
    if result == NOT_RECORDED:
        return "Not recorded in this series."
    if result == NO_FOLLOW_UP:
        return "Only the starting value is known; the change shows once a later score comes in."
    if result == NOT_JUDGED:
        return (
            "Cannot be judged yet: too few clients of the practice have a starting value of "
            "this measure (or they all have the same one) to tell a change from its usual ups "
            "and downs."
        )
    worse = result.endswith("worsening")
    kind = result.removesuffix(" worsening")
    prefix = "Worse" if worse else "Improved"
    if kind == "meaningful and reliable":
        return f"{prefix}: {_rule_text(rule, worse)}, and {noise}."
    if kind == "meaningful":
        return (
            f"{prefix}: {_rule_text(rule, worse)}, but within what the measure's usual ups "
            "and downs could produce."
        )
    if kind == "reliable":
        if rule is None:
            return f"{prefix}: {noise}; no published threshold says how much change matters."
        return f"{prefix}: {noise}, but short of a meaningful change ({rule})."
    if rule is None:
        return "No change bigger than the measure's usual ups and downs."
    return f"Neither a meaningful change ({rule}) nor bigger than the usual ups and downs."


def _rule_text(rule: str | None, worse: bool) -> str:
    if rule is None:
        return "a large change"
    if worse:
        return rule.replace("fewer", "more").replace("less", "more").replace("lower", "higher")
    return rule


def headline_metric(outcome: pd.Series, key: str) -> dict[str, Any]:
    """`st.metric` keyword arguments for the latest value of "hd28" or "pain".

    Both are better when lower, so the delta is coloured "inverse" (a fall shows green).
    """
    label = HEADLINE_LABELS[key]
    baseline = _number(outcome.get(f"{key}_baseline"))
    latest = _number(outcome.get(f"{key}_latest"))
    source = BASELINE_FROM.get(_text(outcome.get(f"{key}_baseline_from"), default=""), "")
    start = f"Baseline {baseline:g} {source}".strip() if not np.isnan(baseline) else "No baseline"
    if np.isnan(latest):
        return {
            "label": label,
            "value": "–",
            "delta": NO_FOLLOW_UP,
            "delta_color": "off",
            "delta_arrow": "off",
            "help": f"{start}; {NO_FOLLOW_UP}.",
        }
    change = _number(outcome.get(f"{key}_change"))
    pct = _number(outcome.get(f"{key}_pct_change"))
    delta = f"{change:+.1f}" + ("" if np.isnan(pct) else f" ({pct:+.0f} %)")
    result = _result(baseline, latest, outcome.get(f"{key}_change_label"))
    return {
        "label": label,
        "value": f"{latest:.1f}",
        "delta": delta,
        "delta_color": "inverse",
        "delta_description": f"vs baseline {baseline:g}",
        "help": f"{start} → latest {latest:.1f}{_latest_words(outcome, key)}: {result}. "
        f"{explain_result(key, result)}",
    }


def _latest_words(outcome: pd.Series, key: str) -> str:
    return " (headache diary)" if _latest_from(outcome, key) == "diary" else ""


def diary_source_text(outcome: pd.Series | None, key: str) -> str:
    """Which of a measure's figures came from the headache diary, in words ("" for none)."""
    if outcome is None:
        return ""
    base = _text(outcome.get(f"{key}_baseline_from"), default="") == "diary"
    last = _latest_from(outcome, key) == "diary"
    if base and last:
        return "from the headache diary"
    if base:
        return "baseline from the headache diary"
    return "latest from the headache diary" if last else ""


def series_facts(outcome: pd.Series) -> list[tuple[str, str]]:
    """(label, text) pairs about the series: attendance, coverage, status, time to response."""
    attended = int(outcome.get("sessions_attended") or 0)
    booked = int(outcome.get("sessions_booked") or 0)
    coverage = _number(outcome.get("coverage"))
    status = _text(outcome.get("series_status"), default="")
    relief = _number(outcome.get("immediate_relief_mean"))
    n_relief = int(outcome.get("immediate_relief_sessions") or 0)
    return [
        ("Sessions attended", f"{attended} of {booked} booked"),
        (
            "Scores recorded",
            f"at {100 * coverage:.0f} % of attended sessions" if not np.isnan(coverage) else "none",
        ),
        ("Status", f"{status}: {STATUS_TEXT[status]}" if status in STATUS_TEXT else "unknown"),
        ("First pain response", _response_text(outcome, "pain")),
        ("First headache-day response", _response_text(outcome, "hd28")),
        (
            "Relief straight after a session",
            f"{relief:.1f} points less pain on average ({n_relief} sessions)"
            if n_relief
            else NOT_RECORDED,
        ),
        *_follow_up_facts(outcome),
    ]


def _follow_up_facts(outcome: pd.Series) -> list[tuple[str, str]]:
    """The lasting change at the latest follow-up visit, when the series has one."""
    count = _number(outcome.get("followup_visits"))
    if np.isnan(count) or count == 0:
        return []
    visits = int(count)
    days = _number(outcome.get("followup_days"))
    parts = []
    for key, label in (("hd28", "headache days per 28 days"), ("pain", "pain")):
        value, change = (
            _number(outcome.get(f"{key}_followup")),
            _number(outcome.get(f"{key}_followup_change")),
        )
        if not np.isnan(value):
            parts.append(
                f"{label} {value:.1f}"
                + (f" ({change:+.1f} from baseline)" if not np.isnan(change) else "")
            )
    when = f"{days:.0f} days after the last treatment" if not np.isnan(days) else ""
    visit_text = "1 follow-up visit" if visits == 1 else f"{visits} follow-up visits"
    return [
        (
            "Lasting change",
            f"{visit_text}; the latest {when}: " + ("; ".join(parts) or "no score recorded"),
        )
    ]


def _response_text(outcome: pd.Series, key: str) -> str:
    session = _number(outcome.get(f"{key}_sessions_to_response"))
    if not np.isnan(session):
        day = _number(outcome.get(f"{key}_days_to_response"))
        return f"at session {session:.0f} (day {day:.0f})"
    if np.isnan(_number(outcome.get(f"{key}_latest"))):
        return NO_FOLLOW_UP
    return "not reached yet"


# --- sessions ----------------------------------------------------------------------------------
def series_sessions(sessions: pd.DataFrame, client_id: str, series_number: int) -> pd.DataFrame:
    """The series' sessions by date, attended ones numbered 1, 2, ... in `session_number`."""
    chosen = sessions.loc[
        (sessions["client_id"] == client_id) & (sessions["series_number"] == series_number)
    ]
    order = [c for c in ("session_date", "session_id") if c in chosen.columns]
    frame = chosen.sort_values(order, kind="stable").reset_index(drop=True)
    attended = frame["status"].eq("attended")
    numbers = attended.cumsum().astype("float64").where(attended)
    return frame.assign(session_number=numbers)


def session_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The sessions as the page lists them (labels, relief, notes with any cancel reason)."""
    notes = _notes_text(frame)
    return pd.DataFrame(
        {
            "Date": frame["session_date"],
            "Session": frame["session_number"].astype("Int64"),
            "Therapist": frame["therapist"],
            "Status": frame["status"].map(lambda s: STATUSES.get(s, s)),
            "Techniques": frame["techniques"].map(techniques_text),
            "Pain before": frame["pain_pre"],
            "Pain after": frame["pain_post"],
            "Relief": frame["pain_pre"] - frame["pain_post"],
            "Headache days (7 d)": frame["headache_days_7d"],
            "Headache days (28 d)": frame["headache_days_28d"],
            "Medication days (7 d)": frame["medication_days_7d"],
            "Stress": frame["stress"],
            "Sleep quality": frame["sleep_quality"],
            "HIT-6": frame["hit6"],
            "MIDAS": frame["midas"],
            "Notes": notes,
        },
        columns=SESSION_TABLE_COLUMNS,
    )


def _notes_text(frame: pd.DataFrame) -> pd.Series:
    """Notes, prefixed with the reason a session was missed ("Reason: ill. Call back")."""
    note = _text_column(frame, "notes")
    reason = _text_column(frame, "cancel_reason")
    with_reason = "Reason: " + reason + note.where(note.eq(""), ". " + note)
    return with_reason.where(reason.ne(""), note)


def _text_column(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[column].astype("string").fillna("").str.strip().astype(object)


def techniques_text(value: object) -> str:
    """ "trigger_point;swedish" -> "Trigger point therapy, Swedish massage"."""
    if value is None or pd.isna(value):
        return ""
    return ", ".join(technique_label(k.strip()) for k in str(value).split(";") if k.strip())


def _attended(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[frame["status"].eq("attended")]


FOLLOW_UP_VISIT = "Follow-up visit"


def _follow_ups(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[frame["status"].eq("follow_up")]


def pain_points(frame: pd.DataFrame) -> pd.DataFrame:
    """Pain before and after each attended session, long: date, session, `when`, `pain`.

    Follow-up visits (no treatment) add their pain with `when` = FOLLOW_UP_VISIT.
    """
    attended = _attended(frame)
    visits = _follow_ups(frame)
    follow = pd.DataFrame(
        {
            "session_date": visits["session_date"],
            "session_number": visits["session_number"],
            "when": FOLLOW_UP_VISIT,
            "pain": visits["pain_pre"],
        }
    ).dropna(subset=["pain"])
    long = attended.melt(
        id_vars=["session_date", "session_number"],
        value_vars=["pain_pre", "pain_post"],
        var_name="when",
        value_name="pain",
    )
    long["when"] = long["when"].map({"pain_pre": "Before session", "pain_post": "After session"})
    long = long.dropna(subset=["pain"]).sort_values(
        ["session_date", "when"], ascending=[True, False]
    )
    if not follow.empty:
        long = pd.concat([long, follow], ignore_index=True)
    return long.reset_index(drop=True)


def pain_target(baseline: object) -> float | None:
    """The pain level a meaningful improvement reaches: baseline - 30 % (IMMPACT, Dworkin 2008,
    after Farrar 2001), or baseline - max(30 %, PAIN_RESPONDER_MIN_POINTS) with that option set.

    None without a baseline or when the baseline is too low for the optional points fall.
    """
    value = _number(baseline)
    if np.isnan(value) or value <= 0:
        return None
    drop = max(config.PAIN_MODERATE_FRACTION * value, config.PAIN_RESPONDER_MIN_POINTS)
    target = value - drop
    return round(target, 6) if target >= 0 else None


def headache_day_points(frame: pd.DataFrame) -> pd.DataFrame:
    """Headache days per 28 days at each attended session and follow-up visit reporting them.

    A 28-day report is used as it is, else the 7-day count x 4 (docs/metrics.md). `visit`
    says "Treatment session" or FOLLOW_UP_VISIT (an assessment without treatment).
    """
    shown = frame.loc[frame["status"].isin(["attended", "follow_up"])]
    monthly = shown["headache_days_28d"].astype("float64")
    weekly = 4 * shown["headache_days_7d"].astype("float64")
    out = pd.DataFrame(
        {
            "session_date": shown["session_date"],
            "session_number": shown["session_number"],
            "days_per_28": monthly.fillna(weekly),
            "source": np.where(monthly.notna(), "28-day report", "weekly count x 4"),
            "visit": np.where(
                shown["status"].eq("follow_up"), FOLLOW_UP_VISIT, "Treatment session"
            ),
        }
    )
    return out.dropna(subset=["days_per_28"]).reset_index(drop=True)


def wellbeing_points(frame: pd.DataFrame, outcome: pd.Series | None = None) -> pd.DataFrame:
    """Stress, sleep quality and medication days per 28 days where recorded, long format.

    Columns: session_date, session_number, `measure` (label), `value`, `baseline` (the series'
    baseline from `outcome`, NaN when unknown). Measures without any report are left out.
    """
    attended = _attended(frame)
    parts = []
    for key, column, label in WELLBEING_MEASURES:
        values = attended[column].astype("float64")
        if column == "medication_days_7d":
            values = 4 * values
        baseline = np.nan if outcome is None else _number(outcome.get(f"{key}_baseline"))
        part = pd.DataFrame(
            {
                "session_date": attended["session_date"],
                "session_number": attended["session_number"],
                "measure": label,
                "value": values,
                "baseline": baseline,
            }
        ).dropna(subset=["value"])
        if not part.empty:
            parts.append(part)
    if not parts:
        columns = ["session_date", "session_number", "measure", "value", "baseline"]
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def technique_points(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per technique used at each attended session: date, session, key, label."""
    attended = _attended(frame)
    keys = attended["techniques"].fillna("").astype(str).str.split(";")
    long = attended[["session_date", "session_number"]].assign(technique=keys)
    long = long.explode("technique")
    long["technique"] = long["technique"].astype(str).str.strip()
    long = long.loc[long["technique"].ne("")].drop_duplicates()
    long["technique_label"] = long["technique"].map(technique_label)
    return long.reset_index(drop=True)


# --- text helpers ------------------------------------------------------------------------------
def list_text(value: object) -> str:
    """A ';'-joined cell as "a, b" ("not recorded" when empty)."""
    text = _text(value, default="")
    items = [item.strip() for item in text.split(";") if item.strip()]
    return ", ".join(items) if items else NOT_RECORDED


def _baseline_source_text(source: object, outcome: pd.Series | None) -> str:
    text = _lookup(BASELINE_SOURCES, source)
    if (
        text == NOT_RECORDED
        and outcome is not None
        and outcome.get("hd28_baseline_from") == "diary"
    ):
        return f"{BASELINE_SOURCES['diary']} (headache days from the imported diary)"
    return text


def _lookup(vocabulary: dict[str, str], value: object) -> str:
    text = _text(value, default="")
    return vocabulary.get(text, text) if text else NOT_RECORDED


def _text(value: object, *, default: str = NOT_RECORDED) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return default
    text = str(value).strip()
    return text or default


def _number(value: object) -> float:
    if value is None or value is pd.NA:
        return float("nan")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return number


def _is_true(value: object) -> bool:
    return value is not None and value is not pd.NA and not pd.isna(value) and bool(value)


# --- headache diary ----------------------------------------------------------------------------
def client_diary(diary: pd.DataFrame, sessions: pd.DataFrame, client_id: str) -> pd.DataFrame:
    """One client's diary as calendar days (`practice.analysis.diary.calendar_days`), with
    their attended sessions marked; empty when the client keeps no diary."""
    from practice.analysis.diary import calendar_days

    days = diary[diary["client_id"] == client_id]
    mine = sessions[(sessions["client_id"] == client_id) & sessions["status"].eq("attended")]
    return calendar_days(days, mine["session_date"])


def diary_caption(days: pd.DataFrame, outcome: pd.Series | None) -> str:
    """What the calendar covers and which of the series' figures came from it."""
    logged = int(days["level"].ne("not logged").sum())
    start, end = days["date"].min(), days["date"].max()
    text = f"{logged} diary days logged between {start:%d %b %Y} and {end:%d %b %Y}."
    source = diary_source_text(outcome, "hd28")
    if source:
        return f"{text} Headache days per 28 days of this series: {source}."
    return (
        f"{text} This series' headache days per 28 days come from the reports: the diary has "
        "too few logged days in its windows (docs/metrics.md, Headache diaries)."
    )


def diary_window_table(diary: pd.DataFrame, outcome: pd.Series) -> pd.DataFrame:
    """The series' 28-day diary windows as the page shows them: dates, logged days, headache
    and medication days per 28 days, mean severity, and how each was counted."""
    from practice.analysis.diary import diary_windows

    series = pd.DataFrame(
        [outcome[["client_id", "series_number", "first_session_date", "last_session_date"]]]
    )
    windows = diary_windows(diary[diary["client_id"] == outcome["client_id"]], series)
    counted = np.select(
        [~windows["included"].astype(bool), windows["prorated"].astype(bool)],
        ["left out: too few days logged", "pro-rated to 28 days"],
        default="as logged",
    )
    return pd.DataFrame(
        {
            "Window": windows["window"].map(lambda w: "baseline" if w == 0 else f"{w}"),
            "From": windows["window_start"].dt.date,
            "To": windows["window_end"].dt.date,
            "Days logged": windows["days_logged"].astype(int),
            "Headache days": windows["headache_days"].astype(int),
            "Headache days per 28 days": windows["hd28"].astype(float),
            "Medication days per 28 days": windows["medication_days_28"].astype(float),
            "Mean severity on headache days (0-3)": windows["severity_mean"].astype(float),
            "Counted": counted,
        }
    )

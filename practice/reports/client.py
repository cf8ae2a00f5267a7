"""The one-page client report: a treatment summary for the client, their GP or neurologist.

`summarise_client` gathers what the page says (pure pandas, from the analysis and the Client
progress helpers); `client_report_pdf` draws it on exactly one A4 page, shrinking charts and
type when there is much to say, never spilling onto a second page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from practice import config, progress
from practice.analysis import compute_client_outcomes, pain_rule_text
from practice.charts.client import headache_days_chart, pain_chart
from practice.formatting import number_text
from practice.reports.pdf import (
    ACCENT,
    BOTTOM,
    GREY,
    WARNING,
    WARNING_FILL,
    ReportDocument,
    clean,
    print_chart,
)

TITLE = "Headache treatment summary"
NAME_LIMIT = 120  # characters of a name kept before it is cut (the line shrinks to fit too)
TEXT_LIMIT = 200  # characters of any other data text (triggers, technique names)
# Measures a clinician expects in a headache-diary summary, in this order (docs/metrics.md).
REPORT_MEASURES = ("hd28", "pain", "medication_days", "hit6", "midas", "stress", "sleep_quality")
NO_FOLLOW_UP_TEXT = (
    "No follow-up score yet: only the starting values of this series are known, so no change "
    "can be shown. The change appears once a later score is recorded."
)
NOT_ATTENDED_TEXT = (
    "No session of this series was attended yet (only missed or cancelled bookings), so there "
    "are no scores to compare."
)
EXPLANATION = (
    "How to read this. Baseline: the value at intake (first series) or the first report of the "
    "series. Now: the latest report; headache and medication days average the reports of the "
    "last 28 days. Meaningful: big enough to matter to a client (at least "
    f"{100 * config.HD28_RESPONDER_FRACTION:.0f} % fewer headache days; pain down "
    f"{pain_rule_text()}; "
    f"HIT-6 down {config.HIT6_MEANINGFUL_POINTS:g} points; one MIDAS grade). Reliable: bigger "
    "than the measure's usual ups and downs (Jacobson-Truax reliable change index). Scores are "
    "reported by the client; change during treatment is not proof that treatment caused it."
)


@dataclass(frozen=True)
class ClientSummary:
    """Everything the client report says, as text and small frames."""

    client_id: str
    name: str
    details: list[str]
    series_text: str
    has_series: bool
    has_sessions: bool
    has_follow_up: bool
    measures: pd.DataFrame
    headline: list[tuple[str, str, str]]
    relief: str
    medication: str
    medication_flagged: bool
    flags: list[str]
    techniques: list[tuple[str, int]]
    pain_points: pd.DataFrame = field(repr=False)
    day_points: pd.DataFrame = field(repr=False)
    pain_baseline: float = np.nan
    hd28_baseline: float = np.nan


def summarise_client(
    clients: pd.DataFrame,
    sessions: pd.DataFrame,
    client_id: str,
    *,
    series: int | None = None,
    outcomes: pd.DataFrame | None = None,
) -> ClientSummary:
    """What the report says about `client_id`'s series `series` (default: the latest).

    Raises ValueError naming the client or series when there is no such client or series.
    """
    found = progress.find_client(clients, client_id)
    if found is None:
        raise ValueError(f"no client has the id {client_id!r}")
    if outcomes is None:
        outcomes = compute_client_outcomes(clients, sessions)
    client = clients.set_index("client_id").loc[found]
    numbers = sorted(int(n) for n in outcomes.loc[outcomes["client_id"] == found, "series_number"])
    if series is not None and series not in numbers:
        have = ", ".join(str(n) for n in numbers) or "none"
        raise ValueError(f"client {found} has no treatment series {series} (series: {have})")
    number = series if series is not None else (numbers[-1] if numbers else None)
    outcome = None
    if number is not None:
        rows = outcomes.loc[
            (outcomes["client_id"] == found) & (outcomes["series_number"] == number)
        ]
        outcome = rows.iloc[0]
    frame = (
        progress.series_sessions(sessions, found, number)
        if number is not None
        else sessions.iloc[0:0].assign(session_number=pd.Series(dtype="float64"))
    )
    measures = _measure_rows(outcome)
    return ClientSummary(
        client_id=clean(found, limit=40),
        name=clean(client.get("client_name"), limit=NAME_LIMIT) or "Name not recorded",
        details=_details(client),
        series_text=_series_text(outcome, number, len(numbers)),
        has_series=outcome is not None,
        has_sessions=outcome is not None and int(outcome["sessions_attended"]) > 0,
        has_follow_up=bool(measures["latest"].notna().any()) if len(measures) else False,
        measures=measures,
        headline=[_headline(outcome, key) for key in ("hd28", "pain")],
        relief=_relief_text(outcome),
        medication=medication_text(outcome),
        medication_flagged=medication_flagged(outcome),
        flags=_flags(outcome),
        techniques=technique_counts(frame),
        pain_points=progress.pain_points(frame) if len(frame) else pd.DataFrame(),
        day_points=progress.headache_day_points(frame) if len(frame) else pd.DataFrame(),
        pain_baseline=_value(outcome, "pain_baseline"),
        hd28_baseline=_value(outcome, "hd28_baseline"),
    )


def _value(outcome: pd.Series | None, column: str) -> float:
    if outcome is None:
        return np.nan
    value = pd.to_numeric(outcome.get(column), errors="coerce")
    return float(value) if pd.notna(value) else np.nan


def _details(client: pd.Series) -> list[str]:
    facts = dict(progress.intake_facts(client))
    birth = pd.to_numeric(client.get("birth_year"), errors="coerce")
    parts = [facts["Headache type"]]
    if pd.notna(birth):
        age = facts["Age at intake"]
        parts.append(f"born {birth:.0f}" + (f" (aged {age} at intake)" if age[0].isdigit() else ""))
    if facts["Years with headaches"] != progress.NOT_RECORDED:
        parts.append(f"headaches for {facts['Years with headaches']} years")
    parts.append(f"intake {facts['Intake date']}")
    triggers = facts["Triggers"]
    if triggers != progress.NOT_RECORDED:
        parts.append(f"triggers: {triggers}")
    return [clean(part, limit=TEXT_LIMIT) for part in parts]


def _series_text(outcome: pd.Series | None, number: int | None, count: int) -> str:
    if outcome is None or number is None:
        return "No sessions are recorded for this client yet: only the intake is known."
    first, last = outcome.get("first_session_date"), outcome.get("last_session_date")
    dates = (
        f"{pd.Timestamp(first):%d %b %Y} to {pd.Timestamp(last):%d %b %Y}"
        if pd.notna(first) and pd.notna(last)
        else "no session attended yet"
    )
    facts = dict(progress.series_facts(outcome))
    therapist = clean(outcome.get("therapist"), limit=60) or progress.NOT_RECORDED
    return (
        f"Treatment series {number} of {count}: {dates}. Sessions attended: "
        f"{facts['Sessions attended']}. Status: {facts['Status']}. Main therapist: {therapist}."
    )


def _measure_rows(outcome: pd.Series | None) -> pd.DataFrame:
    """Baseline, now, change and result of each measure recorded in the series."""
    columns = ["key", "measure", "baseline", "latest", "change", "pct_change", "result"]
    if outcome is None:
        return pd.DataFrame(columns=columns)
    summary = progress.change_summary(outcome)
    summary.insert(0, "key", [key for key, _, _ in progress.MEASURE_ROWS])
    recorded = summary["result"].ne(progress.NOT_RECORDED) & summary["key"].isin(REPORT_MEASURES)
    return summary.loc[recorded, columns].reset_index(drop=True)


def _headline(outcome: pd.Series | None, key: str) -> tuple[str, str, str]:
    """(label, "baseline -> now", "change (percent) · result") for hd28 or pain."""
    label = {"hd28": "Headache days per 28 days", "pain": "Pain before sessions (0-10)"}[key]
    source = progress.diary_source_text(outcome, key)
    label = f"{label} ({source})" if source else label
    baseline, latest = _value(outcome, f"{key}_baseline"), _value(outcome, f"{key}_latest")
    if np.isnan(baseline) and np.isnan(latest):
        return label, "not recorded", ""
    if np.isnan(latest):
        return label, f"{number_text(baseline)} \u2192 \u2013", progress.NO_FOLLOW_UP
    change = number_text(_value(outcome, f"{key}_change"), signed=True)
    pct = _value(outcome, f"{key}_pct_change")
    percent = "" if np.isnan(pct) else f" ({pct:+.0f} %)"
    result = clean(outcome.get(f"{key}_change_label") if outcome is not None else None)
    return (
        label,
        f"{number_text(baseline)} \u2192 {number_text(latest)}",
        f"{change}{percent} \u00b7 {result or 'no clear change'}",
    )


def _relief_text(outcome: pd.Series | None) -> str:
    counted_sessions = _value(outcome, "immediate_relief_sessions")
    sessions = 0 if np.isnan(counted_sessions) else int(counted_sessions)
    relief = _value(outcome, "immediate_relief_mean")
    if not sessions or np.isnan(relief):
        return "Pain straight after sessions: not recorded (pain before and after a session)."
    counted = "session" if sessions == 1 else "sessions"
    return (
        f"Pain straight after sessions: on average {number_text(relief)} points lower than "
        f"before the session ({sessions} {counted} with both scores). This short-term relief "
        "is separate from the lasting change above."
    )


def _overuse_level(days: float) -> str | None:
    """The ICHD-3 8.2 medication-overuse flag a count of medication days per 28 days raises."""
    if np.isnan(days):
        return None
    if days >= config.MEDICATION_OVERUSE_DAYS_SIMPLE:
        return "overuse under any medicine class"
    if days >= config.MEDICATION_OVERUSE_DAYS_ANY:
        return "possible overuse"
    return None


def medication_text(outcome: pd.Series | None) -> str:
    """Medication days at baseline and now, with the overuse flag (ICHD-3 8.2) in words."""
    baseline = _value(outcome, "medication_days_baseline")
    latest = _value(outcome, "medication_days_latest")
    if np.isnan(baseline) and np.isnan(latest):
        return "Medication days: not recorded, so medication overuse cannot be checked."
    now = "no follow-up report" if np.isnan(latest) else number_text(latest)
    start, current = _overuse_level(baseline), _overuse_level(latest)
    text = f"Medication days per 28 days: {number_text(baseline)} at baseline, {now} now. "
    thresholds = (
        f"(ICHD-3 8.2: {config.MEDICATION_OVERUSE_DAYS_ANY}+ days for triptans, opioids or "
        f"combination painkillers, {config.MEDICATION_OVERUSE_DAYS_SIMPLE}+ days for any)"
    )
    if start is None and current is None:
        return text + f"Overuse flag: none {thresholds}."
    flags = []
    if start is not None:
        flags.append(f"{start} at baseline")
    if current is not None:
        flags.append(f"{current} now")
    elif not np.isnan(latest):
        flags.append("below the threshold now")
    return (
        text + f"Overuse flag: {'; '.join(flags)} {thresholds}. A prompt to talk with the "
        "client's doctor, not a diagnosis."
    )


def _flags(outcome: pd.Series | None) -> list[str]:
    """Warnings that belong on a letter to a doctor."""
    flags = []
    if outcome is not None and _is_true(outcome.get("chronic_headache")):
        flags.append(
            f"Frequent headaches: {number_text(_value(outcome, 'hd28_baseline'))} headache days "
            f"per 28 days at baseline ({config.CHRONIC_HEADACHE_DAYS}+ days: chronic migraine or "
            "chronic tension-type headache to consider, ICHD-3)."
        )
    return flags


def medication_flagged(outcome: pd.Series | None) -> bool:
    """Whether medication days reach an overuse threshold at baseline or now (ICHD-3 8.2)."""
    return any(
        _overuse_level(_value(outcome, f"medication_days_{when}")) is not None
        for when in ("baseline", "latest")
    )


def _is_true(value: object) -> bool:
    return value is not None and value is not pd.NA and not pd.isna(value) and bool(value)


def technique_counts(frame: pd.DataFrame) -> list[tuple[str, int]]:
    """(technique label, attended sessions using it), most used first, then by label."""
    if frame.empty:
        return []
    used = progress.technique_points(frame)
    if used.empty:
        return []
    counts = used.groupby("technique_label").size().reset_index(name="sessions")
    counts = counts.sort_values(["sessions", "technique_label"], ascending=[False, True])
    return [
        (clean(label, limit=60), int(n))
        for label, n in zip(counts["technique_label"], counts["sessions"], strict=True)
    ]


def techniques_text(pdf: ReportDocument, techniques: Sequence[tuple[str, int]], lines: int) -> str:
    """ "Techniques used: A (8 sessions), B (3), ..." cut to `lines` lines, "and N more"."""
    if not techniques:
        return "Techniques used: none recorded."
    width = pdf.content_width * lines * 0.97
    parts: list[str] = []
    for i, (label, n) in enumerate(techniques):
        part = f"{label} ({n} session{'s' if n != 1 else ''})" if i == 0 else f"{label} ({n})"
        rest = len(techniques) - i - 1
        candidate = "Techniques used: " + ", ".join([*parts, part])
        suffix = f", and {rest} more" if rest else "."
        if pdf.get_string_width(candidate + suffix) > width and parts:
            return "Techniques used: " + ", ".join(parts) + f", and {len(techniques) - i} more."
        parts.append(part)
    return "Techniques used: " + ", ".join(parts) + "."


# --- drawing -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Fit:
    """One attempt's sizes: the base font size, the chart height (mm), technique lines."""

    size: float
    chart_height: float
    technique_lines: int
    explanation: bool = True
    charts: bool = True


# Tried in order until the page holds everything; the last one always fits (no charts).
FITS = (
    _Fit(8.5, 88, 2),
    _Fit(8.0, 70, 2),
    _Fit(7.5, 55, 1),
    _Fit(7.0, 42, 1, explanation=False),
    _Fit(6.5, 0, 1, explanation=False, charts=False),
)


def client_report_pdf(
    clients: pd.DataFrame,
    sessions: pd.DataFrame,
    client_id: str,
    *,
    series: int | None = None,
    practice_name: str | None = None,
    outcomes: pd.DataFrame | None = None,
) -> bytes:
    """A one-page A4 PDF summarising one client's treatment series (default: the latest).

    Raises ValueError naming the client id or series when they do not exist.
    """
    summary = summarise_client(clients, sessions, client_id, series=series, outcomes=outcomes)
    name = practice_name if practice_name is not None else config.PRACTICE_NAME
    charts = _chart_images(summary)
    for fit in FITS:
        pdf = ReportDocument(practice_name=name, title=TITLE)
        # The last attempt never breaks the page: whatever does not fit is cut, not spilled.
        pdf.set_auto_page_break(fit is not FITS[-1], margin=BOTTOM)
        _draw(pdf, summary, charts, fit)
        if pdf.page_no() == 1 and pdf.get_y() <= pdf.page_break_trigger:
            break
    return pdf.pdf_bytes()


def _chart_images(summary: ClientSummary) -> tuple[bytes | None, bytes | None]:
    """The pain and headache-day charts of the Client progress page, sized for half a page."""
    pain = days = None
    if not summary.pain_points.empty:
        pain = print_chart(
            pain_chart(summary.pain_points, baseline=summary.pain_baseline),
            width=340,
            height=200,
            title="Pain before and after each session",
            subtitle=[
                "Before (blue): lasting change. After (orange): relief.",
                "Green band: meaningful improvement; grey: baseline.",
            ],
        )
    if not summary.day_points.empty:
        days = print_chart(
            headache_days_chart(summary.day_points, baseline=summary.hd28_baseline),
            width=340,
            height=200,
            title="Headache days per 28 days",
            subtitle=[
                "Each point is one report (weekly count x 4, or 28 days).",
                "Grey: baseline; dashed green: 50 % fewer (responder).",
            ],
        )
    return pain, days


def _draw(
    pdf: ReportDocument,
    summary: ClientSummary,
    charts: tuple[bytes | None, bytes | None],
    fit: _Fit,
) -> None:
    pdf.add_page()
    size = fit.size
    # Who: the name shrinks to fit one line, then is cut.
    pdf.use(size=16, style="B")
    pdf.fitted_text(summary.name, pdf.content_width, size=16, min_size=10)
    pdf.cell(0, 7, pdf.truncated(summary.name, pdf.content_width), new_x="LMARGIN", new_y="NEXT")
    pdf.paragraph(
        f"Client {summary.client_id} \u00b7 " + " \u00b7 ".join(summary.details),
        size=size,
        color=GREY,
        space=0.6,
    )
    notice = None if summary.has_follow_up else NO_FOLLOW_UP_TEXT
    if summary.has_series:
        pdf.paragraph(summary.series_text, size=size, space=1.2)
        if not summary.has_sessions:
            notice = NOT_ATTENDED_TEXT
    else:
        notice = summary.series_text
    if notice:
        pdf.box(notice, size=size, fill=WARNING_FILL, color=WARNING, style="B")
    if summary.has_sessions:
        _draw_headline(pdf, summary, size)
        _draw_measures(pdf, summary, size)
        pdf.paragraph(summary.relief, size=size, space=0.8)
        for flag in summary.flags:
            pdf.box(flag, size=size, fill=WARNING_FILL, color=WARNING)
        if summary.medication_flagged:
            pdf.box(summary.medication, size=size, fill=WARNING_FILL, color=WARNING)
        else:
            pdf.paragraph(summary.medication, size=size, space=0.8)
        pdf.use(size=size)
        pdf.paragraph(
            techniques_text(pdf, summary.techniques, fit.technique_lines), size=size, space=1.0
        )
        if fit.charts:
            _draw_charts(pdf, charts, fit.chart_height)
    if fit.explanation:
        pdf.paragraph(EXPLANATION, size=size - 1, color=GREY, space=0)


def _draw_headline(pdf: ReportDocument, summary: ClientSummary, size: float) -> None:
    """Headache days and pain as two side-by-side figures: baseline -> now, change, label."""
    gap = 4.0
    width = (pdf.content_width - gap) / 2
    top = pdf.get_y()
    bottoms = []
    for i, (label, figures, change) in enumerate(summary.headline):
        x = pdf.l_margin + i * (width + gap)
        pdf.set_xy(x, top)
        pdf.use(size=size - 0.5, color=GREY)
        pdf.cell(width, size * 0.45, label, new_x="LEFT", new_y="NEXT")
        pdf.use(size=size + 6, style="B", color=ACCENT)
        pdf.cell(width, (size + 6) * 0.45, figures, new_x="LEFT", new_y="NEXT")
        pdf.use(size=size, style="B")
        pdf.multi_cell(width, size * 0.47, change or " ", new_x="LEFT", new_y="NEXT")
        bottoms.append(pdf.get_y())
    pdf.set_xy(pdf.l_margin, max(bottoms) + 1.5)


def _draw_measures(pdf: ReportDocument, summary: ClientSummary, size: float) -> None:
    rows = []
    for row in summary.measures.itertuples(index=False):
        pct = row.pct_change
        rows.append(
            [
                str(row.measure),
                number_text(row.baseline),
                number_text(row.latest),
                number_text(row.change, signed=True),
                "\u2013" if pd.isna(pct) else f"{pct:+.0f} %",
                str(row.result),
            ]
        )
    widths = (50, 18, 18, 18, 18, pdf.content_width - 122)
    pdf.data_table(
        ["Measure", "Baseline", "Now", "Change", "Change %", "Result"],
        rows,
        widths=widths,
        size=size - 0.5,
        align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
    )


def _draw_charts(
    pdf: ReportDocument, charts: tuple[bytes | None, bytes | None], height: float
) -> None:
    gap = 4.0
    width = (pdf.content_width - gap) / 2
    top = pdf.get_y() + 1
    used = [0.0]
    empty = ("No pain scores recorded in this series.", "No headache days recorded in this series.")
    for i, (image, missing) in enumerate(zip(charts, empty, strict=True)):
        x = pdf.l_margin + i * (width + gap)
        if image is None:
            pdf.placeholder(missing, x=x, y=top, width=width, height=min(height, 30))
            used.append(min(height, 30))
        else:
            used.append(pdf.png(image, x=x, y=top, width=width, height=height))
    pdf.set_xy(pdf.l_margin, top + max(used) + 2)

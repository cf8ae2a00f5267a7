"""The practice outcomes report: who was treated, how they did, by technique, headache type and
therapist, how the figures were worked out and what they cannot show.

`summarise_practice` gathers the figures (from `practice.analysis`, `practice.overview` and the
display helpers of `practice.comparisons`); `practice_report_pdf` draws them on a few A4 pages.
Therapists are "Therapist A, B, ..." unless names are asked for: the aliases replace the names
before any analysis runs, so no chart or table can show a name by accident.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from practice import comparisons, config
from practice.analysis import (
    compare_groups,
    compute_client_outcomes,
    funnel_curve,
    funnel_data,
    pain_rule_text,
)
from practice.analysis.diary import diary_source_summary
from practice.charts.groups import funnel_chart
from practice.filters import Filters, filter_outcomes, filter_sessions
from practice.formatting import estimate_text, interval_text, period_text
from practice.overview import Headlines, compute_headlines
from practice.reports.pdf import GREY, WARNING, WARNING_FILL, ReportDocument, clean, print_chart
from practice.vocabulary import HEADACHE_TYPES

TITLE = "Practice outcomes report"
POPULATIONS = {
    "all": "Everyone with a follow-up score",
    "completers": f"Completers ({config.MIN_SESSIONS_COMPLETER}+ sessions)",
    "dropouts_as_nonresponders": "Everyone, dropouts counted as not improved",
}
GROUP_TABLE_WIDTHS = (36.0, 12.0, 14.0, 28.0, 19.0, 26.0, 27.0, 20.0)
THERAPIST_TABLE_WIDTHS = (30.0, 14.0, 16.0, 30.0, 30.0, 20.0, 24.0, 18.0)
MEASURE_TITLES = {"hd28": "headache days per 28 days", "pain": "pain (0-10)"}

METHODS = [
    "Data: the sessions and intake forms recorded in the practice software and imported into "
    "Headway. Scores are reported by clients: pain before and after each session (0-10), "
    "headache and medication days, and HIT-6 and MIDAS questionnaires where used.",
    f"Treatment series: a pause of more than {config.SERIES_GAP_DAYS} days starts a new course "
    "of treatment, judged from its own start. This report counts every series with at least one "
    "attended session in the period.",
    "Baseline and change: the baseline is the value at intake (first series) or the first "
    "report of a series; 'latest' is the most recent later report, with headache and "
    "medication days averaged over the last 28 days. Change is latest minus baseline.",
    f"Responders: headache days per 28 days down by at least "
    f"{100 * config.HD28_RESPONDER_FRACTION:.0f} % (International Headache Society guidelines); "
    f"pain down by at least {pain_rule_text()} (IMMPACT: a moderately important change).",
    "Who is counted: 'everyone with a follow-up score'; 'completers' with at least "
    f"{config.MIN_SESSIONS_COMPLETER} attended sessions; and the strictest view, in which "
    "clients who stopped early without a later score count as not improved.",
    "Intervals: every figure comes with n (how many clients or series it rests on) and a 95 % "
    "interval, the range the true figure most likely lies in. Rates use the Wilson interval, "
    "mean changes the t interval, medians a distribution-free interval. Wide intervals mean "
    "'we cannot tell yet'.",
    "Adjusted difference: each technique or headache type compared with the largest group as "
    "if both had treated similar clients (same baseline, age, sex, headache type and years with "
    "headaches; ANCOVA).",
    "Funnel plot (Spiegelhalter 2005): each therapist's responder rate against their number of "
    "clients, with limits that are wide for few clients and narrow for many, widened for the "
    "usual variation between therapists. Points outside the limits differ more than chance "
    "alone would usually produce.",
    f"Small groups: groups with fewer than {config.MIN_GROUP_N} clients are shown in grey and "
    "never judged or ranked. Groups are listed by size, never by result.",
]
LIMITATIONS = [
    "No control group: there is no comparison with similar people who were not treated. "
    "Headaches come and go, and many clients start treatment at a bad time and improve anyway "
    "(regression to the mean), so improvement cannot be credited to massage alone.",
    "Confounding by indication: therapists choose techniques for the clients in front of them, "
    "and clients choose therapists. Differences between techniques or therapists may reflect "
    "who was treated rather than what was done. The adjustment only allows for what is "
    "recorded. All comparisons are associations, not proof.",
    "Dropouts: clients who stop coming early may have done better or worse than those who stay, "
    "and their last scores are often missing. Compare the three 'who is counted' columns: the "
    "strictest one counts dropouts as not improved.",
    "Missing and self-reported scores: figures rest only on the scores that were recorded; "
    "recording habits differ between therapists, and neither clients nor therapists were "
    "blinded.",
    "Many comparisons: with many groups, one will look better or worse by chance alone. Treat "
    "single differences as prompts for a conversation, not as verdicts.",
]


@dataclass(frozen=True)
class PracticeSummary:
    """Everything the practice report says, as text rows and small frames."""

    start: dt.date
    end: dt.date
    n_clients: int
    n_series: int
    population: list[tuple[str, str]]
    headlines: dict[str, Headlines]
    technique_tables: dict[str, pd.DataFrame]
    headache_type_tables: dict[str, pd.DataFrame]
    therapist_table: pd.DataFrame
    funnel_points: pd.DataFrame
    show_names: bool


# --- therapist aliases -------------------------------------------------------------------------
def alias_letters(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA": spreadsheet-style column letters."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def therapist_aliases(outcomes: pd.DataFrame) -> dict[str, str]:
    """Therapist name -> "Therapist A", "Therapist B", ... by caseload (most clients first)."""
    named = outcomes.dropna(subset=["therapist"])
    caseload = named.groupby(named["therapist"].astype(str))["client_id"].nunique()
    order = sorted(caseload.items(), key=lambda item: (-item[1], item[0]))
    return {name: f"Therapist {alias_letters(i)}" for i, (name, _) in enumerate(order)}


def anonymise_therapists(outcomes: pd.DataFrame) -> pd.DataFrame:
    """A copy of `outcomes` whose `therapist` column holds aliases instead of names."""
    aliases = therapist_aliases(outcomes)
    return outcomes.assign(therapist=outcomes["therapist"].map(aliases).astype(object))


# --- the figures -------------------------------------------------------------------------------
def report_period(
    sessions: pd.DataFrame, start: dt.date | None, end: dt.date | None
) -> tuple[dt.date, dt.date]:
    """The period as dates; a missing end is the first or last session date in the data."""
    dates = pd.to_datetime(sessions["session_date"]).dropna()
    today = dt.date.today()
    first = dates.min().date() if len(dates) else today
    last = dates.max().date() if len(dates) else today
    chosen = (start or first, end or last)
    if chosen[0] > chosen[1]:
        raise ValueError(f"the period starts ({chosen[0]}) after it ends ({chosen[1]})")
    return chosen


def summarise_practice(
    clients: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    show_names: bool = False,
    outcomes: pd.DataFrame | None = None,
) -> PracticeSummary:
    """The figures of the practice report for the series under way between start and end."""
    first, last = report_period(sessions, start, end)
    if outcomes is None:
        outcomes = compute_client_outcomes(clients, sessions)
    filters = Filters(start=first, end=last)
    counted = filter_outcomes(outcomes, filters)
    if not show_names:
        counted = anonymise_therapists(counted)
    in_period = filter_sessions(sessions, clients, filters)
    headlines = {
        population: compute_headlines(counted, in_period, population=population)
        for population in POPULATIONS
    }
    empty = counted.empty
    return PracticeSummary(
        start=first,
        end=last,
        n_clients=int(counted["client_id"].nunique()),
        n_series=len(counted),
        population=population_rows(
            counted,
            in_period,
            headlines["all"],
            status=series_status_at(clients, sessions, counted, last),
            status_date=last,
        ),
        headlines=headlines,
        technique_tables={} if empty else _group_tables(counted, "primary_technique"),
        headache_type_tables={} if empty else _group_tables(counted, "headache_type"),
        therapist_table=pd.DataFrame() if empty else _therapist_table(counted),
        funnel_points=pd.DataFrame() if empty else _funnel_points(counted),
        show_names=show_names,
    )


def _share(count: int, total: int) -> str:
    return f"{count:,} of {total:,} ({100 * count / total:.0f} %)" if total else "none"


def _median_iqr(values: pd.Series, unit: str = "") -> str:
    data = pd.to_numeric(values, errors="coerce").dropna()
    if data.empty:
        return "not recorded"
    q1, median, q3 = np.percentile(data, [25, 50, 75])
    return f"median {median:.0f}{unit} (middle half {q1:.0f} to {q3:.0f}), n = {len(data):,}"


def series_status_at(
    clients: pd.DataFrame, sessions: pd.DataFrame, outcomes: pd.DataFrame, end: dt.date
) -> pd.Series:
    """Each series' status (completer, ongoing, dropout) as it stood at `end`, aligned with
    `outcomes`: judged on the sessions up to that day, against that day.

    A report for a past period must not call a series that was under way at the period's end
    a dropout because the data goes on (rule in docs/metrics.md, "Series status").
    """
    dates = pd.to_datetime(sessions["session_date"])
    until = sessions.loc[dates.le(pd.Timestamp(end))]
    if until.empty or outcomes.empty:
        return pd.Series("unknown", index=outcomes.index, dtype=object)
    then = compute_client_outcomes(clients, until, as_of=end)
    status = then.set_index(["client_id", "series_number"])["series_status"]
    keys = pd.MultiIndex.from_frame(outcomes[["client_id", "series_number"]])
    return pd.Series(status.reindex(keys).to_numpy(), index=outcomes.index, dtype=object)


def population_rows(
    outcomes: pd.DataFrame,
    sessions: pd.DataFrame,
    headlines: Headlines,
    *,
    status: pd.Series | None = None,
    status_date: dt.date | None = None,
) -> list[tuple[str, str]]:
    """(label, text) rows describing who was treated in the period; `status` (as of
    `status_date`, the period's end) replaces the series status judged on all the data."""
    clients = outcomes.drop_duplicates("client_id")
    n_clients, n_series = len(clients), len(outcomes)
    attended = int(sessions["status"].eq("attended").sum()) if len(sessions) else 0
    types = clients["headache_type"].map(lambda t: HEADACHE_TYPES.get(t, t)).fillna("not recorded")
    type_counts = types.value_counts()
    sexes = clients["sex"].dropna()
    women = int(sexes.eq("female").sum())
    status = (outcomes["series_status"] if status is None else status).fillna("unknown")
    followed = outcomes[[c for c in outcomes.columns if c.endswith("_latest")]].notna().any(axis=1)
    based_hd28 = outcomes["hd28_baseline"].notna()
    based_medication = outcomes["medication_days_baseline"].notna()
    return [
        ("Clients", f"{n_clients:,}"),
        ("Treatment series", f"{n_series:,}"),
        ("Attended sessions in the period", f"{attended:,}"),
        ("Therapists (main therapist of a series)", f"{outcomes['therapist'].nunique():,}"),
        (
            "Headache types (clients)",
            ", ".join(
                f"{clean(t, limit=40)} {_share(int(n), n_clients)}" for t, n in type_counts.items()
            )
            or "none",
        ),
        (
            "Sex (clients)",
            f"women {_share(women, len(sexes))}" if len(sexes) else "not recorded",
        ),
        ("Age at intake", _median_iqr(clients["age_at_intake"], " years")),
        ("Headache days per 28 days at baseline", _median_iqr(outcomes["hd28_baseline"])),
        (
            "Headache days per 28 days came",
            diary_source_summary(outcomes) or "from reports (no headache diary)",
        ),
        (
            f"Chronic at baseline ({config.CHRONIC_HEADACHE_DAYS}+ headache days)",
            _share(int(outcomes["chronic_headache"].eq(True).sum()), int(based_hd28.sum())),
        ),
        (
            f"Possible medication overuse at baseline ({config.MEDICATION_OVERUSE_DAYS_ANY}+ days)",
            _share(
                int(outcomes["possible_medication_overuse"].eq(True).sum()),
                int(based_medication.sum()),
            ),
        ),
        (
            "Series status" + (f" on {status_date:%d %b %Y}" if status_date else ""),
            "; ".join(
                f"{label} {_share(int(status.eq(key).sum()), n_series)}"
                for key, label in (
                    ("completer", "completers"),
                    ("ongoing", "still ongoing"),
                    ("dropout", "dropouts"),
                )
            ),
        ),
        ("Series with a follow-up score", _share(int(followed.sum()), n_series)),
        (
            "Attended sessions with a score",
            f"{estimate_text((headlines.scored_share), percent=True)} "
            f"({interval_text((headlines.scored_share), percent=True)})",
        ),
    ]


def headline_rows(headlines: dict[str, Headlines]) -> list[list[str]]:
    """The headline outcomes, one column per population: for each figure a row of estimates
    followed by a row of their 95 % intervals and n (the Overview's wording)."""
    figures = [
        (
            f"Headache-day responders ({100 * config.HD28_RESPONDER_FRACTION:.0f} % fewer days)",
            lambda h: h.hd28_responder_rate,
            {"percent": True},
            "",
        ),
        (
            f"Pain responders ({pain_rule_text()} less)",
            lambda h: h.pain_responder_rate,
            {"percent": True},
            "",
        ),
        (
            "Median change in headache days per 28 days",
            lambda h: h.hd28_median_change,
            {"signed": True},
            " days",
        ),
    ]
    rows = []
    for label, pick, style, unit in figures:
        estimates = [pick(headlines[population]) for population in POPULATIONS]
        rows.append([label, *(estimate_text(e, unit=unit, **style) for e in estimates)])
        rows.append(["", *(interval_text(e, **style) for e in estimates)])
    return rows


def _group_tables(outcomes: pd.DataFrame, by: str) -> dict[str, pd.DataFrame]:
    """Readable `compare_groups` tables of headache days and pain (largest group first)."""
    tables = {}
    for measure in MEASURE_TITLES:
        table = compare_groups(outcomes, by=by, measure=measure)
        shown = comparisons.group_table(table, by=by, measure=measure)
        tables[measure] = shown.assign(_small=table["small_n"].fillna(False).astype(bool).values)
    return tables


def _funnel_points(outcomes: pd.DataFrame) -> pd.DataFrame:
    return funnel_data(outcomes, measure="hd28", statistic="responder_rate", by="therapist")


def _therapist_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    groups = compare_groups(outcomes, by="therapist", measure="hd28")
    residuals = funnel_data(outcomes, measure="hd28", statistic="adjusted_residual", by="therapist")
    points = _funnel_points(outcomes)
    summary = comparisons.therapist_summary(groups, residuals, points)
    shown = comparisons.therapist_table(summary, measure="hd28")
    return shown.assign(_small=summary["small_n"].fillna(False).astype(bool).values)


# --- drawing -----------------------------------------------------------------------------------
def practice_report_pdf(
    clients: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    show_names: bool = False,
    practice_name: str | None = None,
    outcomes: pd.DataFrame | None = None,
) -> bytes:
    """A PDF of the practice's outcomes for the series under way between start and end.

    Therapists are "Therapist A, B, ..." unless `show_names`; a missing start or end is the
    first or last session in the data.
    """
    summary = summarise_practice(
        clients, sessions, start=start, end=end, show_names=show_names, outcomes=outcomes
    )
    name = practice_name if practice_name is not None else config.PRACTICE_NAME
    pdf = ReportDocument(practice_name=name, title=TITLE)
    pdf.add_page()
    _draw_overview(pdf, summary, name)
    if summary.n_series:
        _draw_groups(pdf, summary)
        _draw_therapists(pdf, summary)
    _draw_methods(pdf)
    return pdf.pdf_bytes()


def _draw_overview(pdf: ReportDocument, summary: PracticeSummary, name: str) -> None:
    pdf.use(size=18, style="B")
    pdf.cell(0, 9, TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.paragraph(
        f"{clean(name, limit=80)} \u00b7 "
        + period_text(pd.Timestamp(summary.start), pd.Timestamp(summary.end)),
        size=11,
        color=GREY,
        space=1.5,
    )
    if not summary.n_series:
        pdf.box(
            f"No treatment series had an attended session between {summary.start:%d %b %Y} and "
            f"{summary.end:%d %b %Y}, so there is nothing to report for this period.",
            fill=WARNING_FILL,
            color=WARNING,
            style="B",
        )
        return
    pdf.paragraph(
        f"This report covers the {summary.n_series:,} treatment series of {summary.n_clients:,} "
        f"clients that had at least one attended session between {summary.start:%d %b %Y} and "
        f"{summary.end:%d %b %Y}. Each figure gives n (how many it rests on) and its 95 % "
        "interval. How the figures were worked out, and what they cannot show, is on the last "
        "page.",
        space=1.5,
    )
    pdf.heading("Who was treated")
    pdf.data_table(
        None,
        [[label, text] for label, text in summary.population],
        widths=(62, pdf.content_width - 62),
        size=8,
        align=("LEFT", "LEFT"),
    )
    pdf.heading("How clients did")
    pdf.paragraph(
        "Three views of who is counted, from the most flattering to the strictest. A responder "
        "is a client whose improvement reaches a published threshold. Under each figure: its "
        "95 % interval and n, the number of treatment series it rests on.",
        size=8,
        color=GREY,
    )
    rows = headline_rows(summary.headlines)
    pdf.data_table(
        ["", *POPULATIONS.values()],
        rows,
        widths=(44, 46, 46, pdf.content_width - 136),
        size=7.5,
        muted_rows=[i % 2 == 1 for i in range(len(rows))],
        align=("LEFT", "LEFT", "LEFT", "LEFT"),
    )


def _draw_groups(pdf: ReportDocument, summary: PracticeSummary) -> None:
    pdf.add_page()
    pdf.heading("Change by technique and by headache type", size=13, space=0)
    pdf.paragraph(
        "Per primary technique (the one used in most sessions of a series) and per headache "
        "type. Change: latest minus baseline, average per series; negative means fewer headache "
        "days or less pain. Adjusted difference: compared with the reference group (the largest) "
        "for similar clients. Grey rows: fewer than "
        f"{config.MIN_GROUP_N} clients, not judged. These are associations, not proof: "
        "therapists choose techniques for their clients.",
        size=8,
        color=GREY,
    )
    for tables, label in (
        (summary.technique_tables, "Technique"),
        (summary.headache_type_tables, "Headache type"),
    ):
        for measure, table in tables.items():
            pdf.heading(f"{label}: {MEASURE_TITLES[measure]}", size=10)
            _group_table(pdf, table, first=label)


def _group_table(pdf: ReportDocument, table: pd.DataFrame, *, first: str) -> None:
    if table.empty:
        pdf.paragraph("No series with a score.", size=8)
        return
    shown = table.drop(columns="_small")
    headers = [first if c == "Group" else c for c in shown.columns]
    widths = list(GROUP_TABLE_WIDTHS[: len(headers) - 1])
    widths.append(pdf.content_width - sum(widths))
    pdf.data_table(
        headers,
        [[str(v) for v in row] for row in shown.itertuples(index=False)],
        widths=widths,
        size=7,
        muted_rows=list(table["_small"]),
        align=["LEFT", *["RIGHT"] * (len(headers) - 2), "LEFT"],
    )


def _draw_therapists(pdf: ReportDocument, summary: PracticeSummary) -> None:
    pdf.add_page()
    pdf.heading("Therapists: a funnel plot, not a league table", size=13, space=0)
    names = "by name, as asked" if summary.show_names else "as Therapist A, B, ... (no names)"
    pdf.paragraph(
        f"Therapists are shown {names}, ordered by caseload, never by result. Each dot is a "
        "therapist's share of headache-day responders against their number of clients; the "
        "funnel shows how far a result can land from the practice's by chance alone. A dot "
        "outside the funnel is a prompt to talk about case mix and recording, not a verdict.",
        size=8,
        color=GREY,
    )
    points = summary.funnel_points
    if points.empty:
        pdf.paragraph("Too few clients with headache-day scores to draw a funnel.", size=8)
    else:
        chart = funnel_chart(
            points,
            funnel_curve(points),
            value_title="Headache-day responders",
            percent=True,
        )
        image = print_chart(
            chart,
            width=620,
            height=300,
            title="Funnel plot: headache-day responder rate by therapist",
            subtitle="Solid line: practice rate; dashed: 95 % limits; outer: 99.8 % limits.",
        )
        top = pdf.get_y() + 1
        used = pdf.png(image, x=pdf.l_margin, y=top, width=pdf.content_width, height=110)
        pdf.set_y(top + used + 2)
    table = summary.therapist_table
    if not table.empty:
        shown = table.drop(columns="_small")
        widths = list(THERAPIST_TABLE_WIDTHS[: len(shown.columns) - 1])
        widths.append(pdf.content_width - sum(widths))
        pdf.data_table(
            list(shown.columns),
            [[str(v) for v in row] for row in shown.itertuples(index=False)],
            widths=widths,
            size=7,
            muted_rows=list(table["_small"]),
            align=["LEFT", *["RIGHT"] * (len(shown.columns) - 3), "LEFT", "LEFT"],
        )
        pdf.paragraph(
            "Adjusted residual: how many headache days per 28 days more (+) or fewer (-) the "
            "therapist's clients ended with than expected for similar clients; 0 = as expected.",
            size=7.5,
            color=GREY,
        )


def _draw_methods(pdf: ReportDocument) -> None:
    pdf.add_page()
    pdf.heading("How the figures were worked out", size=13, space=0)
    pdf.bullets(METHODS, size=8.5)
    pdf.heading("What these figures cannot show", size=13)
    pdf.bullets(LIMITATIONS, size=8.5)
    pdf.paragraph(
        "Every measure and threshold is explained, with its source, in Headway's docs/metrics.md.",
        size=8,
        color=GREY,
    )

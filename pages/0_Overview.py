"""Overview: how the practice's clients are doing, and who needs a look."""

from datetime import date
from functools import partial

import pandas as pd
import streamlit as st

from practice import config, overview, ui
from practice.charts import overview as charts
from practice.formatting import estimate_text, interval_text, period_text


def practice_report_pdf(
    clients: pd.DataFrame, sessions: pd.DataFrame, *, start: date, end: date, outcomes: pd.DataFrame
) -> bytes:
    """The practice report's PDF, built when its button is clicked."""
    # Imported here: fpdf2 and the report's modules take 1-2 s to import, which every cold
    # start paid for a button most visits never click.
    from practice import reports

    return reports.practice_report_pdf(clients, sessions, start=start, end=end, outcomes=outcomes)


ui.require_router(__file__)
filters = ui.current_filters()
counts = ui.visible_counts()
if counts.sessions == 0:
    st.info(
        "No sessions are stored yet. Import your practice software's CSV export on the "
        "**Import data** page, or with `python -m practice import FILE.csv`."
    )
    st.stop()

# The trend covers the sidebar's period (else all the data): a month it covers only in part is
# greyed, not read as a drop.
figures = ui.overview_figures(
    filters,
    start=filters.start or counts.first_session,
    end=filters.end or counts.last_session,
)
headlines = figures.headlines
st.caption(
    f"{counts.clients:,} clients, {counts.sessions:,} sessions and "
    f"{counts.therapists} therapists stored, {counts.first_session:%d %b %Y} to "
    f"{counts.last_session:%d %b %Y}. Showing {filters.describe()}; "
    f"{ui.POPULATION_LABELS[filters.population].lower()}. "
    f"{figures.baselines}"
)

user = ui.current_user()
if user is None or user.role == "owner":  # the report holds the therapist funnel: owners only
    first = filters.start or counts.first_session.date()
    last = filters.end or counts.last_session.date()
    ui.download_report(
        "Download practice report (PDF)",
        data=partial(
            practice_report_pdf,
            ui.load_clients(),
            ui.load_sessions(),
            start=first,
            end=last,
            outcomes=ui.load_outcomes(),
        ),
        file_name=f"practice-report_{first}_{last}.pdf",
        key="pdf-practice-report",
        help=f"A few A4 pages on the treatment series under way from {first:%d %b %Y} to "
        f"{last:%d %b %Y} (the sidebar's period; its other filters do not apply): who was "
        "treated, responder rates with 95 % intervals, change by technique and headache type, "
        "the therapist funnel plot (Therapist A, B, ... without names), methods and limitations.",
    )

activity = st.columns(3)
activity[0].metric(
    "Active clients",
    f"{headlines.active_clients:,}",
    help="Clients whose current treatment series is still going: their last session was "
    "recent for their usual rhythm.",
)
activity[1].metric(
    "Sessions in the last 30 days",
    f"{headlines.recent_sessions:,}",
    help=period_text(headlines.recent_start, headlines.recent_end),
)
activity[2].metric(
    "Sessions with a score",
    estimate_text(headlines.scored_share, percent=True),
    help="Attended sessions with at least one score recorded: the more sessions are scored, "
    "the more the outcome figures can be trusted.",
)
activity[2].caption(interval_text(headlines.scored_share, percent=True))

results = st.columns(3)
results[0].metric(
    "Median change in headache days",
    estimate_text(headlines.hd28_median_change, signed=True, unit=" days"),
    help="Per 28 days, latest minus baseline; half of the clients changed more. Negative is "
    "fewer headache days.",
)
results[1].metric(
    "Headache-day responders",
    estimate_text(headlines.hd28_responder_rate, percent=True),
    help="Share of clients with at least 50 % fewer headache days per 28 days than at "
    "baseline (the IHS responder rule).",
)
results[2].metric(
    "Pain responders",
    estimate_text(headlines.pain_responder_rate, percent=True),
    help=f"Share of clients whose usual pain fell by at least {overview.PAIN_RULE} (moderately "
    "important change, IMMPACT).",
)
results[0].caption(interval_text(headlines.hd28_median_change, signed=True))
results[1].caption(interval_text(headlines.hd28_responder_rate, percent=True))
results[2].caption(interval_text(headlines.pain_responder_rate, percent=True))
if figures.empty:  # the results above show "–": say which rule left nobody to count
    st.info(figures.empty)

left, right = st.columns(2)
with left:
    ui.show_chart(partial(charts.monthly_sessions_chart, figures.trend), "sessions-per-month.png")
with right:
    ui.show_chart(partial(charts.monthly_outcomes_chart, figures.trend), "outcomes-per-month.png")
ui.show_chart(
    partial(charts.change_distribution_chart, figures.distribution), "change-distribution.png"
)

st.subheader("Clients needing attention")
alerts = ui.off_track_alerts(filters)
st.caption(
    "Clients in a current series who have not improved by 30 % after several sessions, "
    "or whose scores got reliably worse. Open a client's progress before their next "
    "session."
)
if alerts.empty:
    st.success("No client is off track right now.")
else:
    # A page of the table reruns the table only (a fragment), not the charts above.
    st.fragment(ui.show_client_table)(
        alerts,
        [
            "client_id",
            "client_name",
            "therapist",
            "sessions_attended",
            "pain_pct_change",
            "hd28_pct_change",
            "reason",
        ],
        file_name="clients-needing-attention.csv",
        order="reliably worse first, then by id",
    )
ui.explain(
    "What these numbers mean",
    f"""
- **Baseline** is how a client was at intake (or at their first session); **latest** is their
  most recent report. **Change** is latest minus baseline: negative means fewer headache days or
  less pain.
- **Headache days per 28 days** come from the weekly count at each session (x 4) or a 28-day
  diary, averaged over the last 28 days of the series.
- A **responder** has at least 50 % fewer headache days than at baseline (International
  Headache Society), or, for pain, at least {overview.PAIN_RULE} less (IMMPACT).
- The **95 % interval** is the range the true figure most likely lies in; with few clients it
  is wide. **n** is how many clients or sessions the figure rests on.
- **Who is counted** (sidebar): everyone with a follow-up score, completers only, or everyone
  with dropouts counted as not improved (the strictest view). "Everyone with a follow-up score"
  counts each client with their **last available value** (last observation carried forward),
  however early they stopped coming.
- **Baselines** come from a headache diary kept before treatment or from the client's recall at
  intake (counted in the caption above; the sidebar's *Baseline* filter keeps one kind). A
  recalled baseline is less certain than a diary's, so a change measured from it is too.
- **Monthly charts**: a month the period covers only in part is grey; a month with fewer
  than {config.MONTHLY_MIN_SCORES} sessions with a score has no mean (too few to stand for
  the practice's month); the small numbers are each month's n.
- These are observations of a practice, not a trial: clients who stay may differ from those who
  leave, and headaches often ease on their own after a bad spell. See docs/metrics.md.
""",
)

"""PDF reports: rendered on the sample practice, read back as text, checked against the analysis."""

from __future__ import annotations

import datetime as dt
import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from practice import config
from practice.analysis import compare_groups, compute_client_outcomes
from practice.bootstrap import open_database
from practice.cli import main
from practice.filters import Filters, filter_outcomes, filter_sessions
from practice.overview import compute_headlines
from practice.queries import fetch_clients, fetch_sessions
from practice.reports import client as client_module
from practice.reports import client_report_pdf, practice_report_pdf
from practice.reports.client import medication_text, technique_counts
from practice.reports.pdf import ReportDocument, clean, unicode_font_files
from practice.reports.practice_report import POPULATIONS, alias_letters, therapist_aliases
from practice.vocabulary import HEADACHE_TYPES, technique_label
from tests.altair_globals import foreign_settings_on_another_thread
from tests.pdf_charts import chart_images, draws_data_lines

ROOT = Path(__file__).resolve().parent.parent
PERIOD = (dt.date(2025, 9, 1), dt.date(2026, 8, 31))
PRACTICE = "Kopfweh-Praxis Müller"
# Accents, a right-to-left override, markup, a newline and a bell: shown as typed, on one line.
LONG_NAME = "Zoë\u202e **Núñez**\n<b>Ångström</b>\x07 " + "Wolfeschlegelsteinhausenbergerdorff " * 6


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'sample.sqlite3'}"
    open_database(url, seed=True)
    return url


@pytest.fixture(scope="module")
def frames(db_url: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The sample practice's clients, sessions and per-series outcomes."""
    with open_database(db_url, seed=False).connect() as conn:
        clients, sessions = fetch_clients(conn), fetch_sessions(conn)
    return clients, sessions, compute_client_outcomes(clients, sessions)


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text with runs of whitespace made single spaces."""
    return [
        re.sub(r"\s+", " ", page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages
    ]


def pdf_text(data: bytes) -> str:
    return " ".join(pdf_pages(data))


def fully_followed(outcomes: pd.DataFrame) -> pd.Series:
    """The first single-series client with a follow-up of headache days and pain."""
    single = outcomes.groupby("client_id")["series_number"].transform("size").eq(1)
    rows = outcomes.loc[
        single
        & outcomes["hd28_latest"].notna()
        & outcomes["pain_latest"].notna()
        & outcomes["hd28_pct_change"].notna()
    ]
    return rows.sort_values("client_id").iloc[0]


def signed(value: float, digits: int = 1) -> str:
    return f"{value:+.{digits}f}"


# --- the client report -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client_report(frames) -> tuple[pd.Series, str, bytes]:
    clients, sessions, outcomes = frames
    row = fully_followed(outcomes)
    data = client_report_pdf(clients, sessions, row["client_id"], practice_name=PRACTICE)
    return row, pdf_text(data), data


def test_client_report_is_one_page_with_who_and_the_practice(client_report, frames) -> None:
    row, text, data = client_report
    clients = frames[0].set_index("client_id")
    assert len(pdf_pages(data)) == 1
    assert row["client_name"] in text
    assert f"Client {row['client_id']}" in text
    assert HEADACHE_TYPES[clients.loc[row["client_id"], "headache_type"]] in text
    assert PRACTICE in text
    assert f"{row['first_session_date']:%d %b %Y} to {row['last_session_date']:%d %b %Y}" in text
    assert f"{row['sessions_attended']} of {row['sessions_booked']} booked" in text


def test_client_report_figures_equal_the_analysis(client_report) -> None:
    row, text, _ = client_report
    for key in ("hd28", "pain"):
        baseline, latest = row[f"{key}_baseline"], row[f"{key}_latest"]
        assert f"{baseline:.1f} \u2192 {latest:.1f}" in text
        change = f"{signed(row[f'{key}_change'])} ({row[f'{key}_pct_change']:+.0f} %)"
        assert f"{change} \u00b7 {row[f'{key}_change_label']}" in text
    medication = (
        f"{row['medication_days_baseline']:.1f} at baseline, "
        f"{row['medication_days_latest']:.1f} now. Overuse flag:"
    )
    assert f"Medication days per 28 days: {medication}" in text
    relief = f"on average {row['immediate_relief_mean']:.1f} points lower"
    assert relief in text
    assert "Meaningful: big enough to matter" in text


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("hd28", "Headache days per 28 days"),
        ("pain", "Pain (0-10)"),
        ("medication_days", "Medication days per 28 days"),
    ],
)
def test_client_report_table_rows_equal_the_analysis(client_report, key, label) -> None:
    row, text, _ = client_report
    pct = row[f"{key}_pct_change"]
    expected = (
        f"{label} {row[f'{key}_baseline']:.1f} {row[f'{key}_latest']:.1f} "
        f"{signed(row[f'{key}_change'])} "
        + ("\u2013" if pd.isna(pct) else f"{pct:+.0f} %")
        + f" {row[f'{key}_change_label']}"
    )
    assert expected in text


def test_client_report_draws_the_two_trajectory_charts(client_report) -> None:
    _, _, data = client_report
    assert len(PdfReader(io.BytesIO(data)).pages[0].images) == 2


@pytest.mark.parametrize("client_id", ["C0042", "C0001"])
def test_client_report_charts_are_whole_while_a_page_draws_its_charts(frames, client_id) -> None:
    """Seen in the browser: a PDF downloaded while the page reran had charts without data lines
    (Streamlit switches Altair's global data transformer while it draws a page's chart)."""
    clients, sessions, outcomes = frames
    expected = client_report_pdf(clients, sessions, client_id, outcomes=outcomes)
    assert draws_data_lines(expected)
    for _ in range(2):
        with foreign_settings_on_another_thread():
            data = client_report_pdf(clients, sessions, client_id, outcomes=outcomes)
        assert chart_images(data) == chart_images(expected)


def test_client_reports_built_on_several_threads_at_once_are_all_whole(frames) -> None:
    """Several people downloading at once: each download builds on its own thread."""
    clients, sessions, outcomes = frames
    ids = ["C0042", "C0001", "C0042", "C0001"]
    expected = {
        i: chart_images(client_report_pdf(clients, sessions, i, outcomes=outcomes))
        for i in set(ids)
    }
    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        built = list(
            pool.map(lambda i: client_report_pdf(clients, sessions, i, outcomes=outcomes), ids)
        )
    assert [chart_images(data) for data in built] == [expected[i] for i in ids]


def test_client_report_lists_the_most_used_technique_first(client_report, frames) -> None:
    row, text, _ = client_report
    sessions = frames[1]
    mine = sessions[
        (sessions["client_id"] == row["client_id"]) & (sessions["status"] == "attended")
    ]
    keys = mine["techniques"].dropna().str.split(";").explode().str.strip()
    top_key = keys.value_counts().sort_index().sort_values(ascending=False, kind="stable").index[0]
    top = f"Techniques used: {technique_label(top_key)} ({keys.value_counts()[top_key]} session"
    assert top in text


def test_busiest_client_still_fits_one_page(frames) -> None:
    clients, sessions, outcomes = frames
    busiest = sessions.groupby("client_id").size().idxmax()
    data = client_report_pdf(clients, sessions, busiest, outcomes=outcomes)
    assert len(pdf_pages(data)) == 1


def test_client_without_follow_up_says_so_on_one_page(frames) -> None:
    clients, sessions, outcomes = frames
    latest = outcomes[[c for c in outcomes.columns if c.endswith("_latest")]]
    row = outcomes.loc[latest.isna().all(axis=1)].sort_values("client_id").iloc[0]
    data = client_report_pdf(
        clients, sessions, row["client_id"], series=int(row["series_number"]), outcomes=outcomes
    )
    pages = pdf_pages(data)
    assert len(pages) == 1
    assert "No follow-up score yet" in pages[0]
    assert f"{row['hd28_baseline']:.1f} \u2192 \u2013" in pages[0]


def test_client_with_no_sessions_gets_the_intake_only(frames) -> None:
    clients, sessions, _ = frames
    extra = clients.iloc[[0]].assign(client_id="Z999", client_name="Nadia Sessionless")
    data = client_report_pdf(pd.concat([clients, extra]), sessions, "Z999")
    text = pdf_text(data)
    assert "Nadia Sessionless" in text
    assert "No sessions are recorded for this client yet" in text


def test_client_with_only_missed_sessions_says_so(frames) -> None:
    clients, sessions, _ = frames
    extra = clients.iloc[[0]].assign(client_id="Z998", client_name="Milo Missed")
    missed = sessions.iloc[[0]].assign(
        client_id="Z998", session_id=sessions["session_id"].max() + 1, status="no_show"
    )
    data = client_report_pdf(pd.concat([clients, extra]), pd.concat([sessions, missed]), "Z998")
    pages = pdf_pages(data)
    assert len(pages) == 1
    assert "Sessions attended: 0 of 1 booked" in pages[0]
    assert "No session of this series was attended yet" in pages[0]


def test_long_name_flags_and_many_techniques_stay_on_one_page(frames) -> None:
    """The worst case: a long accented name with controls and markup, long triggers, both risk
    flags, no follow-up."""
    clients, sessions, outcomes = frames
    latest = outcomes[[c for c in outcomes.columns if c.endswith("_latest")]]
    target = outcomes.loc[latest.isna().all(axis=1), "client_id"].sort_values().iloc[0]
    mine = clients["client_id"] == target
    clients = clients.copy()
    clients.loc[mine, "client_name"] = LONG_NAME
    clients.loc[mine, "triggers"] = ";".join(f"a very long trigger {i}" for i in range(60))
    clients.loc[mine, "baseline_headache_days_28d"] = 22.0
    clients.loc[mine, "baseline_medication_days_28d"] = 16.0
    sessions = sessions.copy()
    theirs = sessions["client_id"] == target
    sessions.loc[theirs, "techniques"] = ";".join(f"custom_method_{i}" for i in range(40))
    data = client_report_pdf(clients, sessions, target)
    pages = pdf_pages(data)
    assert len(pages) == 1
    assert "Zoë **Núñez** <b>Ångström</b> Wolfe" in pages[0]
    assert "\u202e" not in pages[0] and "\x07" not in pages[0]
    assert "Frequent headaches: 22.0 headache days" in pages[0]
    assert "overuse under any medicine class at baseline" in pages[0]
    assert re.search(r"and \d+ more\.", pages[0])


def test_a_layout_too_big_for_the_page_falls_back_to_a_smaller_one(frames, monkeypatch) -> None:
    clients, sessions, outcomes = frames
    row = fully_followed(outcomes)
    huge = client_module._Fit(30.0, 88, 2)  # type this large cannot fit one page
    monkeypatch.setattr(client_module, "FITS", (huge, *client_module.FITS))
    tried = []
    draw = client_module._draw

    def spy(pdf, summary, charts, fit):
        tried.append(fit.size)
        draw(pdf, summary, charts, fit)

    monkeypatch.setattr(client_module, "_draw", spy)
    data = client_report_pdf(clients, sessions, row["client_id"], outcomes=outcomes)
    reader = PdfReader(io.BytesIO(data))
    assert tried == [30.0, client_module.FITS[1].size]
    assert len(reader.pages) == 1
    assert len(reader.pages[0].images) == 2


@pytest.mark.parametrize(
    ("client_id", "series", "message"),
    [
        ("C9999", None, "no client has the id 'C9999'"),
        ("C0001", 7, "client C0001 has no treatment series 7"),
    ],
)
def test_unknown_client_or_series_is_refused_by_name(frames, client_id, series, message) -> None:
    clients, sessions, outcomes = frames
    with pytest.raises(ValueError, match=re.escape(message)):
        client_report_pdf(clients, sessions, client_id, series=series, outcomes=outcomes)


# --- the practice report -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def practice_reports(frames) -> tuple[str, int]:
    """The period's report (therapists anonymised) as text, and its number of pages."""
    clients, sessions, outcomes = frames
    start, end = PERIOD
    anonymous = practice_report_pdf(
        clients, sessions, start=start, end=end, outcomes=outcomes, practice_name=PRACTICE
    )
    return pdf_text(anonymous), len(pdf_pages(anonymous))


def period_frames(frames):
    clients, sessions, outcomes = frames
    filters = Filters(start=PERIOD[0], end=PERIOD[1])
    return filter_outcomes(outcomes, filters), filter_sessions(sessions, clients, filters)


def test_practice_report_population_matches_the_period(practice_reports, frames) -> None:
    text, pages = practice_reports
    counted, in_period = period_frames(frames)
    assert 2 <= pages <= 6
    assert PRACTICE in text
    assert "01 Sep 2025 to 31 Aug 2026" in text
    assert f"Clients {counted['client_id'].nunique()}" in text
    assert f"Treatment series {len(counted)}" in text
    attended = int(in_period["status"].eq("attended").sum())
    assert f"Attended sessions in the period {attended}" in text


def test_practice_report_judges_series_status_at_the_period_end(frames) -> None:
    """Seen: a report for a past period said "still ongoing 0 of 76" because each series was
    judged against the last date in the data, not the period's end."""
    clients, sessions, outcomes = frames
    start, end = dt.date(2025, 9, 1), dt.date(2026, 1, 31)
    text = pdf_text(practice_report_pdf(clients, sessions, start=start, end=end, outcomes=outcomes))
    counted = filter_outcomes(outcomes, Filters(start=start, end=end))
    then = compute_client_outcomes(
        clients, sessions.loc[sessions["session_date"] <= pd.Timestamp(end)], as_of=end
    )
    status = counted[["client_id", "series_number"]].merge(
        then[["client_id", "series_number", "series_status"]], how="left"
    )["series_status"]
    counts = {key: int(status.eq(key).sum()) for key in ("completer", "ongoing", "dropout")}
    assert counts["ongoing"] > 0
    n = len(counted)
    shares = "; ".join(
        f"{label} {counts[key]} of {n} ({100 * counts[key] / n:.0f} %)"
        for key, label in (
            ("completer", "completers"),
            ("ongoing", "still ongoing"),
            ("dropout", "dropouts"),
        )
    )
    assert f"Series status on 31 Jan 2026 {shares}" in text


@pytest.mark.parametrize("population", list(POPULATIONS))
def test_practice_report_headlines_equal_compute_headlines(
    practice_reports, frames, population
) -> None:
    text, _ = practice_reports
    counted, in_period = period_frames(frames)
    headlines = compute_headlines(counted, in_period, population=population)
    for rate in (headlines.hd28_responder_rate, headlines.pain_responder_rate):
        assert rate.low is not None and rate.high is not None
        assert f"{100 * rate.value:.0f} %" in text
        interval = f"95 % CI {100 * rate.low:.0f} % to {100 * rate.high:.0f} %, n = {rate.n}"
        assert interval in text
    median = headlines.hd28_median_change
    assert median.low is not None and median.high is not None
    assert f"{signed(median.value)} days" in text
    assert f"95 % CI {signed(median.low)} to {signed(median.high)}, n = {median.n}" in text


@pytest.mark.parametrize(
    ("by", "measure"), [("primary_technique", "hd28"), ("headache_type", "pain")]
)
def test_practice_report_group_tables_equal_compare_groups(
    practice_reports, frames, by, measure
) -> None:
    text, _ = practice_reports
    counted, _ = period_frames(frames)
    largest = compare_groups(counted, by=by, measure=measure).iloc[0]

    def number(value: float) -> str:
        return f"{value:.1f}".replace("-", "\u2212")

    change = (
        f"{number(largest['change_mean'])} ({number(largest['change_ci_low'])} to "
        f"{number(largest['change_ci_high'])})"
    )
    rate = (
        f"{100 * largest['responder_rate']:.0f} % ({100 * largest['responder_rate_ci_low']:.0f} "
        f"to {100 * largest['responder_rate_ci_high']:.0f} %)"
    )
    row = f"{largest['n_clients']} {largest['n']} {change} {largest['responders']} of "
    assert row in text
    assert rate in text


def test_practice_report_flags_small_groups(practice_reports, frames) -> None:
    text, _ = practice_reports
    counted, _ = period_frames(frames)
    table = compare_groups(counted, by="headache_type", measure="hd28")
    assert table["small_n"].any()  # the sample has small headache-type groups in this period
    assert "small group: not judged" in text
    assert f"fewer than {config.MIN_GROUP_N} clients" in text


def test_practice_report_names_no_therapist_and_no_client(practice_reports, frames) -> None:
    anonymous, _ = practice_reports
    clients, sessions, _ = frames
    therapists = sorted(sessions["therapist"].dropna().unique())
    for name in therapists:
        assert name not in anonymous
        for part in name.split():
            assert part not in anonymous
    assert "Therapist A" in anonymous
    for name in clients["client_name"].dropna().head(30):
        assert name not in anonymous


def test_practice_report_explains_methods_and_limitations(practice_reports) -> None:
    text, _ = practice_reports
    for phrase in (
        "How the figures were worked out",
        "What these figures cannot show",
        "No control group",
        "Confounding by indication",
        "Dropouts",
        "associations, not proof",
    ):
        assert phrase in text


def test_practice_report_for_an_empty_period_says_so(frames) -> None:
    clients, sessions, outcomes = frames
    data = practice_report_pdf(
        clients, sessions, start=dt.date(2001, 1, 1), end=dt.date(2001, 12, 31), outcomes=outcomes
    )
    assert "nothing to report for this period" in pdf_text(data)


def test_practice_report_refuses_a_reversed_period(frames) -> None:
    clients, sessions, outcomes = frames
    with pytest.raises(ValueError, match="starts"):
        practice_report_pdf(
            clients, sessions, start=dt.date(2026, 2, 1), end=dt.date(2026, 1, 1), outcomes=outcomes
        )


# --- pure helpers ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("index", "letters"),
    [(0, "A"), (1, "B"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")],
)
def test_alias_letters(index: int, letters: str) -> None:
    assert alias_letters(index) == letters


def test_therapist_aliases_follow_caseload_then_name() -> None:
    outcomes = pd.DataFrame(
        {
            "client_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c6", "c7", "c8"],
            "therapist": ["Zoe", "Zoe", "Zoe", "Bob", "Bob", "Bob", "Bob", "Ann", None],
        }
    )
    # Zoe and Bob have 3 clients each (Bob's c6 twice counts once): a tie goes by name.
    assert therapist_aliases(outcomes) == {
        "Bob": "Therapist A",
        "Zoe": "Therapist B",
        "Ann": "Therapist C",
    }


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("  Mary\n  Lou\tSmith ", None, "Mary Lou Smith"),
        ("A\u202eB\u200bC\x00D", None, "A B C D"),
        ("Eloise", 4, "Elo\u2026"),
        (None, None, ""),
        (float("nan"), None, ""),
        (pd.NA, None, ""),
        (12.5, None, "12.5"),
        ("Zoe\u0308", None, "Zoë"),
    ],
)
def test_clean(value: object, limit: int | None, expected: str) -> None:
    assert clean(value, limit=limit) == expected


def test_core_font_fallback_keeps_latin1_and_simplifies_the_rest() -> None:
    pdf = ReportDocument(practice_name="P", title="T", unicode_fonts=False)
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    assert pdf.printable("Zoë Łukasz \u22124 \u2192 \u226510 漢") == "Zoë Lukasz -4 -> >=10 ?"


@pytest.mark.skipif(unicode_font_files() is None, reason="DejaVu Sans is not installed")
def test_unicode_font_draws_accents_and_replaces_what_it_lacks() -> None:
    pdf = ReportDocument(practice_name="P", title="T")
    pdf.add_page()
    pdf.use(size=9)
    assert pdf.printable("Łukasz \u22124 漢") == "Łukasz \u22124 ?"


def test_medication_text_states_the_overuse_flag_at_baseline_and_now() -> None:
    outcome = pd.Series({"medication_days_baseline": 16.0, "medication_days_latest": 6.0})
    text = medication_text(outcome)
    assert text.startswith("Medication days per 28 days: 16.0 at baseline, 6.0 now. ")
    assert (
        "Overuse flag: overuse under any medicine class at baseline; below the threshold now"
        in text
    )
    none = medication_text(
        pd.Series({"medication_days_baseline": 4.0, "medication_days_latest": np.nan})
    )
    assert none.startswith("Medication days per 28 days: 4.0 at baseline, no follow-up report now.")
    assert "Overuse flag: none" in none


def test_technique_counts_count_attended_sessions_most_used_first() -> None:
    frame = pd.DataFrame(
        {
            "session_date": pd.to_datetime(
                ["2026-01-01", "2026-01-08", "2026-01-15", "2026-01-22"]
            ),
            "session_number": [1.0, 2.0, np.nan, 3.0],
            "status": ["attended", "attended", "cancelled", "attended"],
            "techniques": ["swedish;trigger_point", "trigger_point", "craniosacral", None],
        }
    )
    counts = technique_counts(frame)
    assert [n for _, n in counts] == [2, 1]
    assert counts[0][0].lower().startswith("trigger point")


# --- command line and pages --------------------------------------------------------------------
def test_cli_client_report_writes_one_page(tmp_path, db_url, frames, capsys) -> None:
    row = fully_followed(frames[2])
    out = tmp_path / "client.pdf"
    assert main(["report", "client", row["client_id"], "--out", str(out), "--db", db_url]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert len(pdf_pages(out.read_bytes())) == 1
    assert str(out) in capsys.readouterr().out


def test_cli_unknown_client_exits_1_naming_it(tmp_path, db_url, capsys) -> None:
    out = tmp_path / "none.pdf"
    assert main(["report", "client", "C9999", "--out", str(out), "--db", db_url]) == 1
    assert "C9999" in capsys.readouterr().err
    assert not out.exists()


def test_cli_practice_report_with_names_shows_them(tmp_path, db_url, frames) -> None:
    out = tmp_path / "practice.pdf"
    code = main(
        [
            "report",
            "practice",
            "--from",
            "2025-09-01",
            "--to",
            "2026-08-31",
            "--out",
            str(out),
            "--names",
            "--db",
            db_url,
        ]
    )
    assert code == 0
    text = pdf_text(out.read_bytes())
    assert "Practice outcomes report" in text
    counted, _ = period_frames(frames)
    for name in counted["therapist"].dropna().unique():
        assert name in text
    assert "Therapist A" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-12-31"], "--from needs a date"),
        (["--from", "2026-02-01", "--to", "2026-01-01"], "the period starts"),
    ],
)
def test_cli_practice_report_refuses_bad_dates(tmp_path, db_url, capsys, args, message) -> None:
    out = tmp_path / "p.pdf"
    assert main(["report", "practice", *args, "--out", str(out), "--db", db_url]) == 1
    assert message in capsys.readouterr().err


def test_pages_offer_the_pdf_downloads(seeded_db_env) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["client"] = "C0001"
    at.switch_page("pages/1_Client_Progress.py").run()
    assert not at.exception
    labels = [el.proto.label for el in at.get("download_button")]
    assert "Download PDF report" in labels
    overview = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not overview.exception
    assert "Download practice report (PDF)" in [
        el.proto.label for el in overview.get("download_button")
    ]

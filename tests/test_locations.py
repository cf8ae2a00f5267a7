"""Locations of a chain (issue 12): the series' location, comparisons by location, the sidebar's
Location filter and users limited to locations, on every surface a therapist's scope covers."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from sqlalchemy import text

from practice import analysis, auth, ui
from practice.bootstrap import open_database
from practice.cli import main
from practice.importing import import_files
from practice.queries import fetch_clients, fetch_sessions
from practice.recording import SessionEntry, correct_session, may_record, record_session
from practice.sample import LOCATIONS
from tests.conftest import csv_bytes
from tests.test_roles import open_page, page_text

PLACE = "Old Town"
NORA = auth.SignedInUser("nora", "owner", None, (PLACE,))


@pytest.fixture
def chain(practice_with_users: str) -> str:
    """The sample practice (three clinics) with an owner limited to one of them."""
    with open_database(practice_with_users).begin() as conn:
        auth.add_user(conn, "nora", "owner", "owner-password", locations=[PLACE])
    return practice_with_users


def clients_seen_at(url: str, place: str) -> set[str]:
    with open_database(url).connect() as conn:
        sessions = fetch_sessions(conn)
    return set(sessions.loc[sessions["location"] == place, "client_id"])


# --- the series' location and comparisons by location ----------------------------------------
def test_a_series_location_is_that_of_its_latest_session_naming_one() -> None:
    sessions = pd.DataFrame(
        {
            "client_id": ["A", "A", "A", "B", "C"],
            "session_date": pd.to_datetime(
                ["2025-01-01", "2025-01-08", "2025-01-15", "2025-01-01", "2025-01-01"]
            ),
            "status": "attended",
            "therapist": "Jo",
            "techniques": "swedish",
            "location": ["North", "Harbour", None, "North", None],
        }
    )
    clients = pd.DataFrame({"client_id": ["A", "B", "C"]})
    outcomes = analysis.compute_client_outcomes(clients, sessions)
    assert outcomes["location"].iloc[:2].tolist() == ["Harbour", "North"]
    assert pd.isna(outcomes["location"].iloc[2])  # no session of C's series names one
    without = analysis.compute_client_outcomes(clients, sessions.drop(columns="location"))
    assert without["location"].isna().all()


def test_locations_compare_through_the_group_and_funnel_machinery(seeded_db_env: str) -> None:
    with open_database(seeded_db_env).connect() as conn:
        outcomes = analysis.compute_client_outcomes(fetch_clients(conn), fetch_sessions(conn))
    table = analysis.compare_groups(outcomes, by="location")
    assert set(table["group"]) == set(LOCATIONS)
    assert table["n_clients"].is_monotonic_decreasing  # by size, never by result
    assert table["adjusted_difference"].notna().sum() == 3  # case-mix adjusted, reference included
    points = analysis.funnel_data(outcomes, by="location")
    assert set(points["group"]) == set(LOCATIONS)
    assert (points["group_by"] == "location").all()
    assert {"small_n", "lower_95", "upper_95", "position"} <= set(points.columns)


def test_summary_by_location_on_the_command_line(seeded_db_env: str, capsys) -> None:
    open_database(seeded_db_env)  # seeds the sample
    assert main(["summary", "--by", "location", "--format", "json", "--db", seeded_db_env]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["by"] == "location"
    groups = {g["group"]: g for g in summary["groups"]}
    assert set(groups) == set(LOCATIONS)
    assert sum(g["n_clients"] for g in groups.values()) == summary["n_clients"]
    assert all("small_n" in g for g in groups.values())


# --- the sidebar's Location filter -------------------------------------------------------------
def test_the_location_filter_narrows_the_overview_and_holds_across_pages(seeded_db_env) -> None:
    at = open_page(None)
    assert at.multiselect(key="widget.locations").options == sorted(LOCATIONS)
    before = {m.label: m.value for m in at.metric}
    at.multiselect(key="widget.locations").set_value([PLACE]).run()
    assert {m.label: m.value for m in at.metric} != before
    assert PLACE in at.caption[0].value
    for page in ("pages/1_Client_Progress.py", "pages/4_Import_Data.py", "pages/0_Overview.py"):
        at.switch_page(page).run()
        assert not at.exception
    assert at.multiselect(key="widget.locations").value == [PLACE]


def test_a_practice_without_locations_has_no_location_filter(tmp_path, monkeypatch) -> None:
    import streamlit as st

    url = f"sqlite:///{tmp_path / 'plain.sqlite3'}"
    monkeypatch.setenv("PRACTICE_DATABASE_URL", url)
    monkeypatch.setenv("PRACTICE_SEED_SAMPLE", "0")
    st.cache_data.clear()
    st.cache_resource.clear()
    plain = csv_bytes(
        "client_id,intake_date,session_date,therapist,techniques,headache_days_7d",
        "C1,2025-01-02,2025-01-05,Jo Park,TPT,3",
        "C1,2025-01-02,2025-01-12,Jo Park,TPT,2",
    )
    engine = open_database(url)
    import_files(engine, [("plain.csv", plain)])
    with engine.begin() as conn:
        auth.add_user(conn, "anna", "owner", "owner-password")
    at = open_page(None, auth.SignedInUser("anna", "owner"))
    assert not at.exception
    assert "widget.locations" not in [m.key for m in at.multiselect]
    assert "widget.therapists" in [m.key for m in at.multiselect]
    st.cache_data.clear()
    st.cache_resource.clear()


# --- a user limited to a location ---------------------------------------------------------------
def test_an_owner_limited_to_a_location_sees_its_clients_only_on_every_page(chain: str) -> None:
    mine = clients_seen_at(chain, PLACE)
    assert 0 < len(mine) < 150
    overview = open_page(None, NORA)
    assert not overview.exception
    shown = {m.label: m.value for m in overview.metric}
    alerts = overview.dataframe[0].value if overview.dataframe else pd.DataFrame()
    assert set(alerts.get("link", pd.Series(dtype=str)).str.split("=").str[-1]) <= mine
    assert {m.label: m.value for m in open_page(None, auth.SignedInUser("anna", "owner")).metric}
    assert shown != {
        m.label: m.value for m in open_page(None, auth.SignedInUser("anna", "owner")).metric
    }
    progress = open_page("pages/1_Client_Progress.py", NORA)
    assert {o.split(" · ")[0] for o in progress.selectbox(key="client").options} == mine
    techniques = open_page("pages/2_Techniques.py", NORA)
    assert not techniques.exception
    table = techniques.dataframe[0].value
    assert table.filter(like="lient").iloc[:, 0].astype(int).sum() <= len(mine)
    therapists = open_page("pages/3_Therapists.py", NORA)
    assert not therapists.exception
    # The sidebar offers the locations of the clients this owner may see, nothing else.
    assert set(overview.multiselect(key="widget.locations").options) == {PLACE}


def test_a_limited_owner_cannot_deep_link_to_another_locations_client(chain: str) -> None:
    other = sorted(clients_seen_at(chain, "Harbour") - clients_seen_at(chain, PLACE))[0]
    with open_database(chain).connect() as conn:
        name = conn.execute(
            text("SELECT name FROM clients WHERE client_code = :c"), {"c": other}
        ).scalar_one()
    at = open_page(None, NORA)
    at.query_params["client"] = other
    at.switch_page("pages/1_Client_Progress.py").run()
    assert not at.exception
    assert at.selectbox(key="client").value is None
    assert "no client has that id" in page_text(at)
    assert name not in page_text(at) and not at.dataframe


def test_downloads_and_counts_of_a_limited_owner_are_scoped(chain: str) -> None:
    mine = sorted(clients_seen_at(chain, PLACE))
    other = sorted(clients_seen_at(chain, "Harbour") - set(mine))[0]
    actor = ui.Actor("nora", dt.datetime.now(dt.UTC), ui.PAGES["1_Client_Progress.py"].roles)
    assert ui.refusal_reason(actor, "download", mine[0]) is None
    assert ui.refusal_reason(actor, "download", other) == "this client is not among yours"
    clients, _ = ui._scoped_frames(ui.data_version(), NORA)
    assert set(clients["client_id"]) == set(mine)
    assert set(ui._load_outcomes(ui.data_version(), NORA)["client_id"]) <= set(mine)


def test_a_limited_owner_records_only_for_their_locations_clients(chain: str) -> None:
    engine = open_database(chain)
    mine = sorted(clients_seen_at(chain, PLACE))
    other = sorted(clients_seen_at(chain, "Harbour") - set(mine))[0]
    with engine.connect() as conn:
        assert may_record(conn, NORA, mine[0]) and not may_record(conn, NORA, other)


def test_correcting_a_recorded_session_keeps_its_location(sqlite_engine) -> None:
    header = "client_id,intake_date,session_date,therapist,techniques,pain_pre,location"
    seed = csv_bytes(header, "C1,2025-01-02,2025-01-05,Jo Park,TPT,6,")
    import_files(sqlite_engine, [("seed.csv", seed)])
    entry = SessionEntry("C1", dt.date(2025, 1, 12), "Jo Park", ("trigger_point",), pain_pre=5.0)
    session_id = record_session(sqlite_engine, None, entry)
    # The export later brings the recorded session with its clinic.
    export = csv_bytes(header, "C1,2025-01-02,2025-01-12,Jo Park,TPT,5,North")
    import_files(sqlite_engine, [("export.csv", export)])
    correct_session(
        sqlite_engine, None, session_id, SessionEntry(**{**entry.__dict__, "pain_pre": 4.0})
    )
    with sqlite_engine.connect() as conn:
        stored = fetch_sessions(conn).set_index("session_id").loc[session_id]
    assert (stored["pain_pre"], stored["location"]) == (4.0, "North")


def test_the_therapists_page_compares_the_locations_with_the_same_funnel(seeded_db_env) -> None:
    at = open_page("pages/3_Therapists.py")
    assert not at.exception
    assert "Locations" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "Location" in d.value.columns)
    assert set(table["Location"]) == set(LOCATIONS)
    assert table["Clients"].is_monotonic_decreasing  # by size, never by result
    with open_database(seeded_db_env).connect() as conn:
        outcomes = analysis.compute_client_outcomes(fetch_clients(conn), fetch_sessions(conn))
    expected = analysis.compare_groups(outcomes, by="location")
    assert table["Clients"].tolist() == expected["n_clients"].tolist()


def test_a_recorded_session_takes_the_clients_location(sqlite_engine) -> None:
    header = "client_id,intake_date,session_date,therapist,techniques,location"
    seed = csv_bytes(
        header,
        "C1,2025-01-02,2025-01-05,Jo Park,TPT,North",
        "C1,2025-01-02,2025-01-08,Jo Park,TPT,Harbour",
        "C1,2025-01-02,2025-01-09,Sam Wu,TPT,",
        "C2,2025-01-02,2025-01-05,Jo Park,TPT,",
    )
    import_files(sqlite_engine, [("seed.csv", seed)])
    entry = SessionEntry("C1", dt.date(2025, 1, 12), "Jo Park", ("trigger_point",))
    on_c1 = record_session(sqlite_engine, None, entry)
    on_c2 = record_session(
        sqlite_engine, None, SessionEntry(**{**entry.__dict__, "client_id": "C2"})
    )
    with sqlite_engine.connect() as conn:
        stored = fetch_sessions(conn).set_index("session_id")["location"]
    assert stored[on_c1] == "Harbour" and pd.isna(stored[on_c2])

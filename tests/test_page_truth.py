"""Pages say why a comparison is empty, and explain the labels with the rules in force."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from practice import analysis, auth
from practice.bootstrap import open_database
from practice.cli import main
from tests.test_summary_truth import HEADER, SHORT

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def short_courses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A practice whose every course had three visits, with an owner who may see it."""
    url = f"sqlite:///{tmp_path / 'short.sqlite3'}"
    monkeypatch.setenv("PRACTICE_DATABASE_URL", url)
    monkeypatch.setenv("PRACTICE_SEED_SAMPLE", "0")
    csv = tmp_path / "short.csv"
    csv.write_text("\n".join([HEADER, *SHORT]) + "\n")
    assert main(["import", str(csv), "--db", url]) == 0
    with open_database(url, seed=False).begin() as conn:
        auth.add_user(conn, "anna", "owner", "owner-password")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield url
    st.cache_data.clear()
    st.cache_resource.clear()


def owner_app() -> AppTest:
    """The app, run once for the signed-in owner."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["user"] = auth.SignedInUser("anna", "owner")
    at.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    return at.run()


def test_techniques_page_names_the_completer_rule_when_nobody_completed(
    short_courses: str,
) -> None:
    at = owner_app()
    at.switch_page("pages/2_Techniques.py").run()
    at.radio(key="widget.population").set_value("completers").run()
    assert not at.exception
    infos = [i.value for i in at.info]
    assert (
        "Nobody in this selection is counted: no series has at least 4 attended sessions "
        "(the completer rule, PRACTICE_MIN_SESSIONS_COMPLETER)." in infos
    )
    assert not any("Widen the filters" in text for text in infos)
    explained = " ".join(m.value for m in at.markdown)
    assert "pain down by at least 30 % (IMMPACT)" in explained


def test_a_funnel_narrowed_to_one_therapist_keeps_the_practice_s_target_and_limits(
    seeded_db_env: str,
) -> None:
    """Choosing one therapist in the sidebar shows their point against the practice, not
    against themselves (a target equal to their own result, a residual of 0 by construction)."""
    from tests.test_page_therapists import PAGE, funnel_dots, open_page, sample_outcomes

    therapist = "Daniel Meyer"
    outcomes = sample_outcomes()
    practice = {
        statistic: analysis.funnel_data(
            outcomes, measure="hd28", statistic=statistic, by="therapist"
        ).set_index("group")
        for statistic in ("responder_rate", "adjusted_residual")
    }
    at = open_page(PAGE)
    at.multiselect(key="widget.therapists").set_value([therapist]).run()
    assert not at.exception
    shown = at.dataframe[0].value.set_index("Therapist")
    assert shown.index.tolist() == [therapist]
    residual = practice["adjusted_residual"].at[therapist, "value"]
    assert abs(residual) > 0.1  # the test would not tell anything about a residual near 0
    assert shown.at[therapist, "Adjusted residual"] == f"{residual:.2f}"
    dots = funnel_dots(at)
    assert dots["group"].tolist() == [therapist]
    expected = practice["responder_rate"].loc[therapist]
    for column in ("value", "target", "lower_95", "upper_95"):
        assert dots.at[0, column] == pytest.approx(expected[column]), column


def test_the_overview_states_the_pain_rule_in_force(seeded_db_env: str) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    explained = " ".join(" ".join(m.value.split()) for m in at.markdown)
    assert "for pain, at least 30 % less (IMMPACT)" in explained
    assert "2 points" not in explained
    helps = [m.proto.help for m in at.metric if m.label == "Pain responders"]
    assert helps and "at least 30 % (moderately important change, IMMPACT)" in helps[0]


@pytest.mark.parametrize("page", ["pages/0_Overview.py", "pages/3_Therapists.py"])
def test_overview_and_therapists_name_the_rule_that_left_nobody_to_count(
    short_courses: str, page: str
) -> None:
    at = owner_app()
    at.switch_page(page).run()
    at.radio(key="widget.population").set_value("completers").run()
    assert not at.exception
    assert (
        "Nobody in this selection is counted: no series has at least 4 attended sessions "
        "(the completer rule, PRACTICE_MIN_SESSIONS_COMPLETER)." in [i.value for i in at.info]
    )

"""Recording, correcting and deleting a session on Client progress (AppTest, seeded sample)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest

from practice import db
from practice.auth import SignedInUser, add_user, disable_user

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/1_Client_Progress.py"
SUBMIT = "FormSubmitter:record-form-Record session"
DAY = dt.date(2027, 1, 4)  # after the sample's last session: no session on that day yet
OWNER = SignedInUser("anna", "owner")
PRIYA = SignedInUser("priya", "therapist", "Priya Raman")  # C0001's therapist in the sample
DESK = SignedInUser("fred", "front_desk")


@pytest.fixture
def practice(seeded_db_env: str) -> Engine:
    open_page(None, "C0001")  # opens and seeds the database
    engine = db.create_engine_for(seeded_db_env)
    with engine.begin() as conn:
        add_user(conn, "anna", "owner", "owner-password")
        add_user(conn, "priya", "therapist", "therapist-password", therapist_name="Priya Raman")
        add_user(conn, "fred", "front_desk", "desk-password")
    return engine


def open_page(user: SignedInUser | None, client: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if user is not None:
        at.session_state["user"] = user
    at.query_params["client"] = client
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def recorded(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.session_date, t.name, s.status, s.pain_pre, s.headache_days_28d, "
                "s.techniques FROM sessions s JOIN therapists t ON t.id = s.therapist_id "
                "WHERE s.import_id IS NULL ORDER BY s.id"
            )
        ).all()
    return [tuple(r) for r in rows]


def audit_events(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event FROM audit_events WHERE event LIKE 'session_%' ORDER BY id")
        )
        return [r[0] for r in rows]


def fill(at: AppTest, prefix: str = "record", **values: object) -> None:
    for key, value in values.items():
        at.session_state[f"{prefix}.{key}"] = value


def test_an_owner_records_corrects_and_deletes_a_session(practice: Engine) -> None:
    at = open_page(OWNER, "C0001")
    fill(at, session_date=DAY, therapist="Priya Raman", techniques=["trigger_point"])
    fill(at, pain_pre=11.0, headache_days=30.0, period="28")
    at.button(key=SUBMIT).click().run()
    # The importer's messages, field by field, and nothing stored.
    assert at.error[0].value == (
        "Nothing was saved. Please correct:\n"
        "- **Pain before**: must be between 0 and 10\n"
        "- **Headache days**: must be between 0 and 28"
    )
    assert recorded(practice) == [] and audit_events(practice) == []

    fill(at, pain_pre=6.0, headache_days=9.0)
    at.button(key=SUBMIT).click().run()
    assert not at.error
    assert any(s.value == "Session of 04 Jan 2027 recorded." for s in at.success)
    assert recorded(practice) == [
        ("2027-01-04", "Priya Raman", "attended", 6.0, 9.0, "trigger_point")
    ]
    # The page's own data shows it at once (its cached frames follow the change).
    assert any("Correct or delete a session recorded here (1)" in e.label for e in at.expander)

    assert at.selectbox(key="recording.chosen").options == ["04 Jan 2027 · Priya Raman"]
    with practice.connect() as conn:
        session_id = conn.execute(text("SELECT id FROM sessions WHERE import_id IS NULL")).scalar()
    prefix = f"correct.{session_id}"
    assert at.number_input(key=f"{prefix}.pain_pre").value == 6.0  # filled with what is stored
    at.number_input(key=f"{prefix}.pain_pre").set_value(5.0)
    at.selectbox(key=f"{prefix}.status").set_value("follow_up")
    at.button(key=f"FormSubmitter:{prefix}-form-Save correction").click().run()
    assert any(s.value == "Correction saved (pain_pre, status)." for s in at.success)
    assert recorded(practice)[0][2:4] == ("follow_up", 5.0)

    at.button(key=f"delete.{session_id}").click().run()
    assert any("Session deleted" in s.value for s in at.success)
    assert recorded(practice) == []
    assert audit_events(practice) == ["session_recorded", "session_corrected", "session_deleted"]


def test_a_therapist_records_only_in_their_own_name_for_their_own_clients(
    practice: Engine,
) -> None:
    own = open_page(PRIYA, "C0001")
    assert own.selectbox(key="record.therapist").options == ["Priya Raman"]
    fill(own, session_date=DAY, techniques=["stretching"], pain_pre=4.0)
    own.button(key=SUBMIT).click().run()
    assert recorded(practice)[0][:2] == ("2027-01-04", "Priya Raman")
    with practice.connect() as conn:
        others = conn.execute(
            text(
                "SELECT DISTINCT c.client_code FROM clients c WHERE c.id NOT IN (SELECT "
                "s.client_id FROM sessions s JOIN therapists t ON t.id = s.therapist_id "
                "WHERE t.name = 'Priya Raman')"
            )
        ).scalars()
        other = sorted(others)[0]
    # Not her client: she does not see the client at all, so there is no form either.
    assert not any("Record a session" in e.label for e in open_page(PRIYA, other).expander)
    assert any("Record a session" in e.label for e in open_page(OWNER, other).expander)


def test_front_desk_cannot_record_or_see_scores(practice: Engine) -> None:
    at = open_page(DESK, "C0001")
    assert not any("Record a session" in e.label for e in at.expander)
    assert not at.number_input and not at.dataframe and not at.get("vega_lite_chart")
    assert not any(b.key == SUBMIT for b in at.button)


@pytest.mark.parametrize("how", ["disabled", "idle"])
def test_a_user_disabled_or_idle_since_the_page_was_drawn_records_nothing(
    practice: Engine, how: str
) -> None:
    at = open_page(OWNER, "C0001")
    fill(at, session_date=DAY, therapist="Priya Raman", techniques=["swedish"], pain_pre=3.0)
    if how == "disabled":
        with practice.begin() as conn:
            disable_user(conn, "anna")
    else:
        at.session_state["last_seen"] = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    at.button(key=SUBMIT).click().run()
    assert recorded(practice) == [] and audit_events(practice) == []
    assert not any(b.key == SUBMIT for b in at.button)  # signed out: the form is gone


def test_a_user_disabled_since_the_page_was_drawn_deletes_nothing(practice: Engine) -> None:
    at = open_page(OWNER, "C0001")
    fill(at, session_date=DAY, therapist="Priya Raman", techniques=["swedish"], pain_pre=3.0)
    at.button(key=SUBMIT).click().run()
    with practice.connect() as conn:
        session_id = conn.execute(text("SELECT id FROM sessions WHERE import_id IS NULL")).scalar()
    with practice.begin() as conn:
        disable_user(conn, "anna")
    at.button(key=f"delete.{session_id}").click().run()
    assert len(recorded(practice)) == 1
    assert audit_events(practice) == ["session_recorded"]

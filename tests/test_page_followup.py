"""Follow-up visits on the pages: the Techniques table reports the change at follow-up with n."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from practice import db
from practice.auth import SignedInUser, add_user
from practice.importing import import_files
from tests.conftest import csv_bytes

ROOT = Path(__file__).resolve().parent.parent


def test_techniques_show_the_change_at_follow_up_with_its_own_n(seeded_db_env: str) -> None:
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()  # seeds the sample
    engine = db.create_engine_for(seeded_db_env)
    with engine.connect() as conn:
        last = (
            pd.read_sql(
                text(
                    "SELECT c.client_code, t.name, MAX(s.session_date) AS last "
                    "FROM sessions s JOIN clients c ON c.id = s.client_id "
                    "JOIN therapists t ON t.id = s.therapist_id WHERE s.status = 'attended' "
                    "GROUP BY c.client_code, t.name ORDER BY c.client_code"
                ),
                conn,
            )
            .drop_duplicates("client_code", keep="last")
            .head(3)
        )
    # Three clients come back for a check-up 60 days after their last treatment.
    rows = [
        f"{code},{(pd.Timestamp(day) + pd.Timedelta(days=60)):%Y-%m-%d},{name},,check-up,4,3"
        for code, name, day in last.itertuples(index=False)
    ]
    header = "client_id,session_date,therapist,techniques,status,headache_days_28d,pain_pre"
    assert import_files(engine, [("checkups.csv", csv_bytes(header, *rows))]).sessions_added == 3
    with engine.begin() as conn:
        add_user(conn, "anna", "owner", "owner-password")
    engine.dispose()

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["user"] = SignedInUser("anna", "owner")
    at.switch_page("pages/2_Techniques.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["Series with a follow-up visit"].sum() == 3
    shown = table.loc[table["Series with a follow-up visit"] > 0, "Change at follow-up (95 % CI)"]
    assert shown.str.len().gt(0).all()

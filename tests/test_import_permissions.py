"""Least privilege for the front desk: undo only its own, newest, small imports; the check step
shows counts of new and stored records only (issue 14 item 5; practice/importing/permissions.py).
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from practice import config
from practice.importing import UndoRefused, import_files, undo_import
from practice.importing.permissions import Actor, change_counts, sees_stored_values
from practice.importing.preview import change_table, check_upload
from tests.conftest import csv_bytes

HEADER = "client_id,intake_date,headache_type,session_date,therapist,techniques,pain_pre"
PRACTICE = csv_bytes(
    HEADER,
    *(f"C{i},2025-01-02,migraine,2025-01-{5 + i % 20:02d},Jo Park,TPT,6" for i in range(1, 21)),
)
ONE_MORE = csv_bytes(HEADER, "C99,2025-02-01,migraine,2025-02-03,Jo Park,TPT,5")
OWNER = Actor("anna", "owner")
FRED = Actor("fred", "front_desk")
FLO = Actor("flo", "front_desk")


def clients(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM clients")).scalar_one())


def test_the_import_records_who_made_it(sqlite_engine: Engine) -> None:
    import_files(sqlite_engine, [("a.csv", PRACTICE)], imported_by="anna")
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("SELECT imported_by FROM imports")).scalar_one() == "anna"


def test_front_desk_cannot_undo_the_owners_import(sqlite_engine: Engine) -> None:
    import_files(sqlite_engine, [("a.csv", PRACTICE)], imported_by="anna")
    import_files(sqlite_engine, [("b.csv", ONE_MORE)], imported_by="anna")
    with pytest.raises(UndoRefused, match="import #2 was not made by you; only the owner"):
        undo_import(sqlite_engine, 2, actor=FRED)
    assert clients(sqlite_engine) == 21  # nothing undone
    undo_import(sqlite_engine, 2, actor=OWNER)
    assert clients(sqlite_engine) == 20


def test_front_desk_undoes_its_own_newest_small_import(sqlite_engine: Engine) -> None:
    import_files(sqlite_engine, [("a.csv", PRACTICE)], imported_by="anna")
    import_files(sqlite_engine, [("b.csv", ONE_MORE)], imported_by="fred")
    with pytest.raises(UndoRefused, match="not made by you"):
        undo_import(sqlite_engine, 2, actor=FLO)  # another front-desk user
    undo_import(sqlite_engine, 2, actor=FRED)
    assert clients(sqlite_engine) == 20


def test_front_desk_undoes_only_the_newest(sqlite_engine: Engine) -> None:
    import_files(sqlite_engine, [("a.csv", PRACTICE)], imported_by="anna")
    import_files(sqlite_engine, [("b.csv", ONE_MORE)], imported_by="fred")
    import_files(
        sqlite_engine,
        [("c.csv", csv_bytes(HEADER, "C98,2025-02-01,migraine,2025-02-04,Jo Park,TPT,5"))],
        imported_by="anna",
    )
    with pytest.raises(UndoRefused, match="while the later import #3 is in place"):
        undo_import(sqlite_engine, 2, actor=FRED)


def test_an_undo_removing_a_large_share_of_the_practice_needs_the_owner(
    sqlite_engine: Engine,
) -> None:
    import_files(sqlite_engine, [("a.csv", PRACTICE)], imported_by="fred")  # the whole practice
    with pytest.raises(UndoRefused) as refused:
        undo_import(sqlite_engine, 1, actor=FRED)
    assert str(refused.value) == (
        "undoing import #1 would remove 100% of the practice's records, more than front desk "
        f"may remove ({config.UNDO_MAX_SHARE_FRONT_DESK:.0%}, setting "
        "PRACTICE_UNDO_MAX_SHARE_FRONT_DESK); ask the owner to undo it"
    )
    assert clients(sqlite_engine) == 20
    undo_import(sqlite_engine, 1, actor=OWNER)
    assert clients(sqlite_engine) == 0


def test_a_therapist_cannot_undo(sqlite_engine: Engine) -> None:
    import_files(sqlite_engine, [("a.csv", PRACTICE)], imported_by="anna")
    with pytest.raises(UndoRefused, match="only the owner or the front desk"):
        undo_import(sqlite_engine, 1, actor=Actor("sam", "therapist"))


# --- the check step -------------------------------------------------------------------------
DIAGNOSIS_PROBE = csv_bytes(HEADER, "C1,2025-01-02,tension_type,2025-01-06,Jo Park,TPT,6")


@pytest.mark.parametrize("probe", ["migraine", "tension_type"])
def test_front_desk_cannot_tell_a_stored_value_from_the_check(
    sqlite_engine: Engine, probe: str
) -> None:
    import_files(sqlite_engine, [("a.csv", PRACTICE)], imported_by="anna")
    upload = csv_bytes(HEADER, f"C1,2025-01-02,{probe},2025-01-06,Jo Park,TPT,6")
    check = check_upload(sqlite_engine, [("probe.csv", upload)])
    assert check.result is not None
    full = change_table(check.result, len(check.batch.clients))
    # The owner's table tells "Updated 1" (a different diagnosis) from "Unchanged 1" ...
    assert full.loc[0, "Updated"] == (1 if probe != "migraine" else 0)
    # ... front desk's is the same whatever is stored.
    shown = change_counts(FRED, full)
    expected = pd.DataFrame(
        {"Records": ["Clients", "Sessions"], "New": [0, 0], "Already stored": [1, 1]}
    )
    pd.testing.assert_frame_equal(shown, expected, check_dtype=False)


def test_only_the_owner_sees_stored_values() -> None:
    assert sees_stored_values(OWNER) and sees_stored_values(Actor(None, None))
    assert not sees_stored_values(FRED)


# --- an owner limited to some locations (issue 12) -------------------------------------------
HARBOUR_OWNER = Actor("hana", "owner", ("Harbour",))


def test_an_owner_limited_to_a_location_cannot_tell_stored_values_from_the_check() -> None:
    assert not sees_stored_values(HARBOUR_OWNER)


def test_an_owner_limited_to_a_location_undoes_only_their_own_small_imports(
    sqlite_engine: Engine,
) -> None:
    import_files(sqlite_engine, [("a.csv", PRACTICE)], imported_by="anna")
    import_files(sqlite_engine, [("b.csv", ONE_MORE)], imported_by="fred")
    with pytest.raises(UndoRefused, match="import #2 was not made by you"):
        undo_import(sqlite_engine, 2, actor=HARBOUR_OWNER)
    undo_import(sqlite_engine, 2, actor=FRED)
    import_files(sqlite_engine, [("b.csv", ONE_MORE)], imported_by="hana")
    undo_import(sqlite_engine, 3, actor=HARBOUR_OWNER)
    assert clients(sqlite_engine) == 20


def test_an_owner_limited_to_a_location_cannot_undo_a_large_share(sqlite_engine: Engine) -> None:
    import_files(sqlite_engine, [("a.csv", PRACTICE)], imported_by="hana")
    with pytest.raises(UndoRefused) as refused:
        undo_import(sqlite_engine, 1, actor=HARBOUR_OWNER)
    assert "more than an owner limited to some locations may remove" in str(refused.value)
    assert clients(sqlite_engine) == 20


def test_the_actor_of_a_limited_user_carries_their_locations() -> None:
    from practice.auth import SignedInUser

    actor = Actor.of(SignedInUser("hana", "owner", locations=("Harbour", "Old Town")))
    assert actor == Actor("hana", "owner", ("Harbour", "Old Town"))
    assert not actor.whole_practice
    assert Actor.of(SignedInUser("anna", "owner")).whole_practice

"""Step 2 of an import: headers -> canonical columns (practice/importing/mapping.py)."""

from __future__ import annotations

import pytest

from practice.columns import COLUMNS
from practice.importing.mapping import SYNONYMS, ColumnMapping, header_key, map_columns
from practice.importing.problems import Problem


def ignored_notice(header: str, file: str = "export.csv") -> Problem:
    return Problem(file, 1, header, "notice", "column not used by Headway (ignored)")


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        # canonical names, in any case and with any punctuation or spacing
        ("client_id", "client_id"),
        ("CLIENT_ID", "client_id"),
        ("Client-ID", "client_id"),
        ("  client   id  ", "client_id"),
        ("Client.ID", "client_id"),
        ("client__id", "client_id"),
        ("Session Date", "session_date"),
        ("hit6", "hit6"),
        ("Baseline HIT6", "baseline_hit6"),
        ("Headache days (28d)", "headache_days_28d"),
        ("baseline_headache_days_28d", "baseline_headache_days_28d"),
        # client synonyms
        ("Client", "client_id"),
        ("Client ID", "client_id"),
        ("Client #", "client_id"),
        ("Client No.", "client_id"),
        ("Patient", "client_id"),
        ("Patient ID", "client_id"),
        ("patient_id", "client_id"),
        ("Patient Number", "client_id"),
        ("Customer ID", "client_id"),
        ("File Number", "client_id"),
        ("Name", "client_name"),
        ("Patient Name", "client_name"),
        ("Full name", "client_name"),
        ("First Visit", "intake_date"),
        ("Registration Date", "intake_date"),
        ("Year of Birth", "birth_year"),
        ("YOB", "birth_year"),
        ("Gender", "sex"),
        ("Diagnosis", "headache_type"),
        ("Condition", "headache_type"),
        ("Headache days per month", "baseline_headache_days_28d"),
        ("HIT6 at intake", "baseline_hit6"),
        ("Baseline from", "baseline_source"),
        ("Known triggers", "triggers"),
        ("How did you hear about us?", "referral_source"),
        # session synonyms
        ("Practitioner", "therapist"),
        ("Staff", "therapist"),
        ("Staff Member", "therapist"),
        ("Provider", "therapist"),
        ("RMT", "therapist"),
        ("Appointment Date", "session_date"),
        ("Appointment", "session_date"),
        ("Date", "session_date"),
        ("Start", "session_date"),
        ("Start Time", "session_date"),
        ("Visit date", "session_date"),
        ("Treatment", "techniques"),
        ("Treatments", "techniques"),
        ("Service", "techniques"),
        ("Modality", "techniques"),
        ("Modalities", "techniques"),
        ("Technique", "techniques"),
        ("Case ID", "series_id"),
        ("Treatment plan", "series_id"),
        ("Duration (min)", "duration_min"),
        ("Length", "duration_min"),
        ("Pressure level", "pressure"),
        ("Pain before", "pain_pre"),
        ("Pain (before)", "pain_pre"),
        ("Pain After", "pain_post"),
        ("Pain post-session", "pain_post"),
        ("Headache days this week", "headache_days_7d"),
        ("HIT-6", "hit6"),
        ("HIT 6", "hit6"),
        ("HIT6 score", "hit6"),
        ("MIDAS score", "midas"),
        ("Stress level", "stress"),
        ("Sleep", "sleep_quality"),
        ("Appointment Status", "status"),
        ("Attendance", "status"),
        ("Cancellation reason", "cancel_reason"),
        ("Home care", "self_care"),
        ("SOAP Notes", "notes"),
        ("Comments", "notes"),
    ],
)
def test_map_columns_matches_headers_and_synonyms(header: str, canonical: str) -> None:
    mapping = map_columns("export.csv", [header])
    assert mapping == ColumnMapping("export.csv", {canonical: header})


@pytest.mark.parametrize("column", [c.name for c in COLUMNS], ids=[c.name for c in COLUMNS])
def test_every_canonical_name_maps_to_itself(column: str) -> None:
    assert SYNONYMS[header_key(column)] == column


SYNONYM_PAIRS = [(s, c.name) for c in COLUMNS for s in c.synonyms]


@pytest.mark.parametrize(("synonym", "column"), SYNONYM_PAIRS)
def test_every_listed_synonym_maps_to_its_column(synonym: str, column: str) -> None:
    assert SYNONYMS[header_key(synonym)] == column


def test_map_columns_maps_a_typical_export_and_ignores_unknown_columns() -> None:
    headers = [
        "Patient ID",
        "Appointment Date",
        "Practitioner",
        "Service",
        "Invoice #",
        "Pain before",
        "Room",
        "",
        "Notes",
    ]
    mapping = map_columns("visits.csv", headers)
    assert mapping == ColumnMapping(
        file="visits.csv",
        to_header={
            "client_id": "Patient ID",
            "session_date": "Appointment Date",
            "therapist": "Practitioner",
            "techniques": "Service",
            "pain_pre": "Pain before",
            "notes": "Notes",
        },
        ignored=("Invoice #", "Room", ""),
        problems=(
            Problem(
                "visits.csv",
                1,
                "Invoice #, Room",
                "notice",
                "2 columns not used by Headway (ignored)",
            ),
        ),
    )


def test_ignored_column_notice_reads_as_row_1_and_the_header() -> None:
    (notice,) = map_columns("visits.csv", ["client_id", "Room"]).problems
    assert str(notice) == "visits.csv row 1, column Room: column not used by Headway (ignored)"


# --- explicit mapping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "explicit", "to_header", "ignored"),
    [
        # an unknown header mapped to a column
        (
            ["Who", "Visit"],
            {"Who": "therapist", "Visit": "session_date"},
            {"therapist": "Who", "session_date": "Visit"},
            (),
        ),
        # keys match the header case-, space- and punctuation-insensitively
        (["Kunden-Nr."], {"kunden nr": "client_id"}, {"client_id": "Kunden-Nr."}, ()),
        # an explicit mapping wins over the synonym table
        (
            ["Date", "Intake"],
            {"Date": "intake_date", "Intake": ""},
            {"intake_date": "Date"},
            ("Intake",),
        ),
        # "" ignores a header that would otherwise map
        (["client_id", "Notes"], {"notes": ""}, {"client_id": "client_id"}, ("Notes",)),
    ],
    ids=["unknown-header", "insensitive-key", "overrides-synonym", "ignore"],
)
def test_map_columns_follows_an_explicit_mapping(
    headers: list[str],
    explicit: dict[str, str],
    to_header: dict[str, str],
    ignored: tuple[str, ...],
) -> None:
    mapping = map_columns("export.csv", headers, explicit)
    assert mapping.to_header == to_header
    assert mapping.ignored == ignored
    assert mapping.problems == tuple(ignored_notice(h) for h in ignored)


def test_explicit_mapping_to_an_unknown_column_is_an_error() -> None:
    mapping = map_columns("export.csv", ["client_id", "Visit"], {"Visit": "visit_date"})
    assert mapping.to_header == {"client_id": "client_id"}
    assert mapping.problems == (
        Problem(
            "export.csv",
            1,
            "Visit",
            "error",
            "the column mapping names an unknown column 'visit_date'",
        ),
        ignored_notice("Visit"),
    )


@pytest.mark.parametrize("headers", [["Date", "Appointment Date"], ["Appointment Date", "Date"]])
def test_explicit_mapping_resolves_a_clash(headers: list[str]) -> None:
    # The clash error says "choose one with a column mapping"; choosing one does not help,
    # because the other header still maps through the synonym table and clashes again.
    mapping = map_columns("export.csv", headers, {"Appointment Date": "session_date"})
    assert mapping.to_header == {"session_date": "Appointment Date"}
    assert [p for p in mapping.problems if p.severity == "error"] == []


# --- duplicates and clashes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "to_header", "problems"),
    [
        (
            ["Date", "Appointment Date", "Practitioner"],
            {"session_date": "Date", "therapist": "Practitioner"},
            (
                Problem(
                    "export.csv",
                    1,
                    "Appointment Date",
                    "error",
                    "both 'Date' and 'Appointment Date' look like session_date; "
                    "choose one with a column mapping",
                ),
            ),
        ),
        (
            ["Client ID", "client_id"],
            {"client_id": "Client ID"},
            (
                Problem(
                    "export.csv",
                    1,
                    "client_id",
                    "error",
                    "both 'Client ID' and 'client_id' look like client_id; "
                    "choose one with a column mapping",
                ),
            ),
        ),
        (
            # pandas renames a repeated header "Date" to "Date.1"
            ["Date", "Date.1", "Therapist"],
            {"session_date": "Date", "therapist": "Therapist"},
            (Problem("export.csv", 1, "Date", "error", "this header appears more than once"),),
        ),
        (
            # "Pain.1" without a "Pain" is an ordinary (unknown) header, not a duplicate
            ["client_id", "Pain.1"],
            {"client_id": "client_id"},
            (ignored_notice("Pain.1"),),
        ),
    ],
    ids=["synonym-clash", "same-name-clash", "duplicate", "dotted-header"],
)
def test_map_columns_reports_duplicate_and_clashing_headers(
    headers: list[str], to_header: dict[str, str], problems: tuple[Problem, ...]
) -> None:
    mapping = map_columns("export.csv", headers)
    assert mapping.to_header == to_header
    assert mapping.problems == problems


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("ClientID", "client_id"),
        ("PatientID", "client_id"),
        ("SessionDate", "session_date"),
        ("IntakeDate", "intake_date"),
        ("HIT-6 at intake", "baseline_hit6"),
        ("Baseline HIT-6", "baseline_hit6"),
    ],
)
def test_map_columns_ignores_spaces_inside_headers(header: str, canonical: str) -> None:
    # normalise_label turns punctuation into a space but keeps spaces, so "ClientID" and
    # "Client ID", or "HIT-6" ("hit 6") and "HIT6" ("hit6"), stay different headers.
    assert map_columns("export.csv", [header]).to_header == {canonical: header}


# --- header_of --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("canonical", "shown"),
    [
        ("client_id", "Patient ID (client_id)"),
        ("session_date", "Appointment Date (session_date)"),
        ("therapist", "THERAPIST"),  # same name up to case: shown as the file has it
        ("pain_pre", "Pain-Pre"),
        ("notes", "notes"),  # not in the file: the canonical name
    ],
)
def test_header_of_names_the_files_own_header(canonical: str, shown: str) -> None:
    mapping = map_columns("export.csv", ["Patient ID", "Appointment Date", "THERAPIST", "Pain-Pre"])
    assert mapping.header_of(canonical) == shown

"""Text as users read it: client links, Markdown-escaped user text."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd
import pytest

from practice import comparisons
from practice.formatting import CLIENT_LINK_TEXT, CLIENT_PAGE, client_link, escape_markdown

# Client ids a practice's software may export, each with a character that means something in
# a URL: "&" starts another parameter, "#" ends the query, "+" reads as a space.
AWKWARD_IDS = ["A&B", "C#7", "J+K", "A&B 7", "50%", "x=y", "Zoë/2", "C0042"]


def displayed(link: str) -> str:
    """What a LinkColumn with display_text=CLIENT_LINK_TEXT shows for `link`.

    Streamlit's table (DataFrame.js, function `fd`) shows the regex's first group as
    decodeURIComponent(group.replaceAll("+", "%20")); this is the same in Python.
    """
    match = re.search(CLIENT_LINK_TEXT, link, flags=re.DOTALL)
    assert match is not None
    return unquote(match[1].replace("+", "%20"), errors="strict")


def test_client_link_points_at_the_client_progress_page() -> None:
    links = pd.Series(["C0042", "A&B 7"]).map(client_link)
    assert links.tolist() == ["/Client_Progress?client=C0042", "/Client_Progress?client=A%26B%207"]


@pytest.mark.parametrize("client_id", AWKWARD_IDS)
def test_a_client_link_opens_that_client(client_id: str) -> None:
    """Streamlit reads st.query_params with urllib's parse_qs: the id comes back whole."""
    url = urlsplit(client_link(client_id))
    assert url.path == CLIENT_PAGE
    assert url.fragment == ""
    assert parse_qs(url.query, keep_blank_values=True) == {"client": [client_id]}


@pytest.mark.parametrize("client_id", AWKWARD_IDS)
def test_a_client_link_column_shows_the_plain_id(client_id: str) -> None:
    assert displayed(client_link(client_id)) == client_id  # "A&B", never "A%26B"


def test_caseload_links_are_encoded_client_links() -> None:
    outcomes = pd.DataFrame(
        {
            "client_id": ["J+K", "A&B"],
            "client_name": ["Jo", "Al"],
            "series_number": [1, 1],
            "therapist": ["Ana", "Ana"],
            "headache_type": ["migraine", "migraine"],
            "sessions_attended": [3, 4],
            "last_session_date": pd.to_datetime(["2025-01-02", "2025-01-01"]),
            "hd28_change": [-2.0, 1.0],
            "hd28_change_label": ["", ""],
            "pain_change": [-1.0, 0.0],
            "pain_change_label": ["", ""],
            "series_status": ["completed", "completed"],
        }
    )
    table = comparisons.caseload_table(outcomes, "Ana")
    assert table["Client"].tolist() == [
        "/Client_Progress?client=J%2BK",
        "/Client_Progress?client=A%26B",
    ]
    assert comparisons.caseload_table(outcomes, "Ana", links=False)["Client"].tolist() == [
        "J+K",
        "A&B",
    ]


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("Bo *Bold*", "Bo \\*Bold\\*"),
        ("[x](y)", "\\[x\\]\\(y\\)"),
        (":red[a]", "\\:red\\[a\\]"),
        ("Ana Ng", "Ana Ng"),
        ("visits.csv", "visits\\.csv"),
        ("[click](http://x)", "\\[click\\]\\(http\\://x\\)"),
        ("**bold** _it_ `code`", "\\*\\*bold\\*\\* \\_it\\_ \\`code\\`"),
        (":red[alert] :smile:", "\\:red\\[alert\\] \\:smile\\:"),
        ("<b>x</b>", "\\<b\\>x\\</b\\>"),
        ("# 1 + 2 - 3 | $4 ~5 !", "\\# 1 \\+ 2 \\- 3 \\| \\$4 \\~5 \\!"),
        ("back\\slash", "back\\\\slash"),
        (7, "7"),
    ],
)
def test_escape_markdown_keeps_user_text_literal(text: object, escaped: str) -> None:
    assert escape_markdown(text) == escaped


def test_a_value_that_rounds_to_zero_never_reads_negative_zero() -> None:
    from practice.formatting import number_text

    assert number_text(-0.04, signed=True) == "+0.0"
    assert number_text(-0.0) == "0.0"
    assert number_text(-0.001, percent=True) == "0 %"
    assert number_text(-0.06, signed=True) == "-0.1"


def test_the_summary_table_shows_no_negative_zero_in_an_interval() -> None:
    from practice.cli import _estimate

    assert _estimate(1.8, [-0.04, 3.6]) == "+1.8 [+0.0, +3.6]"
    assert _estimate(-0.0, [-0.0, 0.0]) == "+0.0 [+0.0, +0.0]"
    assert _estimate(None, None) == "–"

"""Text as users read it: estimates with their 95 % interval and n, user text in Markdown,
links to a client's page."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import quote

import pandas as pd

# The Client progress page, which opens the client named by `?client=` (see client_link).
CLIENT_PAGE = "/Client_Progress"
# `display_text` of a LinkColumn of client_link()s: the page shows the client id, which it
# takes from the link's first group and URL-decodes (%26 back to "&").
CLIENT_LINK_TEXT = r"client=(.*)$"
# Markdown punctuation that could turn user text into formatting (and Streamlit's :red[],
# $math$, ~strike~); CommonMark escapes any ASCII punctuation with a backslash.
MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()<>#+-.!|~$:")


class EstimateLike(Protocol):
    """Anything with a value, an n and an interval (practice.overview.Estimate)."""

    @property
    def value(self) -> float | None: ...
    @property
    def n(self) -> int: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...


def number_text(
    value: float | None, *, percent: bool = False, signed: bool = False, unit: str = ""
) -> str:
    """`value` rounded for reading: 0.42 -> "42 %", -3.25 -> "-3.2 days"; None -> "–".
    A value that rounds to zero reads "0.0" (or "+0.0"), never "-0.0"."""
    if value is None or pd.isna(value):
        return "–"
    if percent:
        return f"{round(value * 100) + 0.0:.0f} %"
    shown = round(float(value), 1) + 0.0  # adding 0.0 turns -0.0 into 0.0
    return f"{shown:+.1f}{unit}" if signed else f"{shown:.1f}{unit}"


def estimate_text(
    estimate: EstimateLike, *, percent: bool = False, signed: bool = False, unit: str = ""
) -> str:
    """The estimate alone ("42 %", "-3.5 days")."""
    return number_text(estimate.value, percent=percent, signed=signed, unit=unit)


def interval_text(estimate: EstimateLike, *, percent: bool = False, signed: bool = False) -> str:
    """ "95 % CI 31 % to 54 %, n = 120" (or just the n where there is no interval)."""
    if estimate.low is None or estimate.high is None:
        return f"n = {estimate.n:,}"
    low = number_text(estimate.low, percent=percent, signed=signed)
    high = number_text(estimate.high, percent=percent, signed=signed)
    return f"95 % CI {low} to {high}, n = {estimate.n:,}"


def period_text(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    """ "1 Aug 2026 to 30 Aug 2026" (empty when there are no dates)."""
    if start is None or end is None:
        return ""
    return f"{start:%d %b %Y} to {end:%d %b %Y}"


# --- text for people: no internal codes, no None or NaN ----------------------------------------
# What an empty cell shows on the terminal (a blank would shift the columns of a text table).
EMPTY_CELL = "-"


def plain_table(frame: pd.DataFrame) -> str:
    """`frame` as a terminal table without its index; missing values (None, NaN, NaT) read "-"."""
    shown = frame.astype(object).where(frame.notna(), EMPTY_CELL)
    return shown.to_string(index=False)


def counts_text(counts: Mapping[str, object]) -> str:
    """{"sessions_removed": 3, "clients_removed": 0} -> "sessions removed 3, clients removed 0"."""
    return ", ".join(f"{str(name).replace('_', ' ')} {value}" for name, value in counts.items())


_DICT_LITERAL = re.compile(r"\{[^{}]*\}")


def readable_detail(detail: object) -> str:
    """An audit detail as words: a stored Python dict ("{'sessions_removed': 3}") is spelled
    out as counts_text; None is empty."""
    if detail is None or (not isinstance(detail, str) and pd.isna(detail)):
        return ""

    def spell(match: re.Match[str]) -> str:
        try:
            value = ast.literal_eval(match.group(0))
        except (ValueError, SyntaxError):
            return match.group(0)
        return counts_text(value) if isinstance(value, dict) else match.group(0)

    return _DICT_LITERAL.sub(spell, str(detail))


# How the Users and audit log page names roles and audit events (the log stores short codes).
ROLE_NAMES = {"owner": "Owner", "therapist": "Therapist", "front_desk": "Front desk"}
AUDIT_EVENT_NAMES = {
    "sign_in": "Signed in",
    "sign_in_failed": "Failed sign-in",
    "signed_out": "Signed out",
    "page_refused": "Page refused",
    "import": "Import",
    "undo": "Undo",
    "export": "Download",
    "user_added": "User added",
    "password_changed": "Password changed",
    "user_disabled": "User disabled",
}


def _name(codes: pd.Series, names: Mapping[str, str]) -> pd.Series:
    """Codes as their names; an unknown code as itself with "_" read as a space; None empty."""
    text = codes.astype(object).where(codes.notna(), "")
    return text.map(lambda code: names.get(code) or str(code).replace("_", " ").capitalize())


def users_table(users: pd.DataFrame) -> pd.DataFrame:
    """`auth.list_users` for people: role names, "yes"/"no" for disabled, "all" for a user
    limited to no location, and empty text where there is no value."""
    return users.assign(
        role=_name(users["role"], ROLE_NAMES),
        disabled=users["disabled"].map(lambda flag: "yes" if flag else "no").astype(object),
        therapist_name=users["therapist_name"]
        .astype(object)
        .where(users["therapist_name"].notna(), ""),
        locations=users["locations"].astype(object).where(users["locations"].ne(""), "all"),
    )


def audit_table(events: pd.DataFrame) -> pd.DataFrame:
    """`auth.fetch_audit_log` for people: event names, details in words (a role code named, a
    stored dict spelled out), no "None"."""
    detail = events["detail"].map(readable_detail)
    # Sign-ins store the role ("front_desk"), new users "fred (front_desk)": name the role.
    with_role = events["event"].isin(["sign_in", "user_added"])
    role = re.compile(r"\b(" + "|".join(ROLE_NAMES) + r")\b")
    detail = detail.mask(
        with_role, detail[with_role].str.replace(role, lambda m: ROLE_NAMES[m.group(1)], regex=True)
    )
    return events.assign(
        username=events["username"].astype(object).where(events["username"].notna(), ""),
        event=_name(events["event"], AUDIT_EVENT_NAMES),
        detail=detail,
    )


def escape_markdown(text: object) -> str:
    """`text` with every Markdown special character escaped, so user data shows as typed."""
    return "".join("\\" + c if c in MARKDOWN_SPECIALS else c for c in str(text))


def client_link(client_id: object) -> str:
    """The Client progress page's deep link for one client, its id URL-encoded.

    Every character but letters, digits and "_.-~" is percent-encoded, so ids such as
    "A&B", "C#7" and "J+K" come back whole from the query string (a bare "+" would read as
    a space, "&" would start another parameter, "#" would end the query).
    """
    return f"{CLIENT_PAGE}?client={quote(str(client_id), safe='')}"

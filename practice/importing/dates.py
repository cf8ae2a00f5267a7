"""Dates in exports: ISO, US (month first) and European (day first), one order per file.

The order is inferred from every date column of a file together: a first part above 12 means
day-first, a second part above 12 means month-first. When nothing decides it and some dates
read differently either way, the caller must say (`--dayfirst` / `--monthfirst`).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd

DateOrder = Literal["dayfirst", "monthfirst"]

# A date may be followed by a time of day ("2025-03-14 10:30", "03/14/2025 2:30 PM"), nothing else.
_TIME = r"(?:[ T,]\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp][Mm])?(?:Z|[+-]\d{2}:?\d{2})?)?"
_ISO = r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME + "$"
_NUMERIC = r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4}|\d{2})" + _TIME + "$"
_HAS_LETTERS = r"[A-Za-z]{3,}"


class AmbiguousDateOrder(Exception):
    """The file's dates can be read day-first or month-first; `example` shows one."""

    def __init__(self, example: str, column: str) -> None:
        self.example = example
        self.column = column
        super().__init__(example)


class MixedDateOrder(Exception):
    """The file holds dates that are only valid day-first and others only month-first."""

    def __init__(self, dayfirst_example: str, monthfirst_example: str) -> None:
        self.dayfirst_example = dayfirst_example
        self.monthfirst_example = monthfirst_example
        super().__init__(f"{dayfirst_example} / {monthfirst_example}")


def infer_date_order(columns: dict[str, pd.Series]) -> DateOrder | None:
    """The order that reads every numeric date in `columns`, None if all are ISO or agree.

    Raises AmbiguousDateOrder or MixedDateOrder when the file alone cannot decide.
    """
    # Hand-written because no library decides once per file from all its dates: pandas'
    # `dayfirst` is only a hint and its format is guessed from the first date of a column
    # (03/04 settles nothing, the 13/04 further down does), and dateutil guesses each string
    # alone. An export has one order, and any one date may be the one that shows it.
    dayfirst_example = monthfirst_example = None
    ambiguous: tuple[str, str] | None = None
    for name, values in columns.items():
        parts = _numeric_parts(values.drop_duplicates())
        if parts.empty:
            continue
        first, second = parts["a"].astype(int), parts["b"].astype(int)
        # A date impossible in both orders (13/13/2025) is evidence of nothing; it is reported
        # as an invalid date at its row instead.
        possible = (first <= 12) | (second <= 12)
        parts, first, second = parts[possible], first[possible], second[possible]
        if dayfirst_example is None and (first > 12).any():
            dayfirst_example = str(parts.index[(first > 12).argmax()])
        if monthfirst_example is None and (second > 12).any():
            monthfirst_example = str(parts.index[(second > 12).argmax()])
        unclear = (first <= 12) & (second <= 12) & (first != second)
        if ambiguous is None and unclear.any():
            ambiguous = (str(parts.index[unclear.argmax()]), name)
    if dayfirst_example and monthfirst_example:
        raise MixedDateOrder(dayfirst_example, monthfirst_example)
    if dayfirst_example:
        return "dayfirst"
    if monthfirst_example:
        return "monthfirst"
    if ambiguous:
        raise AmbiguousDateOrder(*ambiguous)
    return None


def parse_dates(values: pd.Series, order: DateOrder | None) -> pd.Series:
    """Dates (datetime64, NaT where blank or impossible) from text in any supported form.

    Each distinct text is parsed once and mapped back, so a million rows cost a few hundred
    parses.
    """
    codes, uniques = pd.factorize(values)
    distinct = pd.Series(uniques)
    distinct = distinct[distinct != ""]
    if distinct.empty:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    parsed = _parse_distinct(distinct, order).reindex(range(len(uniques)))
    dates = parsed.to_numpy("datetime64[ns]")
    # Code -1 (a missing cell) takes the NaT appended at the end.
    spread = np.append(dates, np.datetime64("NaT", "ns"))[codes]
    return pd.Series(spread, index=values.index, dtype="datetime64[ns]")


def _parse_distinct(distinct: pd.Series, order: DateOrder | None) -> pd.Series:
    result = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[ns]")
    iso = distinct.str.extract(_ISO)
    is_iso = iso["y"].notna()
    result[is_iso] = _assemble(iso.loc[is_iso, "y"], iso.loc[is_iso, "m"], iso.loc[is_iso, "d"])
    numeric = distinct[~is_iso].str.extract(_NUMERIC)
    is_numeric = numeric["y"].notna()
    rows = numeric[is_numeric]
    day, month = (rows["b"], rows["a"]) if order == "monthfirst" else (rows["a"], rows["b"])
    result[rows.index] = _assemble(_four_digit_year(rows["y"]), month, day)
    worded = distinct[~is_iso].loc[~is_numeric]
    worded = worded[worded.str.contains(_HAS_LETTERS, regex=True)]
    if not worded.empty:
        # Month names are unambiguous ("5 Mar 2025", "March 5, 2025"); let pandas read them.
        result[worded.index] = pd.to_datetime(
            worded, format="mixed", errors="coerce", dayfirst=order == "dayfirst"
        ).dt.normalize()
    return result


def _numeric_parts(values: pd.Series) -> pd.DataFrame:
    text = values[values != ""]
    text = text[~text.str.match(_ISO)]
    parts = text.str.extract(_NUMERIC).dropna()
    parts.index = text.loc[parts.index].to_numpy()
    return parts


def _four_digit_year(years: pd.Series) -> pd.Series:
    """Two-digit years up to next year are 20xx, later ones 19xx ("99" is 1999, a birth year)."""
    numbers = years.astype(int)
    pivot = dt.date.today().year % 100 + 1
    century = np.where(numbers <= pivot, 2000, 1900)
    return numbers.where(numbers >= 100, numbers + century)


def _assemble(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    if len(year) == 0:
        return pd.Series([], dtype="datetime64[ns]")
    parts = pd.DataFrame(
        {"year": year.astype(int), "month": month.astype(int), "day": day.astype(int)}
    )
    return pd.to_datetime(parts, errors="coerce")

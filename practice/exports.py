"""Files users download: CSV tables that a spreadsheet cannot mistake for formulas, PNG charts."""

from __future__ import annotations

import altair as alt
import pandas as pd

# OWASP "CSV Injection": a cell starting with one of these may run as a formula when the file is
# opened in a spreadsheet; prefixing a single quote makes it inert text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells cannot run as spreadsheet formulas.

    Numbers stay numbers (a negative change is not text); only text cells that begin with a
    formula trigger get a leading single quote.
    """
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_TRIGGERS).fillna(False).astype(bool)
        if risky.any():
            safe[column] = values.astype(object).where(~risky, "'" + text)
    return safe


def table_csv(frame: pd.DataFrame) -> bytes:
    """`frame` as UTF-8 CSV bytes (with BOM, so Excel reads accents right), formulas defused."""
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8-sig")


def chart_png(chart: alt.TopLevelMixin, *, scale: float = 2.0) -> bytes:
    """`chart` rendered to PNG by vl-convert (no browser needed)."""
    import vl_convert as vlc

    return bytes(vlc.vegalite_to_png(chart.to_json(), scale=scale))

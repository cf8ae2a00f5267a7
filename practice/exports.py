"""Files users download: CSV tables that a spreadsheet cannot mistake for formulas, PNG charts."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd
from altair.utils.data import to_values

from practice.charts.style import theme_config

# OWASP "CSV Injection": a cell starting with one of these may run as a formula when the file is
# opened in a spreadsheet; prefixing a single quote makes it inert text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A cell that is nothing but a number ("-4.6", "+2", "1e-3") is read as that number, never run.
_PLAIN_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
# Typographic characters that make a spreadsheet read a number as text ("−4.6" is text in
# Excel) and the dashes the pages show for "nothing".
_ASCII_MINUS = str.maketrans({"\u2212": "-"})
_EMPTY_MARKS = frozenset({"\u2013", "\u2014"})

# Readable headers for the column names the analysis uses; any other name is spelled out word
# by word (`_WORDS`), so a new column never reaches a spreadsheet as `snake_case`.
HEADERS: dict[str, str] = {
    "client_id": "Client",
    "client_name": "Name",
    "therapist": "Therapist",
    "sessions_attended": "Sessions attended",
    "pain_pct_change": "Pain change (%)",
    "hd28_pct_change": "Headache days change (%)",
    "reason": "Why",
    "how_to_read": "How to read it",
    "pct_change": "Change (%)",
    "meaning": "What it means",
    "group_by": "Grouped by",
    "population": "Who is counted",
    "n_clients": "Clients",
    "n_series": "Series",
    "n": "Series counted",
    "n_sessions": "Sessions",
    "responder_n": "Series counted for responders",
    "adjusted_n": "Series counted for the adjusted difference",
    "residual_n": "Series counted for the funnel",
    "is_reference": "Is the reference group",
    "small_n": "Small group",
    "label": "Label",
    "covariates": "Adjusted for",
    "at": "When (UTC)",
    "username": "User",
}
_WORDS = {
    "hd28": "headache days per 28 days",
    "pct": "(%)",
    "ci": "95 % CI",
    "sd": "SD",
    "n": "n",
    "p": "p",
    "id": "ID",
    "hit6": "HIT-6",
    "midas": "MIDAS",
}
# Decimals kept per kind of number; everything else gets DECIMALS.
DECIMALS = 2
_DECIMALS_BY_WORD = (("p_value", 4), ("rate", 3), ("survival", 3), ("cumulative", 3), ("pct", 1))


def readable_header(column: object) -> str:
    """The header a spreadsheet user reads for `column` ("change_ci_low" -> "Change 95 % CI
    low"); a name that is already readable is kept."""
    name = str(column)
    if name in HEADERS:
        return HEADERS[name]
    if "_" not in name and name != name.lower():
        return name
    words = " ".join(_WORDS.get(word, word) for word in name.split("_") if word)
    return words[:1].upper() + words[1:]


def decimals(column: object) -> int:
    """How many decimals a CSV keeps for `column`: p-values 4, rates and proportions 3,
    percentages 1, other numbers 2."""
    name = str(column).lower()
    return next((places for word, places in _DECIMALS_BY_WORD if word in name), DECIMALS)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells cannot run as spreadsheet formulas.

    Numbers stay numbers (a negative change is not text), and so do text cells that hold only a
    number; other text cells that begin with a formula trigger get a leading single quote.
    """
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        is_text = values.map(lambda cell: isinstance(cell, str)).astype(bool)
        text = values.astype("string")
        risky = (
            is_text
            & text.str.startswith(FORMULA_TRIGGERS).fillna(False).astype(bool)
            & ~text.str.fullmatch(_PLAIN_NUMBER).fillna(False).astype(bool)
        )
        if risky.any():
            safe[column] = values.astype(object).where(~risky, "'" + text)
    return safe


def spreadsheet_frame(
    frame: pd.DataFrame, headers: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """`frame` as every Headway CSV writes it: readable headers (`headers` first, then
    HEADERS), numbers rounded (see `decimals`) and whole numbers without ".0", dates as ISO
    text, yes/no for true/false, ASCII minus signs, and an empty cell for a missing value."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        out[column] = _spreadsheet_column(frame[column], decimals(column))
    names = {**{c: readable_header(c) for c in frame.columns}, **(headers or {})}
    return out.rename(columns=names)


def _spreadsheet_column(values: pd.Series, places: int) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "yes", False: "no"})
    if pd.api.types.is_float_dtype(values):
        rounded = values.round(places)
        whole = rounded.dropna()
        return rounded.astype("Int64") if (whole == whole.round()).all() else rounded
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz else values
        at_midnight = (stamps.dropna() == stamps.dropna().dt.normalize()).all()
        return stamps.dt.strftime("%Y-%m-%d" if at_midnight else "%Y-%m-%d %H:%M:%S")
    if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
        return values.map(lambda cell: _spreadsheet_cell(cell, places)).astype(object)
    return values


def _spreadsheet_cell(cell: object, places: int) -> object:
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, str):
        text = cell.translate(_ASCII_MINUS)
        return None if cell.strip() in _EMPTY_MARKS else text
    if isinstance(cell, float) and pd.notna(cell):
        return round(cell, places)
    return cell


def table_csv(frame: pd.DataFrame, *, headers: Mapping[str, str] | None = None) -> bytes:
    """`frame` as every Headway CSV download: UTF-8 with BOM (so Excel reads accents right),
    the spreadsheet conventions of `spreadsheet_frame`, formulas defused."""
    safe = neutralise_formulas(spreadsheet_frame(frame, headers))
    return safe.to_csv(index=False).encode("utf-8-sig")


# Headway's theme (practice.charts.style); the PNGs and PDFs apply it explicitly so that their
# look never depends on which theme happens to be enabled in the process.
PRINT_THEME: dict[str, Any] = dict(theme_config())
_CHILD_CHARTS = ("layer", "hconcat", "vconcat", "concat")


def chart_spec(
    chart: alt.TopLevelMixin, *, theme: Mapping[str, Any] = PRINT_THEME
) -> dict[str, Any]:
    """`chart` as a self-contained Vega-Lite spec that no global Altair setting can change.

    Altair reads its data transformer and theme from process-wide registries, and Streamlit's
    `st.altair_chart` switches both while it serialises a page's charts. A PNG or PDF built on
    a download thread at that moment got data references without their data: axes and rules
    drawn, data lines missing. Here every data frame is inlined before serialising (so no
    transformer runs), the spec is built as a sub-spec (so no global theme is merged) and
    `theme` is applied explicitly.
    """
    own: Any = chart
    inlined = _inline_data(own.copy(deep=True))
    datasets: dict[str, Any] = {}
    spec = inlined.to_dict(context={"top_level": False, "datasets": datasets})
    if datasets:
        spec.setdefault("datasets", {}).update(datasets)
    spec.setdefault("$schema", alt.SCHEMA_URL)
    return dict(alt.utils.update_nested(copy.deepcopy(dict(theme)), spec, copy=True))


def _inline_data(chart: Any) -> Any:
    """`chart` (changed in place) with every pandas data frame replaced by its values."""
    data = getattr(chart, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        chart.data = alt.InlineData(values=to_values(data)["values"])
    for attribute in _CHILD_CHARTS:
        children = getattr(chart, attribute, alt.Undefined)
        if isinstance(children, list):
            for child in children:
                _inline_data(child)
    inner = getattr(chart, "spec", alt.Undefined)
    if isinstance(inner, alt.SchemaBase):
        _inline_data(inner)
    return chart


def chart_title(chart: alt.TopLevelMixin) -> str:
    """The title a chart shows (its first line), or "untitled"."""
    title = getattr(chart, "title", alt.Undefined)
    if isinstance(title, alt.TitleParams):
        title = title.text
    if isinstance(title, list | tuple):
        title = title[0] if title else ""
    return str(title) if isinstance(title, str) and title else "untitled"


def chart_png(chart: alt.TopLevelMixin, *, scale: float = 2.0) -> bytes:
    """`chart` rendered to PNG by vl-convert (no browser needed), whatever Altair's globals are."""
    import vl_convert as vlc

    return bytes(vlc.vegalite_to_png(json.dumps(chart_spec(chart)), scale=scale))

"""Files users download: CSV tables that a spreadsheet cannot mistake for formulas, PNG charts."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd
from altair.utils.data import to_values

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


# What Altair's own default theme adds to every chart; the PNGs and PDFs apply it explicitly so
# that their look never depends on which theme happens to be enabled in the process.
PRINT_THEME: dict[str, Any] = {
    "config": {"view": {"continuousWidth": 300, "continuousHeight": 300}}
}
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

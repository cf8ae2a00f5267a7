"""The look every chart shares: Headway's Altair theme, colours that stay the same per technique
and per therapist, titles."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any, TypeVar

import altair as alt

from practice.vocabulary import TECHNIQUES

ChartT = TypeVar("ChartT", alt.Chart, alt.LayerChart, alt.FacetChart)

# Headway's Altair theme, registered and enabled once, when this module is first imported.
THEME = "headway"
# Streamlit fits a stretched chart's *total* height (title, legend and axes included) into
# `height` unless the spec says otherwise; fitting only the width keeps the plot readable.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")

# Tableau 10 then 10 more distinct hues: readable on Streamlit's light and dark themes.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#aec7e8",
)
# Greyed-out marks: small groups that are shown but never ranked.
MUTED = "#9e9e9e"
GOOD = "#59a14f"
BAD = "#e15759"
NEUTRAL = "#4e79a7"


def theme_config() -> alt.theme.ThemeConfig:
    """What every Headway chart shares: titles and subtitles start at the left edge, and a
    chart that sets no size gets Altair's default one (300 x 300).

    The pages get it from the enabled theme. Exports apply it explicitly
    (practice.exports.chart_spec): Altair's active theme is process-wide, and a page being
    drawn on another thread may have switched it.
    """
    return {
        "config": {
            "view": {"continuousWidth": 300, "continuousHeight": 300},
            "title": {"anchor": "start"},
        }
    }


alt.theme.register(THEME, enable=True)(theme_config)


def technique_colors(keys: Iterable[str]) -> alt.Scale:
    """A colour per technique key: vocabulary techniques always get the same colour."""
    known = list(TECHNIQUES)
    extra = sorted(set(keys) - set(known))
    domain = known + extra
    return alt.Scale(domain=domain, range=[PALETTE[i % len(PALETTE)] for i in range(len(domain))])


def therapist_colors(names: Iterable[str]) -> alt.Scale:
    """A colour per therapist, assigned in name order over every therapist in the database."""
    domain = sorted(set(names))
    return alt.Scale(domain=domain, range=[PALETTE[i % len(PALETTE)] for i in range(len(domain))])


# Vega never wraps a title: a longer subtitle line is cut at the chart's edge. Lines of at most
# SUBTITLE_LINE_CHARS characters fit a full-width chart at 1440 px; a half-width chart (the
# Overview's pair) or the fixed-width faceted one passes HALF_WIDTH_LINE_CHARS.
SUBTITLE_LINE_CHARS = 90
HALF_WIDTH_LINE_CHARS = 60


def subtitle_lines(subtitle: str | list[str], width: int = SUBTITLE_LINE_CHARS) -> list[str]:
    """`subtitle` broken into lines of at most `width` characters (Vega draws each list item
    on its own line and cuts, rather than wraps, a long one)."""
    lines = [subtitle] if isinstance(subtitle, str) else subtitle
    return [part for line in lines for part in textwrap.wrap(line, width) or [""]]


def title_params(
    title: str, subtitle: str | list[str] | None = None, *, width: int = SUBTITLE_LINE_CHARS
) -> alt.TitleParams:
    """A title with a short plain-language subtitle wrapped at `width` characters, never cut."""
    if subtitle:
        return alt.TitleParams(title, subtitle=subtitle_lines(subtitle, width))
    return alt.TitleParams(title)


def titled(
    chart: ChartT,
    title: str,
    subtitle: str | None = None,
    *,
    line_chars: int = SUBTITLE_LINE_CHARS,
) -> ChartT:
    """Give a chart the builder has just made its title and a short plain-language subtitle,
    wrapped into lines of at most `line_chars` characters, never cut; returns the chart.

    The title is set on `chart` itself: Altair's `.properties(title=...)` would copy the chart
    (for a layered chart, a deep copy of every layer) and check the title against the Vega-Lite
    schema, 10-25 ms a chart on every filter change. The builders' tests validate every spec.
    """
    chart.title = title_params(title, subtitle, width=line_chars)
    return chart


def layered(*layers: alt.Chart | alt.LayerChart, **properties: Any) -> alt.LayerChart:
    """`alt.LayerChart(layer=layers, **properties)`, the same spec, built without copying
    every layer twice.

    Altair's constructor deep-copies each layer to lift selection parameters, sizes and shared
    data up to the chart (5-15 ms a chart, on every filter change); `to_dict()` passes the
    chart through that constructor again, so the spec comes out the same
    (tests/test_charts_style.py compares them).
    """
    chart = alt.LayerChart(layer=[], **properties)
    chart.layer = list(layers)
    return chart

"""The look every chart shares: colours that stay the same per technique and per therapist."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import TypeVar

import altair as alt

from practice.vocabulary import TECHNIQUES

ChartT = TypeVar("ChartT", bound=alt.TopLevelMixin)

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


def titled(
    chart: ChartT,
    title: str,
    subtitle: str | None = None,
    *,
    line_chars: int = SUBTITLE_LINE_CHARS,
) -> ChartT:
    """Give a chart its title and a short plain-language subtitle, wrapped into lines of at
    most `line_chars` characters, never cut."""
    if subtitle:
        lines = subtitle_lines(subtitle, line_chars)
        return chart.properties(title=alt.TitleParams(title, subtitle=lines, anchor="start"))
    return chart.properties(title=alt.TitleParams(title, anchor="start"))

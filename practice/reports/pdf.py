"""The layout every Headway PDF shares: fonts, safe text, headings, tables and charts (fpdf2).

Text that comes from data (names, notes, technique labels) goes through `clean()` before it is
measured or drawn, and every string drawn passes `ReportDocument.printable()`: control and
direction-changing characters go, characters the font cannot draw become "?", and nothing is
ever read as markup (fpdf2's markdown stays off). So no value can break the layout or smuggle
formatting into a report.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import altair as alt
import pandas as pd
from fpdf import FPDF
from fpdf.fonts import FontFace

from practice.exports import chart_png

# DejaVu Sans, from Debian's fonts-dejavu-core (part of the machine image): it draws accents,
# Greek, Cyrillic and the typographic minus. Without it the reports fall back to the PDF core
# font Helvetica, and text is reduced to Latin-1 (accented Latin letters still draw).
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
UNICODE_FAMILY = "DejaVu"
CORE_FAMILY = "Helvetica"

MARGIN = 14.0  # mm, left and right
TOP = 17.0  # mm, below the running header
BOTTOM = 14.0  # mm, above the footer
INK = (33, 33, 33)
GREY = (97, 97, 97)
MUTED = (150, 150, 150)
RULE = (205, 205, 205)
ACCENT = (40, 85, 135)
WARNING = (150, 70, 0)
WARNING_FILL = (253, 240, 226)
INFO_FILL = (236, 242, 248)
HEADING_FILL = (234, 238, 243)

# C0/C1 controls, zero-width characters, line/paragraph separators and the bidirectional
# overrides and isolates (which could make a name display as different text).
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)
# What the Latin-1 core font draws instead of common typographic characters.
_LATIN1_SUBSTITUTES = {
    "\u2212": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u2192": "->",
    "\u2265": ">=",
    "\u2264": "<=",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0131": "i",
    "\u0152": "OE",
    "\u0153": "oe",
}
ELLIPSIS = "\u2026"
# Characters a table cell keeps; longer text is cut with an ellipsis.
CELL_LIMIT = 300


def clean(value: object, *, limit: int | None = None) -> str:
    """`value` as one line of plain text: no control characters, single spaces, at most
    `limit` characters (cut with an ellipsis). Missing values become ""."""
    if value is None:
        return ""
    if not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value):
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = " ".join(_INVISIBLE.sub(" ", text).split())
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + ELLIPSIS
    return text


def _latin1(character: str) -> str:
    """What the Latin-1 core font draws for `character`: itself, a substitute, the letter
    without its accent ("ś" -> "s"), else "?"."""
    if ord(character) < 256:
        return character
    if character in _LATIN1_SUBSTITUTES:
        return _LATIN1_SUBSTITUTES[character]
    base = "".join(
        c for c in unicodedata.normalize("NFKD", character) if not unicodedata.combining(c)
    )
    return base if base and all(ord(c) < 256 for c in base) else "?"


def unicode_font_files() -> dict[str, Path] | None:
    """The DejaVu Sans files when the machine has them, else None."""
    for folder in FONT_DIRS:
        files = {style: folder / name for style, name in FONT_FILES.items()}
        if all(path.is_file() for path in files.values()):
            return files
    return None


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels of a PNG image, read from its header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def print_chart(
    chart: alt.TopLevelMixin,
    *,
    width: int,
    height: int,
    title: str,
    subtitle: str | list[str] = "",
) -> bytes:
    """A page's chart as a PNG for print: its own size, a short title and larger type."""
    sized = chart.properties(
        width=width,
        height=height,
        title=alt.TitleParams(
            text=title, subtitle=subtitle, anchor="start", fontSize=15, subtitleFontSize=12
        ),
    )
    styled = (
        sized.configure_axis(labelFontSize=12, titleFontSize=12)
        .configure_legend(labelFontSize=12, titleFontSize=12)
        .configure_header(labelFontSize=12)
    )
    return chart_png(styled, scale=2.0)


class ReportDocument(FPDF):
    """An A4 portrait report with Headway's running header and footer."""

    def __init__(self, *, practice_name: str, title: str, unicode_fonts: bool = True) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.practice_name = clean(practice_name, limit=80)
        self.report_title = clean(title, limit=80)
        self.generated = dt.date.today()
        files = unicode_font_files() if unicode_fonts else None
        if files is not None:
            for style, path in files.items():
                self.add_font(UNICODE_FAMILY, style, str(path))
            self.typeface = UNICODE_FAMILY
        else:
            self.typeface = CORE_FAMILY
        self._drawable: dict[str, frozenset[int]] = {}
        self.set_margins(MARGIN, TOP, MARGIN)
        self.set_auto_page_break(True, margin=BOTTOM)
        self.set_title(self.report_title)
        self.set_author(self.practice_name)
        self.set_creator("Headway")
        self.set_text_color(*INK)

    # --- text safety ---------------------------------------------------------------------------
    def printable(self, text: str) -> str:
        """`text` with only characters the current font can draw ("?" for the rest)."""
        text = _INVISIBLE.sub(" ", text)
        if self.typeface == UNICODE_FAMILY and self.current_font is not None:
            key = str(getattr(self.current_font, "fontkey", "unicode"))
            if key not in self._drawable:
                cmap = getattr(self.current_font, "cmap", {})
                self._drawable[key] = frozenset(cmap)
            drawable = self._drawable[key]
            return "".join(c if ord(c) in drawable or c == " " else "?" for c in text)
        return "".join(_latin1(c) for c in text)

    def normalize_text(self, text: str) -> str:
        """Every string fpdf2 draws or measures passes here: make it drawable first."""
        return super().normalize_text(self.printable(text))

    # --- running header and footer -------------------------------------------------------------
    def header(self) -> None:
        """Practice name on the left, the report's title on the right, a thin rule."""
        self.set_y(7)
        self.use(size=8, style="B", color=GREY)
        half = (self.w - 2 * MARGIN) / 2
        self.cell(half, 5, self.practice_name, align="L")
        self.use(size=8, color=GREY)
        self.cell(half, 5, self.report_title, align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*RULE)
        self.line(MARGIN, 12.5, self.w - MARGIN, 12.5)
        self.set_y(TOP)
        self.set_text_color(*INK)

    def footer(self) -> None:
        """When and by whom the report was made, that it is confidential, the page number."""
        self.set_y(-10)
        self.use(size=7, color=GREY)
        self.cell(
            0,
            4,
            f"Prepared by {self.practice_name} with Headway on {self.generated:%d %b %Y}. "
            "Confidential: contains health information.",
            align="L",
        )
        self.set_x(MARGIN)
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")

    # --- building blocks -----------------------------------------------------------------------
    @property
    def content_width(self) -> float:
        """Width between the margins (mm)."""
        return float(self.w - self.l_margin - self.r_margin)

    def use(
        self, *, size: float, style: str = "", color: tuple[int, int, int] = INK
    ) -> ReportDocument:
        """Switch font size, weight ("" or "B") and colour."""
        self.set_font(self.typeface, style=style, size=size)
        self.set_text_color(*color)
        return self

    def heading(self, text: str, *, size: float = 11.5, space: float = 2.5) -> None:
        """A section heading in the accent colour."""
        self.ln(space)
        self.use(size=size, style="B", color=ACCENT)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(0.8)
        self.set_text_color(*INK)

    def paragraph(
        self,
        text: str,
        *,
        size: float = 8.5,
        style: str = "",
        color: tuple[int, int, int] = INK,
        space: float = 1.0,
    ) -> None:
        """Wrapped text across the page."""
        self.use(size=size, style=style, color=color)
        self.multi_cell(0, size * 0.47, text, align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(space)

    def bullets(self, items: Sequence[str], *, size: float = 8.5) -> None:
        """A list with a bullet before each wrapped item."""
        self.use(size=size)
        indent = 4.0
        for item in items:
            self.set_x(self.l_margin)
            self.cell(indent, size * 0.47, "\u2022")
            self.multi_cell(
                self.content_width - indent,
                size * 0.47,
                item,
                align="L",
                new_x="LMARGIN",
                new_y="NEXT",
            )
            self.ln(0.6)

    def box(
        self,
        text: str,
        *,
        size: float = 8.5,
        fill: tuple[int, int, int] = INFO_FILL,
        color: tuple[int, int, int] = INK,
        style: str = "",
    ) -> None:
        """A shaded box of wrapped text (notices and warnings)."""
        self.use(size=size, style=style, color=color)
        self.set_fill_color(*fill)
        self.multi_cell(
            0,
            size * 0.5,
            text,
            fill=True,
            align="L",
            padding=(1, 2),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.ln(1.2)

    def fitted_text(self, text: str, width: float, *, size: float, min_size: float) -> float:
        """The largest font size from `size` down to `min_size` at which `text` fits `width`."""
        step = size
        while step > min_size:
            self.set_font_size(step)
            if self.get_string_width(text) <= width:
                return step
            step -= 0.5
        return min_size

    def truncated(self, text: str, width: float) -> str:
        """`text` cut with an ellipsis so that it fits `width` at the current font."""
        if self.get_string_width(text) <= width:
            return text
        low, high = 0, len(text)
        while low < high:  # the longest prefix that still fits with the ellipsis
            middle = (low + high + 1) // 2
            if self.get_string_width(text[:middle].rstrip() + ELLIPSIS) <= width:
                low = middle
            else:
                high = middle - 1
        return text[:low].rstrip() + ELLIPSIS

    def data_table(
        self,
        headers: Sequence[str] | None,
        rows: Sequence[Sequence[object]],
        *,
        widths: Sequence[float],
        size: float = 7.5,
        muted_rows: Sequence[bool] = (),
        align: Sequence[str] = (),
    ) -> None:
        """A table (every cell cleaned); a shaded heading row unless `headers` is None; muted
        rows (small groups) are drawn grey."""
        self.use(size=size)
        self.set_draw_color(*RULE)
        self.set_fill_color(255, 255, 255)
        heading_style = FontFace(emphasis="BOLD", color=INK, fill_color=HEADING_FILL)
        aligns = list(align) or ["LEFT"] + ["RIGHT"] * (len(widths) - 1)
        with self.table(
            col_widths=tuple(widths),
            width=sum(widths),
            align="LEFT",
            text_align=tuple(aligns),
            borders_layout="HORIZONTAL_LINES",
            first_row_as_headings=headers is not None,
            headings_style=heading_style,
            line_height=size * 0.46,
            padding=(0.8, 1.0),
        ) as table:
            if headers is not None:
                table.row([clean(h, limit=CELL_LIMIT) for h in headers])
            for i, cells in enumerate(rows):
                muted = i < len(muted_rows) and muted_rows[i]
                table.row(
                    [clean(c, limit=CELL_LIMIT) for c in cells],
                    style=FontFace(color=MUTED if muted else INK),
                )
        self.ln(1.5)
        self.set_text_color(*INK)

    def png(self, data: bytes, *, x: float, y: float, width: float, height: float) -> float:
        """Draw a PNG within (width x height) keeping its shape; returns the height used."""
        pixels_w, pixels_h = png_size(data)
        scale = min(width / pixels_w, height / pixels_h)
        drawn_w, drawn_h = pixels_w * scale, pixels_h * scale
        self.image(data, x=x + (width - drawn_w) / 2, y=y, w=drawn_w, h=drawn_h)
        return drawn_h

    def placeholder(self, text: str, *, x: float, y: float, width: float, height: float) -> None:
        """A light frame with a sentence where a chart would be."""
        self.set_draw_color(*RULE)
        self.rect(x, y, width, height)
        self.use(size=8, color=GREY)
        self.set_xy(x + 3, y + height / 2 - 3)
        self.multi_cell(width - 6, 4, text, align="C")
        self.set_text_color(*INK)

    def pdf_bytes(self) -> bytes:
        """The finished document."""
        return bytes(self.output())

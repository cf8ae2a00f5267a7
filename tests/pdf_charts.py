"""The charts inside a PDF report, read back as images, and whether their data lines are drawn."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from pypdf import PdfReader

# The data lines of the client report's charts: pain before sessions and headache days (blue),
# pain after sessions (orange). A chart that lost its data still draws its axes, baseline and
# legend, so a line is counted present only above what a legend swatch covers.
BLUE, ORANGE = (78, 121, 167), (242, 142, 43)
LINE_PIXELS = 1000


def chart_images(pdf: bytes) -> list[bytes]:
    """The images on the report's first page, as stored in the PDF."""
    return [image.data for image in PdfReader(io.BytesIO(pdf)).pages[0].images]


def coloured_pixels(image: bytes, rgb: tuple[int, int, int]) -> int:
    """How many pixels of `image` are (nearly) the colour `rgb`."""
    pixels = np.asarray(Image.open(io.BytesIO(image)).convert("RGB")).astype(int)
    return int((np.abs(pixels - np.array(rgb)).sum(axis=2) < 40).sum())


def draws_data_lines(pdf: bytes) -> bool:
    """Whether the pain chart draws both its lines and the headache-days chart its line."""
    pain, days = chart_images(pdf)
    return (
        coloured_pixels(pain, BLUE) > LINE_PIXELS
        and coloured_pixels(pain, ORANGE) > LINE_PIXELS
        and coloured_pixels(days, BLUE) > LINE_PIXELS
    )

"""Altair's process-wide settings switched the way Streamlit switches them while it draws a chart.

`st.altair_chart` enables a data transformer that swaps every data frame for a named reference
(the data travels beside the spec) and changes the theme. A download rendering a chart on
another thread at that moment must not be affected.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import altair as alt

TRANSFORMER = "headway_test_reference_only"
THEME = "headway_test_theme"


def _reference_only(data: Any) -> dict[str, str]:
    return {"name": f"elsewhere-{id(data)}"}


@alt.theme.register(THEME, enable=False)
def _tiny_red_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "view": {"continuousWidth": 40, "continuousHeight": 40},
            "line": {"color": "red"},
        }
    }


@contextlib.contextmanager
def foreign_settings() -> Iterator[None]:
    """Altair's globals as a chart being drawn elsewhere leaves them, restored afterwards."""
    alt.data_transformers.register(TRANSFORMER, _reference_only)
    try:
        with alt.data_transformers.enable(TRANSFORMER), alt.theme.enable(THEME):
            yield
    finally:
        alt.data_transformers.register(TRANSFORMER, None)


@contextlib.contextmanager
def foreign_settings_on_another_thread() -> Iterator[None]:
    """While the block runs, another thread holds the foreign settings (as Streamlit's script
    thread does while it serialises a page's chart)."""
    entered, done = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def hold() -> None:
        try:
            with foreign_settings():
                entered.set()
                done.wait()
        except BaseException as error:  # pragma: no cover - reported below
            failure.append(error)
            entered.set()

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait()
    try:
        yield
    finally:
        done.set()
        holder.join()
    if failure:
        raise failure[0]

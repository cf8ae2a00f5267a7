"""Every analysis column and every outcome setting is explained in docs/metrics.md."""

from __future__ import annotations

import re

import pytest

from practice import analysis, config

METRICS = config.PROJECT_ROOT / "docs" / "metrics.md"
COLUMN_LISTS = [
    "OUTCOME_COLUMNS",
    "GROUP_COLUMNS",
    "ADJUSTED_COLUMNS",
    "FUNNEL_COLUMNS",
    "CURVE_COLUMNS",
    "TIME_COLUMNS",
    "RELIEF_COLUMNS",
    "ALERT_COLUMNS",
]


def documented_names() -> set[str]:
    """Every `name` written in backticks in docs/metrics.md."""
    return set(re.findall(r"`([^`\s]+)`", METRICS.read_text(encoding="utf-8")))


def outcome_settings() -> list[str]:
    """The settings assigned in the "Outcome thresholds" section of practice/config.py."""
    source = (config.PROJECT_ROOT / "practice" / "config.py").read_text(encoding="utf-8")
    section = source.split("# --- Outcome thresholds", 1)[1]
    section = re.split(r"\n# ---|\ndef ", section, maxsplit=1)[0]
    return re.findall(r"^([A-Z][A-Z0-9_]+)\s*=", section, flags=re.MULTILINE)


def analysis_columns() -> list[tuple[str, str]]:
    columns = [(name, c) for name in COLUMN_LISTS for c in getattr(analysis, name)]
    return columns + [("summary_columns", c) for c in analysis.summary_columns()]


@pytest.mark.parametrize(("table", "column"), analysis_columns())
def test_column_is_documented(table: str, column: str) -> None:
    assert column in documented_names(), f"{table} column `{column}` missing from docs/metrics.md"


@pytest.mark.parametrize("setting", outcome_settings())
def test_outcome_setting_is_documented(setting: str) -> None:
    assert setting in documented_names(), f"setting `{setting}` missing from docs/metrics.md"


def test_the_outcome_section_is_found() -> None:
    assert {"RELIABILITY", "MIN_GROUP_N", "HD28_RESPONDER_FRACTION"} <= set(outcome_settings())


def test_treatment_series_and_populations_are_explained() -> None:
    text = METRICS.read_text(encoding="utf-8")
    phrases = ["## Treatment series", "SERIES_GAP_DAYS", "## Populations", *analysis.POPULATIONS]
    for phrase in phrases:
        assert phrase in text

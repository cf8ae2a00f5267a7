"""Numbers as clinicians read them: estimates with their 95 % interval and n."""

from __future__ import annotations

from typing import Protocol

import pandas as pd


class EstimateLike(Protocol):
    """Anything with a value, an n and an interval (practice.overview.Estimate)."""

    @property
    def value(self) -> float | None: ...
    @property
    def n(self) -> int: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...


def number_text(
    value: float | None, *, percent: bool = False, signed: bool = False, unit: str = ""
) -> str:
    """`value` rounded for reading: 0.42 -> "42 %", -3.25 -> "-3.2 days"; None -> "–"."""
    if value is None or pd.isna(value):
        return "–"
    if percent:
        return f"{value * 100:.0f} %"
    return f"{value:+.1f}{unit}" if signed else f"{value:.1f}{unit}"


def estimate_text(
    estimate: EstimateLike, *, percent: bool = False, signed: bool = False, unit: str = ""
) -> str:
    """The estimate alone ("42 %", "-3.5 days")."""
    return number_text(estimate.value, percent=percent, signed=signed, unit=unit)


def interval_text(estimate: EstimateLike, *, percent: bool = False, signed: bool = False) -> str:
    """ "95 % CI 31 % to 54 %, n = 120" (or just the n where there is no interval)."""
    if estimate.low is None or estimate.high is None:
        return f"n = {estimate.n:,}"
    low = number_text(estimate.low, percent=percent, signed=signed)
    high = number_text(estimate.high, percent=percent, signed=signed)
    return f"95 % CI {low} to {high}, n = {estimate.n:,}"


def period_text(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    """ "1 Aug 2026 to 30 Aug 2026" (empty when there are no dates)."""
    if start is None or end is None:
        return ""
    return f"{start:%d %b %Y} to {end:%d %b %Y}"

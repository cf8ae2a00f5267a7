"""Time points: "how were clients 3 months after they started?" (`summary --at 3m`).

A time point is N weeks or N months after a series' first attended session. A measure's value
at the time point is the follow-up report nearest to it, within config.TIME_POINT_WINDOW_DAYS
either side (docs/metrics.md, "Time points").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# An average month: 365.25 / 12 days, so "3m" is 91 days and "6m" 183 days.
DAYS_PER_MONTH = 365.25 / 12
_UNITS = {"w": ("week", 7.0), "m": ("month", DAYS_PER_MONTH)}
_PATTERN = re.compile(r"^\s*(\d{1,3})\s*(w|m)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TimePoint:
    """N weeks ("w") or months ("m") after a series' first attended session."""

    amount: int
    unit: str

    @property
    def code(self) -> str:
        """ "3m", "12w": how the command line spells it."""
        return f"{self.amount}{self.unit}"

    @property
    def days(self) -> int:
        """Days after the first session (a month is 365.25 / 12 days)."""
        return round(self.amount * _UNITS[self.unit][1])

    @property
    def label(self) -> str:
        """ "3 months", "1 week": how a page says it."""
        name = _UNITS[self.unit][0]
        return f"{self.amount} {name}{'' if self.amount == 1 else 's'}"


def parse_time_point(value: object) -> TimePoint:
    """A TimePoint from "3m", "12w" (or a TimePoint); a ValueError naming the value otherwise."""
    if isinstance(value, TimePoint):
        return value
    match = _PATTERN.match(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) < 1:
        raise ValueError(
            f"a time point is a number of weeks or months after the first session, "
            f"like 12w or 3m, got {value!r}"
        )
    return TimePoint(int(match.group(1)), match.group(2).lower())

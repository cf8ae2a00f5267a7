"""The Overview's headline estimates: the median change with its distribution-free interval."""

from __future__ import annotations

import pandas as pd
import pytest

from practice.overview import Estimate, median_with_interval


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Binomial(10, 1/2): P(X <= 1) = 11/1024 < 0.025 <= P(X <= 2) = 56/1024, so the
        # interval runs from the 2nd to the 9th smallest value (Conover 1999, section 3.2).
        (list(range(1, 11)), Estimate(5.5, 10, 2.0, 9.0)),
        # n = 6: P(X <= 0) = 1/64 < 0.025, so the smallest and the largest value.
        ([3, 1, 4, 1, 5, 9], Estimate(3.5, 6, 1.0, 9.0)),
        # n = 5: even the whole range covers the median only 1 - 2/32 = 94 % of the time.
        ([2, 7, 1, 8, 2], Estimate(2.0, 5)),
        ([None, 4.0, float("nan")], Estimate(4.0, 1)),
        ([], Estimate(None, 0)),
    ],
)
def test_median_with_interval_by_hand(values: list[float | None], expected: Estimate) -> None:
    assert median_with_interval(pd.Series(values, dtype=float)) == expected

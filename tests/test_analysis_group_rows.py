"""The arrays behind group comparisons agree with the frames they stand for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from practice.analysis import compare_groups, select_population
from practice.analysis._common import NOT_RECORDED, label_codes, label_groups, largest_group
from practice.analysis.groups import comparison_rows, population_rows
from practice.analysis.populations import POPULATIONS
from tests.analysis_frames import make_outcomes

ODD_LABELS = [
    ["b", " a", "a ", None, "", "  ", "b"],
    ["caf\u00e9", "\u00a0caf\u00e9\u00a0", "tab\t", "x\x1f", pd.NA, "x"],
    [1.0, 2.0, None, 1.0],
    ["only"],
    [],
]


@pytest.mark.parametrize("values", ODD_LABELS)
def test_label_codes_spell_out_label_groups(values: list) -> None:
    series = pd.Series(values, dtype=object)
    codes, names = label_codes(series)
    assert list(names) == sorted(set(names))
    assert list(names[codes]) == list(label_groups(series))


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"b": 2, "a": 2, "c": 1}, "a"),
        ({NOT_RECORDED: 9, "z": 1}, "z"),
        ({NOT_RECORDED: 3}, NOT_RECORDED),
        ({"b": 1, "a": 3}, "a"),
    ],
)
def test_largest_group_prefers_named_groups_then_names(counts: dict, expected: str) -> None:
    assert largest_group(pd.Series(counts)) == expected


def outcomes() -> pd.DataFrame:
    rows = []
    for i in range(12):
        latest = None if i % 4 == 0 else 5.0 + i
        rows.append(
            {
                "client_id": f"c{i % 9}",
                "therapist": ["Ana", "Ben", None][i % 3],
                "hd28_baseline": 10.0 + i,
                "hd28_latest": latest,
                "hd28_change": None if latest is None else latest - 10.0 - i,
                "hd28_responder_50": None if latest is None else i % 2 == 0,
                "completer": i % 5 != 0,
                "dropout": i % 4 == 0,
            }
        )
    return make_outcomes(rows)


@pytest.mark.parametrize("population", POPULATIONS)
def test_comparison_rows_are_the_population_rows(population: str) -> None:
    frame = outcomes()
    rows = comparison_rows(frame, population, "therapist")
    expected = population_rows(frame, population, "therapist")
    assert list(rows.names[rows.codes]) == list(expected["group"])
    judged, hits = rows.flags("hd28_responder_50")
    flags = select_population(frame, population)["hd28_responder_50"]
    assert judged.tolist() == flags.notna().tolist()
    assert hits.tolist() == flags.fillna(False).astype(bool).tolist()
    np.testing.assert_array_equal(rows.floats("hd28_latest"), expected["hd28_latest"])


def test_dropouts_count_as_non_responders_in_the_comparison() -> None:
    table = compare_groups(outcomes(), by="therapist", population="dropouts_as_nonresponders")
    assert table["responder_n"].sum() == 12

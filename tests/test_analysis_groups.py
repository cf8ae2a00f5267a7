"""Group comparisons: means with t intervals, Wilson rates, ANCOVA adjusted differences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from practice import config
from practice.analysis import (
    ADJUSTED_COLUMNS,
    GROUP_COLUMNS,
    adjusted_differences,
    compare_groups,
)
from practice.analysis.groups import fit_ols
from tests.analysis_frames import make_outcomes

Z = 1.959963984540054  # two-sided 95 % normal quantile
T_2DF = 4.302652729749464  # two-sided 95 % Student t quantile, 2 degrees of freedom


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson 1927 score interval, written out."""
    p = k / n
    denominator = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denominator
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / denominator
    return centre - half, centre + half


def hd28_row(client: str, group: str, baseline: float, latest: float, **extra: object) -> dict:
    change = latest - baseline
    return {
        "client_id": client,
        "primary_technique": group,
        "hd28_baseline": baseline,
        "hd28_latest": latest,
        "hd28_change": change,
        "hd28_responder_50": change <= -0.5 * baseline if baseline > 0 else pd.NA,
        **extra,
    }


@pytest.fixture
def small() -> pd.DataFrame:
    return make_outcomes(
        [
            hd28_row("c1", "x", 10, 5),  # -5, responder (-50 %)
            hd28_row("c2", "x", 12, 9),  # -3
            hd28_row("c3", "x", 8, 2),  # -6, responder
            hd28_row("c4", "y", 10, 10),  # 0
        ]
    )


def test_group_means_intervals_and_rates(small: pd.DataFrame) -> None:
    plain = compare_groups(small, by="technique", measure="hd28")
    assert list(plain.columns) == GROUP_COLUMNS
    table = plain.set_index("group")
    x, y = table.loc["x"], table.loc["y"]
    # x: changes -5, -3, -6: mean -14/3, SD sqrt(((-1/3)^2 + (5/3)^2 + (-4/3)^2) / 2) = sqrt(7/3).
    sd = math.sqrt(7 / 3)
    assert (x["n_clients"], x["n"]) == (3, 3)
    assert x["baseline_mean"] == pytest.approx(10.0)
    assert x["latest_mean"] == pytest.approx(16 / 3)
    assert x["change_mean"] == pytest.approx(-14 / 3)
    assert x["change_sd"] == pytest.approx(sd)
    assert x["change_ci_low"] == pytest.approx(-14 / 3 - T_2DF * sd / math.sqrt(3))
    assert x["change_ci_high"] == pytest.approx(-14 / 3 + T_2DF * sd / math.sqrt(3))
    assert (x["responders"], x["responder_n"]) == (2, 3)
    assert x["responder_rate"] == pytest.approx(2 / 3)
    assert (x["responder_rate_ci_low"], x["responder_rate_ci_high"]) == pytest.approx(wilson(2, 3))
    # A group of one: a mean without an interval; 0 of 1 has Wilson [0, z^2 / (1 + z^2)].
    assert y["n"] == 1
    assert math.isnan(y["change_ci_low"]) and math.isnan(y["change_ci_high"])
    assert y["responder_rate_ci_low"] == pytest.approx(0.0, abs=1e-12)
    assert y["responder_rate_ci_high"] == pytest.approx(Z**2 / (1 + Z**2))
    assert set(table["small_n"]) == {True}  # 3 and 1 clients < MIN_GROUP_N
    assert set(table["group_by"]) == {"primary_technique"}
    assert set(table["population"]) == {"all"}


def test_adjusted_difference_matches_statsmodels(small: pd.DataFrame) -> None:
    table = compare_groups(small, by="technique", measure="hd28").set_index("group")
    # Age, sex, headache type and years do not vary here, so the model is latest ~ group + baseline.
    data = small.rename(columns={"primary_technique": "g"})
    fit = smf.ols("hd28_latest ~ C(g, Treatment('x')) + hd28_baseline", data=data).fit()
    name = "C(g, Treatment('x'))[T.y]"
    assert table.at["y", "adjusted_difference"] == pytest.approx(fit.params[name])
    assert table.at["y", "adjusted_difference_ci_low"] == pytest.approx(fit.conf_int()[0][name])
    assert table.at["y", "adjusted_difference_ci_high"] == pytest.approx(fit.conf_int()[1][name])
    assert table.at["y", "adjusted_p_value"] == pytest.approx(fit.pvalues[name])
    # The reference (largest group) differs from itself by 0, without an interval.
    assert table.at["x", "reference"] == "x"
    assert table.at["x", "is_reference"]
    assert table.at["x", "adjusted_difference"] == 0
    assert math.isnan(table.at["x", "adjusted_difference_ci_low"])
    assert table.at["y", "covariates"] == "baseline"


def test_balanced_adjusted_difference_equals_raw_difference() -> None:
    # Both groups have baselines 10, 20, 15, so adjusting for baseline changes nothing:
    # (9 + 16 + 11) / 3 - (6 + 15 + 10) / 3 = 5/3.
    rows = [
        hd28_row(f"a{i}", "a", b, v)
        for i, (b, v) in enumerate(zip([10, 20, 15], [6, 15, 10], strict=True))
    ]
    rows += [
        hd28_row(f"b{i}", "b", b, v)
        for i, (b, v) in enumerate(zip([10, 20, 15], [9, 16, 11], strict=True))
    ]
    table = adjusted_differences(make_outcomes(rows), by="technique", reference="a")
    assert list(table.columns) == ADJUSTED_COLUMNS
    b = table.set_index("group").loc["b"]
    assert b["adjusted_difference"] == pytest.approx(5 / 3)
    assert b["adjusted_difference_ci_low"] < 5 / 3 < b["adjusted_difference_ci_high"]
    assert b["adjusted_n"] == 3


def practice_rows(seed: int = 11, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    baseline = rng.integers(4, 20, n).astype(float)
    groups = np.array(["p", "q", "r"])[rng.integers(0, 3, n)]
    latest = np.clip(baseline * 0.6 + rng.normal(0, 2, n) + (groups == "p"), 0, 28)
    return make_outcomes(
        [
            hd28_row(
                f"c{i}",
                g,
                b,
                v,
                therapist=g,
                age_at_intake=float(a),
                sex=s,
                headache_type=h,
                headache_years=float(y),
            )
            for i, (g, b, v, a, s, h, y) in enumerate(
                zip(
                    groups,
                    baseline,
                    latest,
                    rng.integers(20, 70, n),
                    rng.choice(["female", "male"], n),
                    rng.choice(["migraine", "tension_type"], n),
                    rng.integers(1, 30, n),
                    strict=True,
                )
            )
        ]
    )


def test_adjusted_difference_with_every_covariate_matches_statsmodels() -> None:
    rows = practice_rows()
    table = adjusted_differences(rows, by="therapist", reference="q").set_index("group")
    data = rows.rename(columns={"therapist": "g"})
    fit = smf.ols(
        "hd28_latest ~ C(g, Treatment('q')) + hd28_baseline + age_at_intake + headache_years"
        " + C(sex) + C(headache_type)",
        data=data,
    ).fit()
    for group in ("p", "r"):
        name = f"C(g, Treatment('q'))[T.{group}]"
        assert table.at[group, "adjusted_difference"] == pytest.approx(fit.params[name])
        assert table.at[group, "adjusted_difference_ci_low"] == pytest.approx(
            fit.conf_int()[0][name]
        )
    assert table.at["p", "covariates"] == (
        "baseline, age_at_intake, headache_years, sex, headache_type"
    )


def test_often_missing_covariate_is_left_out() -> None:
    rows = practice_rows()
    rows.loc[rows.index[:10], "age_at_intake"] = np.nan  # 25 % missing > 20 %
    table = adjusted_differences(rows, by="therapist")
    assert "age_at_intake" not in table["covariates"].iloc[0]
    assert set(table["adjusted_n"].astype(int)) != {0}
    assert table["adjusted_n"].sum() == 40  # no client dropped for it


def test_headache_type_is_not_its_own_covariate() -> None:
    table = adjusted_differences(practice_rows(), by="headache_type")
    assert "headache_type" not in table["covariates"].iloc[0]


def test_default_reference_is_the_largest_named_group() -> None:
    rows = make_outcomes(
        [hd28_row(f"n{i}", None, 10, 5) for i in range(4)]  # type: ignore[arg-type]
        + [hd28_row(f"a{i}", "a", 10, 6) for i in range(3)]
        + [hd28_row(f"b{i}", "b", 10, 7) for i in range(3)]
    )
    table = compare_groups(rows, by="technique").set_index("group")
    # "not recorded" is largest but never the default reference; a and b tie -> "a".
    assert set(table["reference"]) == {"a"}
    assert table.index[0] == "not recorded"  # sorted by size


def test_populations_are_applied_and_stated() -> None:
    rows = make_outcomes(
        [
            hd28_row("c1", "x", 10, 5),
            hd28_row("c2", "x", 10, 9, completer=False),
        ]
    )
    table = compare_groups(rows, by="technique", population="completers")
    assert table["n"].tolist() == [1]
    assert table["population"].tolist() == ["completers"]


def test_exposure_groups_overlap_without_adjustment() -> None:
    rows = make_outcomes(
        [
            {**hd28_row("c1", "a", 10, 5), "exposure_techniques": "a;b"},
            {**hd28_row("c2", "a", 10, 8), "exposure_techniques": "a"},
            {**hd28_row("c3", "b", 10, 2), "exposure_techniques": "b;c"},
            {**hd28_row("c4", "b", 10, 2), "exposure_techniques": np.nan},  # none >= 50 %
        ]
    )
    table = compare_groups(rows, by="technique_exposure").set_index("group")
    assert table["n_clients"].to_dict() == {"a": 2, "b": 2, "c": 1}
    assert table.at["b", "change_mean"] == pytest.approx((-5 - 8) / 2)
    assert table["adjusted_difference"].isna().all()
    assert not table["is_reference"].any()
    with pytest.raises(ValueError, match="reference is not used"):
        compare_groups(rows, by="technique_exposure", reference="a")
    with pytest.raises(ValueError, match="several groups"):
        adjusted_differences(rows, by="technique_exposure")


def test_small_groups_are_flagged() -> None:
    rows = make_outcomes(
        [hd28_row(f"a{i}", "a", 10, 5) for i in range(config.MIN_GROUP_N)]
        + [hd28_row(f"b{i}", "b", 10, 5) for i in range(config.MIN_GROUP_N - 1)]
    )
    table = compare_groups(rows, by="technique").set_index("group")
    assert table["small_n"].to_dict() == {"a": False, "b": True}


def test_measure_without_responder_rule() -> None:
    rows = make_outcomes(
        [{"client_id": "c1", "stress_baseline": 6, "stress_latest": 4, "stress_change": -2}]
    )
    table = compare_groups(rows, by="therapist", measure="stress")
    assert table.at[0, "change_mean"] == -2
    assert pd.isna(table.at[0, "responder_rate"])
    assert pd.isna(table.at[0, "responder_rule"])


def test_empty_outcomes_give_empty_tables() -> None:
    empty = make_outcomes([])
    assert list(compare_groups(empty, by="therapist").columns) == GROUP_COLUMNS
    assert compare_groups(empty, by="therapist").empty
    assert list(adjusted_differences(empty, by="therapist").columns) == ADJUSTED_COLUMNS


def test_input_is_not_mutated(small: pd.DataFrame) -> None:
    before = small.copy()
    compare_groups(small, by="technique", population="dropouts_as_nonresponders")
    pd.testing.assert_frame_equal(small, before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "room"}, "by must be one of"),
        ({"by": "therapist", "measure": "mood"}, "measure must be one of"),
        ({"by": "therapist", "population": "some"}, "population must be one of"),
        ({"by": "technique", "reference": "nope"}, "reference must be one of the groups"),
        ({"by": "technique", "responder": "hd28_change"}, "responder must name"),
    ],
)
def test_invalid_arguments_are_named(small: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compare_groups(small, **kwargs)


def random_design(seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """An ANCOVA-shaped design (intercept, three group dummies, baseline, age) and outcome."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 4, n)
    baseline = rng.integers(0, 29, n).astype(float)
    age = rng.integers(18, 90, n).astype(float)
    dummies = [(group == g).astype(float) for g in (1, 2, 3)]
    design = np.column_stack([np.ones(n), *dummies, baseline, age])
    return design, 0.6 * baseline + group + rng.normal(0, 3, n)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_ols_agrees_with_statsmodels(seed: int) -> None:
    design, y = random_design(seed)
    ours, theirs = fit_ols(y, design), sm.OLS(y, design).fit()
    assert ours.df_resid == theirs.df_resid
    for mine, reference in [
        (ours.params, theirs.params),
        (ours.bse, theirs.bse),
        (ours.conf_int(alpha=0.05), theirs.conf_int(alpha=0.05)),
        (ours.pvalues, theirs.pvalues),
        (ours.resid, theirs.resid),
    ]:
        np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=0)
    assert ours.scale == pytest.approx(theirs.scale, rel=1e-9)


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
@pytest.mark.parametrize(
    "change",
    [
        "duplicate column",  # a covariate that repeats a group dummy (one client, one level)
        "constant column",  # a covariate constant, collinear with the intercept
        "empty group",  # a dummy of zeros
        "ill conditioned",  # nearly collinear columns
    ],
)
def test_fit_ols_leaves_rank_deficient_designs_to_statsmodels(change: str) -> None:
    design, y = random_design(4)
    extra = {
        "duplicate column": design[:, 1],
        "constant column": np.full(len(y), 3.0),
        "empty group": np.zeros(len(y)),
        "ill conditioned": design[:, 4] + 1e-7 * design[:, 5],
    }[change]
    design = np.column_stack([design, extra])
    ours, theirs = fit_ols(y, design), sm.OLS(y, design).fit()
    # The same minimum-norm estimates and residual degrees of freedom, bit for bit.
    assert ours.df_resid == theirs.df_resid
    np.testing.assert_array_equal(ours.params, theirs.params)
    np.testing.assert_array_equal(ours.bse, theirs.bse)
    np.testing.assert_array_equal(ours.conf_int(alpha=0.05), theirs.conf_int(alpha=0.05))

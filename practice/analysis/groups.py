"""Group comparisons: by primary technique, technique exposure, therapist or headache type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import linalg, stats

from practice import config
from practice.analysis._common import (
    CONFIDENCE,
    GROUPINGS,
    RESPONDER_COLUMNS,
    Measure,
    canonical_by,
    default_reference,
    empty_frame,
    group_column,
    label_groups,
    largest_group,
    require_frame,
    require_measure,
    t_interval,
    wilson_interval,
)
from practice.analysis.followup import GROUP_FOLLOWUP_COLUMNS, describe_followups
from practice.analysis.labels import group_label, resolve_group
from practice.analysis.populations import POPULATION_COLUMNS, select_population

ADJUSTED_COLUMNS = [
    "group_by",
    "group",
    "population",
    "measure",
    "reference",
    "is_reference",
    "adjusted_n",
    "adjusted_difference",
    "adjusted_difference_ci_low",
    "adjusted_difference_ci_high",
    "adjusted_p_value",
    "covariates",
]
GROUP_COLUMNS = [
    "group_by",
    "group",
    "population",
    "measure",
    "n_clients",
    "n_series",
    "n",
    "baseline_mean",
    "baseline_sd",
    "latest_mean",
    "latest_sd",
    "change_mean",
    "change_sd",
    "change_ci_low",
    "change_ci_high",
    *GROUP_FOLLOWUP_COLUMNS,
    "responder_rule",
    "responder_n",
    "responders",
    "responder_rate",
    "responder_rate_ci_low",
    "responder_rate_ci_high",
    "reference",
    "is_reference",
    "unadjusted_difference",
    "unadjusted_difference_ci_low",
    "unadjusted_difference_ci_high",
    "adjusted_n",
    "adjusted_difference",
    "adjusted_difference_ci_low",
    "adjusted_difference_ci_high",
    "adjusted_p_value",
    "covariates",
    "small_n",
]
# Case-mix covariates (numeric ones may be left out when often missing; see config).
NUMERIC_COVARIATES = ("age_at_intake", "headache_years")
CATEGORY_COVARIATES = ("sex", "headache_type")
# The least-squares fit solves the normal equations only for designs this well conditioned
# (largest over smallest singular value, columns scaled to unit length and unscaled); any
# other design, rank-deficient ones included, goes to statsmodels' pinv fit as before.
MAX_CONDITION = 1e5


def compare_groups(
    outcomes: pd.DataFrame,
    *,
    by: str,
    measure: str = "hd28",
    population: str = "all",
    reference: str | None = None,
    responder: str | None = None,
) -> pd.DataFrame:
    """One row per group: n, mean baseline/latest/change (t CI), responders (Wilson CI), adjusted.

    `by`: "primary_technique" (alias "technique"), "technique_exposure" (a series counts under
    every technique of its `exposure_techniques`; no adjusted difference), "therapist" or
    "headache_type". `responder` names the flag column counted (default: the measure's headline
    rule). The adjusted difference is ANCOVA, group minus `reference` (default: largest group).
    """
    require_frame(outcomes, "outcomes")
    spec = require_measure(measure)
    column = group_column(by)
    flag = _responder_column(outcomes, spec, responder)
    followup = (f"{spec.key}_followup", f"{spec.key}_followup_change")
    rows = population_rows(outcomes, population, by, f"{spec.key}_change", flag, *followup)
    by_name = canonical_by(by)
    overlapping = column == "exposure_techniques"
    if overlapping and reference is not None:
        raise ValueError("reference is not used with by='technique_exposure' (groups overlap)")
    if rows.empty:
        return empty_frame(GROUP_COLUMNS)
    table = _describe(rows, spec, flag)
    if overlapping:
        table["is_reference"] = False
    else:
        # The default reference is the group with the most clients, counted just above.
        ref = resolve_reference(rows, reference, by, table["n_clients"])
        adjusted = _ancova(rows, spec, ref, column)
        table = table.join(adjusted.set_index("group"))
        table = table.join(_unadjusted(table, ref))
    table = table.assign(
        group_by=by_name,
        population=population,
        measure=spec.key,
        responder_rule=flag,
        small_n=table["n_clients"] < config.MIN_GROUP_N,
    )
    table = table.rename_axis("group").reset_index()
    table = table.sort_values(["n_clients", "group"], ascending=[False, True], kind="stable")
    return table.reindex(columns=GROUP_COLUMNS).reset_index(drop=True)


def adjusted_differences(
    outcomes: pd.DataFrame,
    *,
    by: str,
    measure: str = "hd28",
    population: str = "all",
    reference: str | None = None,
) -> pd.DataFrame:
    """Case-mix adjusted difference in latest score, each group minus `reference` (ANCOVA).

    OLS: latest ~ C(group, Treatment(reference)) + baseline + age + sex + headache type +
    headache years, with the covariates present and varying (Vickers & Altman 2001, BMJ).
    """
    spec = require_measure(measure)
    column = group_column(by)
    if column == "exposure_techniques":
        raise ValueError(
            "by='technique_exposure' puts a series in several groups; adjusted differences "
            "need one group per series (use by='primary_technique')"
        )
    rows = population_rows(outcomes, population, by)
    if rows.empty:
        return empty_frame(ADJUSTED_COLUMNS)
    ref = resolve_reference(rows, reference, by)
    table = _ancova(rows, spec, ref, column)
    table = table.assign(group_by=canonical_by(by), population=population, measure=spec.key)
    return table.reindex(columns=ADJUSTED_COLUMNS)


def population_rows(
    outcomes: pd.DataFrame, population: str, by: str, *columns: str | None
) -> pd.DataFrame:
    """`grouped_rows(select_population(outcomes, population), by)` with only the columns a
    comparison reads: the population's, the group's, the case mix and `columns`.

    The outcomes have about a hundred columns; a comparison reads about thirty, and selecting
    a population's rows copies every column it keeps.
    """
    require_frame(outcomes, "outcomes")
    wanted = {
        *POPULATION_COLUMNS,
        "client_id",
        *GROUPINGS.values(),
        *NUMERIC_COVARIATES,
        *CATEGORY_COVARIATES,
        *(c for c in columns if c),
    }
    narrowed = outcomes[[c for c in outcomes.columns if c in wanted]]
    return grouped_rows(select_population(narrowed, population), by)


def grouped_rows(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """`frame` with a `group` column; exposure groups repeat a series once per technique."""
    column = group_column(by)
    if column not in frame.columns:
        raise ValueError(f"outcomes is missing column {column!r} needed for by={by!r}")
    if column == "exposure_techniques":
        lists = frame[column].astype("string").str.split(";")
        long = frame.assign(group=lists).explode("group")
        keep = long["group"].notna() & long["group"].astype(str).str.strip().ne("")
        return long.loc[keep].assign(group=lambda f: f["group"].astype(str).str.strip())
    return frame.assign(group=label_groups(frame[column]))


def resolve_reference(
    rows: pd.DataFrame, reference: str | None, by: str = "", clients: pd.Series | None = None
) -> str | None:
    """The group key `reference` names (a key, a label or an importer spelling, see
    `practice.analysis.labels.resolve_group`), else ValueError; default the largest group
    (`clients`: the clients per group of `rows`, when already counted)."""
    if reference is None:
        if clients is not None:
            return largest_group(clients)
        return default_reference(rows["group"], rows["client_id"])
    groups = sorted(set(rows["group"]))
    key = resolve_group(reference, canonical_by(by) if by else "", groups)
    if key is None:
        names = ", ".join(group_label(g, canonical_by(by)) if by else g for g in groups)
        raise ValueError(f"reference must be one of the groups ({names}), got {reference!r}")
    return key


def _responder_column(outcomes: pd.DataFrame, spec: Measure, responder: str | None) -> str | None:
    if responder is None:
        return RESPONDER_COLUMNS[spec.key]
    if responder not in outcomes.columns or "responder" not in responder:
        raise ValueError(f"responder must name a responder flag column, got {responder!r}")
    return responder


def _describe(rows: pd.DataFrame, spec: Measure, flag: str | None) -> pd.DataFrame:
    """Counts, means with t intervals and responder rates with Wilson intervals per group."""
    key = spec.key
    # The groups as codes 0..k-1 in sorted order, read once; counts by bincount, means and
    # SDs by pandas' grouped kernels on the codes (the same sums as grouping by the labels).
    codes, names = pd.factorize(rows["group"], sort=True)
    index = pd.Index(names, name="group")
    k = len(index)
    clients = pd.factorize(rows["client_id"])[0]
    span = int(clients.max(initial=0)) + 1
    known = clients >= 0  # a missing client id is no client, as nunique() counts
    pairs = pd.unique(codes[known].astype(np.int64) * span + clients[known])  # each pair once
    table = pd.DataFrame(
        {
            "n_clients": np.bincount(pairs // span, minlength=k),
            "n_series": np.bincount(codes, minlength=k),
        },
        index=index,
    )
    usable = rows[f"{key}_change"].notna().to_numpy()
    table["n"] = np.bincount(codes[usable], minlength=k)
    columns = [f"{key}_baseline", f"{key}_latest", f"{key}_change"]
    by_group = rows.loc[usable, columns].groupby(codes[usable])
    means = by_group.mean().reindex(range(k)).set_axis(index)
    sds = by_group.std(ddof=1).reindex(range(k)).set_axis(index)
    for column, name in zip(columns, ("baseline", "latest", "change"), strict=True):
        table[f"{name}_mean"] = means[column]
        table[f"{name}_sd"] = sds[column]
    table["change_ci_low"], table["change_ci_high"] = t_interval(
        table["change_mean"], table["change_sd"], table["n"]
    )
    table = table.join(describe_followups(rows, key))
    if flag is None:
        return table.assign(
            responder_n=np.nan,
            responders=np.nan,
            responder_rate=np.nan,
            responder_rate_ci_low=np.nan,
            responder_rate_ci_high=np.nan,
        )
    flags = rows[flag].astype("boolean")
    judged = flags.notna().to_numpy()
    table["responder_n"] = np.bincount(codes[judged], minlength=k)
    table["responders"] = np.bincount(codes[flags.fillna(False).to_numpy(bool)], minlength=k)
    table["responder_rate"] = table["responders"] / table["responder_n"].where(
        table["responder_n"] > 0
    )
    table["responder_rate_ci_low"], table["responder_rate_ci_high"] = wilson_interval(
        table["responders"], table["responder_n"]
    )
    return table


def _unadjusted(table: pd.DataFrame, reference: str | None) -> pd.DataFrame:
    """Group minus reference in mean change, with Welch's 95 % interval (Welch 1947): the
    plain difference the adjusted one is read beside. The reference itself: 0, no interval."""
    out = pd.DataFrame(index=table.index, dtype=float)
    if reference is None or reference not in table.index:
        return out.assign(
            unadjusted_difference=np.nan,
            unadjusted_difference_ci_low=np.nan,
            unadjusted_difference_ci_high=np.nan,
        )
    n, mean, sd = table["n"].astype(float), table["change_mean"], table["change_sd"]
    n_ref, mean_ref, sd_ref = n[reference], mean[reference], sd[reference]
    difference = mean - mean_ref
    part, part_ref = sd**2 / n, sd_ref**2 / n_ref
    se = np.sqrt(part + part_ref)
    # Welch-Satterthwaite degrees of freedom; NaN (no interval) when a group has n < 2.
    df = (part + part_ref) ** 2 / (part**2 / (n - 1) + part_ref**2 / (n_ref - 1))
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, df.where((n >= 2) & (n_ref >= 2))) * se
    out["unadjusted_difference"] = difference
    out["unadjusted_difference_ci_low"] = (difference - half).mask(table.index == reference)
    out["unadjusted_difference_ci_high"] = (difference + half).mask(table.index == reference)
    return out


def model_frame(
    rows: pd.DataFrame, spec: Measure, skip: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Rows with baseline and latest, the covariates present and varying, and the formula terms."""
    key = spec.key
    covariates = [c for c in (*NUMERIC_COVARIATES, *CATEGORY_COVARIATES) if c in rows]
    # Only the model's columns: selecting rows copies every column kept.
    data = rows[["group", f"{key}_latest", f"{key}_baseline", *covariates]]
    data = data.loc[data[f"{key}_latest"].notna() & data[f"{key}_baseline"].notna()]
    model = pd.DataFrame(
        {
            "group": data["group"],
            "latest": data[f"{key}_latest"].astype(float),
            "baseline": data[f"{key}_baseline"].astype(float),
        },
        index=data.index,
    )
    for name in NUMERIC_COVARIATES:
        values = pd.to_numeric(data[name], errors="coerce") if name in data else None
        # Often-missing covariates are left out rather than dropping those clients.
        if values is not None and values.notna().mean() >= 1 - config.ADJUSTMENT_MAX_MISSING:
            model[name] = values.astype(float)
    model = model.dropna()
    for name in CATEGORY_COVARIATES:
        if name in data and name != skip:
            model[name] = label_groups(data[name]).reindex(model.index)
    candidates = ["baseline", *NUMERIC_COVARIATES, *CATEGORY_COVARIATES]
    terms = [c for c in candidates if c in model.columns and model[c].nunique(dropna=True) > 1]
    return model, terms


def _ancova(rows: pd.DataFrame, spec: Measure, reference: str | None, column: str) -> pd.DataFrame:
    """Per group: n in the model and the adjusted difference to `reference` with its 95 % CI."""
    groups = sorted(rows["group"].unique())
    model, terms = model_frame(rows, spec, skip=column)
    counts = model["group"].value_counts().reindex(groups, fill_value=0)
    out = pd.DataFrame(
        {
            "group": groups,
            "reference": reference,
            "is_reference": [g == reference for g in groups],
            "adjusted_n": counts.to_numpy(),
            "adjusted_difference": np.nan,
            "adjusted_difference_ci_low": np.nan,
            "adjusted_difference_ci_high": np.nan,
            "adjusted_p_value": np.nan,
            "covariates": ", ".join(terms),
        }
    )
    present = int((counts > 0).sum())
    n_params = present + sum(
        model[t].nunique() - 1 if t in CATEGORY_COVARIATES else 1 for t in terms
    )
    if reference is None or counts.get(reference, 0) == 0 or len(model) <= n_params:
        return out
    # latest ~ C(group, Treatment(reference)) + covariates, fitted on the design matrix patsy
    # would build (same columns, same order, so the same numbers) without parsing a formula.
    levels = [reference, *(g for g in groups if g != reference and counts[g] > 0)]
    design = design_matrix(model, levels, terms)
    fit = fit_ols(model["latest"].to_numpy(float), design)
    if fit.df_resid < 1:
        return out
    # Column i of the design holds levels[i] (i >= 1); column 0 is the intercept.
    column_of = {g: i for i, g in enumerate(levels) if i > 0}
    where = np.array([column_of.get(g, -1) for g in groups])
    known = where >= 0

    def pick(values: np.ndarray) -> np.ndarray:
        return np.where(known, np.asarray(values)[np.maximum(where, 0)], np.nan)

    bounds = fit.conf_int(alpha=1 - CONFIDENCE)
    out["adjusted_difference"] = pick(fit.params)
    out["adjusted_difference_ci_low"] = pick(bounds[:, 0])
    out["adjusted_difference_ci_high"] = pick(bounds[:, 1])
    out["adjusted_p_value"] = pick(fit.pvalues)
    # The reference group differs from itself by 0 by definition: no interval, no p-value.
    out.loc[out["is_reference"], "adjusted_difference"] = 0.0
    return out


def design_matrix(model: pd.DataFrame, levels: list[str], terms: list[str]) -> np.ndarray:
    """The design matrix of `latest ~ C(group, Treatment(levels[0])) + terms` as patsy builds it.

    Patsy's order: the intercept, the terms without a numeric factor (group, then the text
    covariates, each in treatment coding against its alphabetically first value), then the
    numeric terms, each in the order given.
    """
    columns = [np.ones(len(model))]
    columns += _dummies(model["group"], levels)
    for name in (t for t in terms if t in CATEGORY_COVARIATES):
        columns += _dummies(model[name], sorted(model[name].unique()))
    columns += [model[t].to_numpy(float) for t in terms if t not in CATEGORY_COVARIATES]
    # Column-major, as patsy's matrix reaches statsmodels: the products sum in the same order.
    return np.vstack(columns).T


def _dummies(values: pd.Series, levels: list[str]) -> list[np.ndarray]:
    """0/1 columns for levels[1:] (levels[0] is the reference)."""
    codes = pd.Index(levels).get_indexer(values)
    return [(codes == i).astype(float) for i in range(1, len(levels))]


def as_categories(model: pd.DataFrame) -> pd.DataFrame:
    """The model frame with its text covariates as pandas categoricals (fast for patsy)."""
    present = [c for c in CATEGORY_COVARIATES if c in model.columns]
    return model.astype(dict.fromkeys(present, "category"))


@dataclass(frozen=True)
class LinearFit:
    """The parts of an ordinary least-squares fit Headway reads (as statsmodels names them)."""

    params: np.ndarray
    bse: np.ndarray
    df_resid: float
    resid: np.ndarray
    scale: float

    @property
    def tvalues(self) -> np.ndarray:
        """Each estimate over its standard error (a perfect fit divides by 0, as statsmodels)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.params / self.bse

    @property
    def pvalues(self) -> np.ndarray:
        """Two-sided p-values of the t statistics."""
        return stats.t.sf(np.abs(self.tvalues), self.df_resid) * 2

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """Student-t (1 - alpha) intervals of the estimates, one row (low, high) per column."""
        q = stats.t.ppf(1 - alpha / 2, self.df_resid)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])


def fit_ols(y: np.ndarray, design: np.ndarray) -> LinearFit:
    """Ordinary least squares of `y` on `design`: estimates, standard errors, residuals.

    A well-conditioned design of full rank (every real comparison) is solved through its
    small Gram matrix, scaled and refined once, which agrees with statsmodels' SVD to about
    1e-12 and skips the SVD of the whole design (most of the comparison's time). Any other
    design goes to `sm.OLS(y, design).fit()` itself, so that rank-deficient designs keep
    statsmodels' minimum-norm estimates and residual degrees of freedom.
    """
    n, p = design.shape
    solved = _solve_normal_equations(y, design) if n > p else None
    if solved is None:
        fit: Any = sm.OLS(y, design).fit()
        return LinearFit(
            np.asarray(fit.params),
            np.asarray(fit.bse),
            float(fit.df_resid),
            np.asarray(fit.resid),
            float(fit.scale),
        )
    params, inverse_diagonal = solved
    resid = y - design @ params
    df_resid = float(n - p)
    scale = float(resid @ resid) / df_resid
    return LinearFit(params, np.sqrt(scale * inverse_diagonal), df_resid, resid, scale)


def _solve_normal_equations(
    y: np.ndarray, design: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The estimates and the diagonal of (X'X)^-1, or None unless X is clearly of full rank."""
    gram = design.T @ design
    norms = np.sqrt(np.diag(gram))
    if not (norms > 0).all():
        return None
    scaled = gram / np.outer(norms, norms)
    # Singular values of X are the square roots of the Gram matrix's eigenvalues; below the
    # limit X is of full rank whichever way its rank is judged (statsmodels' tolerance is
    # max(n, p) * machine epsilon relative to the largest).
    for matrix in (scaled, gram):
        eigen = np.linalg.eigvalsh(matrix)
        if not eigen[0] > 0 or eigen[-1] / eigen[0] > MAX_CONDITION**2:
            return None
    factor = linalg.cho_factor(scaled)
    params = linalg.cho_solve(factor, design.T @ y / norms) / norms
    # One step of iterative refinement on the residual recovers the accuracy that forming
    # X'X loses (the error then shrinks by the squared condition number times epsilon).
    params = params + linalg.cho_solve(factor, design.T @ (y - design @ params) / norms) / norms
    inverse = linalg.cho_solve(factor, np.eye(len(norms)))
    return params, np.diag(inverse) / norms**2

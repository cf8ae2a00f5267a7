"""Group comparisons: by primary technique, technique exposure, therapist or headache type."""

from __future__ import annotations

from collections.abc import Sequence
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
    label_codes,
    label_groups,
    largest_group,
    require_frame,
    require_measure,
    t_interval,
    wilson_bounds,
)
from practice.analysis.followup import GROUP_FOLLOWUP_COLUMNS, describe_followups
from practice.analysis.labels import group_label, resolve_group
from practice.analysis.populations import (
    POPULATION_COLUMNS,
    failed_dropouts,
    population_mask,
    select_population,
)

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
    rows = comparison_rows(outcomes, population, by, f"{spec.key}_change", flag, *followup)
    overlapping = column == "exposure_techniques"
    if overlapping and reference is not None:
        raise ValueError("reference is not used with by='technique_exposure' (groups overlap)")
    if not len(rows):
        return empty_frame(GROUP_COLUMNS)
    table = _describe(rows, spec, flag)
    if overlapping:
        table["is_reference"] = False
    else:
        # The default reference is the group with the most clients, counted just above.
        clients = pd.Series(table["n_clients"], index=pd.Index(rows.names, name="group"))
        ref = reference_group(list(rows.names), reference, by, clients)
        table.update(_ancova(rows, spec, ref, column))
        table.update(_unadjusted(table, rows.names, ref))
    table.update(
        group_by=canonical_by(by),
        group=pd.Index(rows.names, name="group"),
        population=population,
        measure=spec.key,
        responder_rule=flag,
        small_n=table["n_clients"] < config.MIN_GROUP_N,
    )
    # Most clients first, then by name (the groups are already in name order).
    order = np.argsort(-table["n_clients"], kind="stable")
    return pd.DataFrame(
        {c: _take(table[c], order) if c in table else np.nan for c in GROUP_COLUMNS},
        index=pd.RangeIndex(len(order)),
    )


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
    rows = comparison_rows(outcomes, population, by)
    if not len(rows):
        return empty_frame(ADJUSTED_COLUMNS)
    ref = reference_group(list(rows.names), reference, by, rows.client_counts())
    table = _ancova(rows, spec, ref, column)
    table.update(group_by=canonical_by(by), population=population, measure=spec.key)
    return pd.DataFrame({c: table[c] for c in ADJUSTED_COLUMNS})


@dataclass(frozen=True)
class GroupRows:
    """The rows a comparison counts: `positions` in `source`, each row's group as its code
    into `names` (the group labels in sorted order); columns are read as numpy arrays."""

    source: pd.DataFrame
    positions: np.ndarray
    codes: np.ndarray
    names: np.ndarray
    fail_dropouts: bool = False  # source is the unselected outcomes of that population

    def __len__(self) -> int:
        return len(self.positions)

    def floats(self, column: str) -> np.ndarray:
        """The rows' values of `column` as floats (missing: NaN)."""
        return self.source[column].to_numpy(dtype=float, na_value=np.nan)[self.positions]

    def labels(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """The rows' `label_groups` of `column`: codes into the sorted labels, and those."""
        codes, names = label_codes(self.source[column])
        return codes[self.positions], names

    def flags(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Where responder flag `column` is judged, and where it is True."""
        flags = self.source[column].astype("boolean")
        judged = flags.notna().to_numpy(bool)
        if self.fail_dropouts:
            failed = failed_dropouts(self.source, column)
            judged = judged | (failed.to_numpy(bool) if failed is not None else False)
        hits = flags.fillna(False).to_numpy(bool)
        return judged[self.positions], hits[self.positions]

    def client_counts(self) -> pd.Series:
        """Distinct clients per group (a missing client id is no client, as nunique counts)."""
        clients = pd.factorize(self.source["client_id"])[0][self.positions]
        span = int(clients.max(initial=0)) + 1
        known = clients >= 0
        pairs = pd.unique(self.codes[known].astype(np.int64) * span + clients[known])
        counts = np.bincount(pairs // span, minlength=len(self.names))
        return pd.Series(counts, index=pd.Index(self.names, name="group"))


def comparison_rows(
    outcomes: pd.DataFrame, population: str, by: str, *columns: str | None
) -> GroupRows:
    """The rows of `population_rows(outcomes, population, by, *columns)`, without copying them."""
    require_frame(outcomes, "outcomes")
    if group_column(by) == "exposure_techniques":
        rows = population_rows(outcomes, population, by, *columns)
        codes, names = pd.factorize(rows["group"], sort=True)
        return GroupRows(rows, np.arange(len(rows)), codes, np.asarray(names, dtype=object))
    positions = np.flatnonzero(population_mask(outcomes, population))
    column = group_column(by)
    if column not in outcomes.columns:
        raise ValueError(f"outcomes is missing column {column!r} needed for by={by!r}")
    codes, names = label_codes(outcomes[column])
    # Only the groups with rows in the population, renumbered in the same order.
    present = np.bincount(codes[positions], minlength=len(names)) > 0
    renumbered = np.cumsum(present) - 1
    return GroupRows(
        outcomes,
        positions,
        renumbered[codes[positions]],
        names[present],
        fail_dropouts=population == "dropouts_as_nonresponders",
    )


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
    if reference is None and clients is None:
        return default_reference(rows["group"], rows["client_id"])
    return reference_group(sorted(set(rows["group"])), reference, by, clients)


def reference_group(
    groups: Sequence[str], reference: str | None, by: str, clients: pd.Series | None
) -> str | None:
    """`resolve_reference` among the sorted `groups`, `clients` counted per group."""
    if reference is None:
        return largest_group(clients) if clients is not None else None
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


def _take(values: Any, order: np.ndarray) -> Any:
    """`values` (an array or an Index of one per group) in `order`; a scalar as it is."""
    return values[order] if isinstance(values, np.ndarray | pd.Index) else values


def _describe(rows: GroupRows, spec: Measure, flag: str | None) -> dict[str, Any]:
    """Counts, means with t intervals and responder rates with Wilson intervals per group."""
    key = spec.key
    codes, k = rows.codes, len(rows.names)
    table: dict[str, Any] = {
        "n_clients": rows.client_counts().to_numpy(),
        "n_series": np.bincount(codes, minlength=k),
    }
    values = {name: rows.floats(f"{key}_{name}") for name in ("baseline", "latest", "change")}
    usable = ~np.isnan(values["change"])
    table["n"] = np.bincount(codes[usable], minlength=k)
    # Means and SDs by pandas' grouped kernels on the codes (the same sums as grouping by the
    # labels: compensated sums for means, Welford's updates for variances); as categorical
    # codes the grouper is used as it is, not hashed again, and every group gets a row.
    grouper = pd.Categorical.from_codes(codes[usable], categories=range(k))
    by_group = pd.DataFrame({c: v[usable] for c, v in values.items()}).groupby(
        grouper, observed=False
    )
    means, sds = by_group.mean(), by_group.std(ddof=1)
    for name in values:
        table[f"{name}_mean"] = means[name].to_numpy()
        table[f"{name}_sd"] = sds[name].to_numpy()
    table["change_ci_low"], table["change_ci_high"] = t_interval(
        table["change_mean"], table["change_sd"], table["n"]
    )
    table.update(_followups(rows, key))
    if flag is None:
        return table | dict.fromkeys(
            [
                "responder_n",
                "responders",
                "responder_rate",
                "responder_rate_ci_low",
                "responder_rate_ci_high",
            ],
            np.nan,
        )
    judged, hits = rows.flags(flag)
    table["responder_n"] = np.bincount(codes[judged], minlength=k)
    table["responders"] = np.bincount(codes[hits], minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["responder_rate"] = table["responders"] / np.where(
            table["responder_n"] > 0, table["responder_n"], np.nan
        )
    table["responder_rate_ci_low"], table["responder_rate_ci_high"] = wilson_bounds(
        table["responders"].astype(float), table["responder_n"].astype(float)
    )
    return table


def _followups(rows: GroupRows, key: str) -> dict[str, Any]:
    """`describe_followups` per group, in the groups' order."""
    names = pd.Index(rows.names, name="group")
    columns = [f"{key}_followup", f"{key}_followup_change"]
    if all(c in rows.source.columns for c in columns):
        change = rows.floats(columns[1])
        if np.isnan(change).all():  # no follow-up at all: no need to group them
            return {"followup_n": np.zeros(len(names), dtype=np.int64)} | dict.fromkeys(
                GROUP_FOLLOWUP_COLUMNS[1:], np.full(len(names), np.nan)
            )
    present = [c for c in columns if c in rows.source.columns]
    frame = pd.DataFrame({"group": rows.names[rows.codes]} | {c: rows.floats(c) for c in present})
    described = pd.DataFrame(index=names).join(describe_followups(frame, key))
    return {c: described[c].to_numpy() for c in GROUP_FOLLOWUP_COLUMNS}


def _unadjusted(
    table: dict[str, Any], groups: np.ndarray, reference: str | None
) -> dict[str, np.ndarray]:
    """Group minus reference in mean change, with Welch's 95 % interval (Welch 1947): the
    plain difference the adjusted one is read beside. The reference itself: 0, no interval."""
    is_reference = groups == reference
    if reference is None or not is_reference.any():
        return dict.fromkeys(
            [
                "unadjusted_difference",
                "unadjusted_difference_ci_low",
                "unadjusted_difference_ci_high",
            ],
            np.full(len(groups), np.nan),
        )
    n, mean, sd = table["n"].astype(float), table["change_mean"], table["change_sd"]
    at = np.flatnonzero(is_reference)[0]
    n_ref, mean_ref, sd_ref = n[at], mean[at], sd[at]
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = mean - mean_ref
        part, part_ref = sd**2 / n, sd_ref**2 / n_ref
        se = np.sqrt(part + part_ref)
        # Welch-Satterthwaite degrees of freedom; NaN (no interval) when a group has n < 2.
        df = (part + part_ref) ** 2 / (part**2 / (n - 1) + part_ref**2 / (n_ref - 1))
    df = np.where((n >= 2) & (n_ref >= 2), df, np.nan)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, df) * se
    return {
        "unadjusted_difference": difference,
        "unadjusted_difference_ci_low": np.where(is_reference, np.nan, difference - half),
        "unadjusted_difference_ci_high": np.where(is_reference, np.nan, difference + half),
    }


@dataclass(frozen=True)
class ModelRows:
    """The rows of a case-mix model: `latest`, and per term its values (numeric terms) or its
    codes into its sorted labels (text terms); `at`: the rows among the comparison's rows."""

    at: np.ndarray
    latest: np.ndarray
    numeric: dict[str, np.ndarray]
    text: dict[str, np.ndarray]
    terms: list[str]


def model_rows(rows: GroupRows, spec: Measure, skip: str | None = None) -> ModelRows:
    """Rows with baseline and latest, the covariates present and varying, and the formula terms."""
    key = spec.key
    latest, baseline = rows.floats(f"{key}_latest"), rows.floats(f"{key}_baseline")
    scored = ~np.isnan(latest) & ~np.isnan(baseline)
    keep = scored.copy()
    numeric = {"baseline": baseline}
    for name in NUMERIC_COVARIATES:
        if name not in rows.source.columns:
            continue
        values = pd.to_numeric(rows.source[name], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )[rows.positions]
        known = ~np.isnan(values[scored])
        # Often-missing covariates are left out rather than dropping those clients.
        if len(known) and known.mean() >= 1 - config.ADJUSTMENT_MAX_MISSING:
            numeric[name] = values
            keep &= ~np.isnan(values)
    at = np.flatnonzero(keep)
    numeric = {name: values[at] for name, values in numeric.items()}
    text = {
        name: _renumbered(rows.labels(name)[0][at])
        for name in CATEGORY_COVARIATES
        if name in rows.source.columns and name != skip
    }
    varying = {
        **{name: bool((v != v[0]).any()) if len(v) else False for name, v in numeric.items()},
        **{name: bool((c != c[0]).any()) if len(c) else False for name, c in text.items()},
    }
    candidates = ["baseline", *NUMERIC_COVARIATES, *CATEGORY_COVARIATES]
    terms = [c for c in candidates if varying.get(c, False)]
    return ModelRows(at, latest[at], numeric, text, terms)


def _renumbered(codes: np.ndarray) -> np.ndarray:
    """`codes` renumbered 0..m-1 over the codes present, in the same order."""
    present = np.bincount(codes, minlength=1) > 0
    return (np.cumsum(present) - 1)[codes]


def _ancova(rows: GroupRows, spec: Measure, reference: str | None, column: str) -> dict[str, Any]:
    """Per group: n in the model and the adjusted difference to `reference` with its 95 % CI."""
    groups, k = rows.names, len(rows.names)
    model = model_rows(rows, spec, skip=column)
    group_codes = rows.codes[model.at]
    counts = np.bincount(group_codes, minlength=k)
    is_reference = groups == reference
    nan = np.full(k, np.nan)
    out: dict[str, Any] = {
        "group": pd.Index(groups, name="group"),
        "reference": reference,
        "is_reference": is_reference,
        "adjusted_n": counts,
        "adjusted_difference": nan,
        "adjusted_difference_ci_low": nan,
        "adjusted_difference_ci_high": nan,
        "adjusted_p_value": nan,
        "covariates": ", ".join(model.terms),
    }
    present = int((counts > 0).sum())
    n_params = present + sum(
        int(model.text[t].max()) if t in CATEGORY_COVARIATES else 1 for t in model.terms
    )
    if reference is None or not counts[is_reference].sum() or len(model.at) <= n_params:
        return out
    # latest ~ C(group, Treatment(reference)) + covariates, fitted on the design matrix patsy
    # would build (same columns, same order, so the same numbers) without parsing a formula.
    ref_code = int(np.flatnonzero(is_reference)[0])
    levels = [ref_code, *(g for g in range(k) if g != ref_code and counts[g] > 0)]
    design = design_matrix(group_codes, levels, model)
    fit = fit_ols(model.latest, design)
    if fit.df_resid < 1:
        return out
    # Column i of the design holds levels[i] (i >= 1); column 0 is the intercept.
    where = np.full(k, -1)
    where[levels[1:]] = np.arange(1, len(levels))
    known = where >= 0

    def pick(values: np.ndarray) -> np.ndarray:
        return np.where(known, np.asarray(values)[np.maximum(where, 0)], np.nan)

    bounds = fit.conf_int(alpha=1 - CONFIDENCE)
    # The reference group differs from itself by 0 by definition: no interval, no p-value.
    out["adjusted_difference"] = np.where(is_reference, 0.0, pick(fit.params))
    out["adjusted_difference_ci_low"] = pick(bounds[:, 0])
    out["adjusted_difference_ci_high"] = pick(bounds[:, 1])
    out["adjusted_p_value"] = pick(fit.pvalues)
    return out


def design_matrix(group_codes: np.ndarray, levels: list[int], model: ModelRows) -> np.ndarray:
    """The design matrix of `latest ~ C(group, Treatment(levels[0])) + terms` as patsy builds it.

    Patsy's order: the intercept, the terms without a numeric factor (group, then the text
    covariates, each in treatment coding against its alphabetically first value), then the
    numeric terms, each in the order given.
    """
    columns = [np.ones(len(model.at))]
    columns += [(group_codes == level).astype(float) for level in levels[1:]]
    for name in (t for t in model.terms if t in CATEGORY_COVARIATES):
        codes = model.text[name]
        columns += [(codes == level).astype(float) for level in range(1, int(codes.max()) + 1)]
    columns += [model.numeric[t] for t in model.terms if t not in CATEGORY_COVARIATES]
    # Column-major, as patsy's matrix reaches statsmodels: the products sum in the same order.
    return np.vstack(columns).T


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

"""Which client series an analysis counts: the populations a caller chooses and states."""

from __future__ import annotations

import numpy as np
import pandas as pd

from practice import config
from practice.analysis._common import MEASURES, require_choice, require_frame

POPULATIONS = ("all", "completers", "dropouts_as_nonresponders")

# Responder flags, the measure they judge, and whether they need a baseline above 0 (percent
# rules) or a MIDAS grade above I (grade rule) to apply at all.
_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("hd28_responder_30", "hd28", "positive"),
    ("hd28_responder_50", "hd28", "positive"),
    ("hd28_responder_75", "hd28", "positive"),
    ("pain_responder_30", "pain", "positive"),
    ("pain_responder_50", "pain", "positive"),
    ("hit6_responder", "hit6", "any"),
    ("midas_responder", "midas", "grade"),
)


# Every column select_population reads: callers that need only a few others can narrow the
# outcomes to these and theirs first, so that selecting rows copies a fraction of the frame.
POPULATION_COLUMNS: frozenset[str] = frozenset(
    [
        *(f"{m.key}_{part}" for m in MEASURES for part in ("baseline", "latest")),
        *(flag for flag, _, _ in _FLAGS),
        "completer",
        "dropout",
        "population",
        "midas_grade_baseline",
    ]
)


def select_population(outcomes: pd.DataFrame, population: str = "all") -> pd.DataFrame:
    """The rows of `population`, with a `population` column (and attrs) stating it.

    "all": series with a follow-up score of any measure (its last available value);
    "completers": those of them with >= config.MIN_SESSIONS_COMPLETER attended sessions;
    "dropouts_as_nonresponders": every series with a baseline; a dropout without follow-up
    counts as a non-responder on each responder rule that applies to its baseline.
    """
    # Row selections are new frames (copy-on-write), so no extra copy is needed to add to them.
    chosen = outcomes.loc[population_mask(outcomes, population)]
    if population == "dropouts_as_nonresponders":
        chosen = _dropouts_fail(chosen)
    chosen["population"] = population
    chosen.attrs["population"] = population
    return chosen


def population_mask(outcomes: pd.DataFrame, population: str = "all") -> np.ndarray:
    """Which rows of `outcomes` `select_population` keeps, after the same argument checks."""
    require_choice(population, "population", POPULATIONS)
    needed = [f"{m.key}_{part}" for m in MEASURES for part in ("baseline", "latest")]
    require_frame(outcomes, "outcomes", [*needed, "completer", "dropout"])
    if "population" in outcomes.columns:
        stated = set(outcomes["population"].dropna().unique())
        if stated and stated != {population}:
            raise ValueError(
                f"outcomes were already restricted to population {sorted(stated)}; "
                f"pass the unrestricted outcomes to select population {population!r}"
            )
    part = "baseline" if population == "dropouts_as_nonresponders" else "latest"
    scored = np.logical_or.reduce(
        [outcomes[f"{m.key}_{part}"].notna().to_numpy(bool) for m in MEASURES]
    )
    if population == "completers":
        return scored & outcomes["completer"].astype(bool).to_numpy(bool)
    return scored


def empty_reason(outcomes: pd.DataFrame, population: str = "all") -> str | None:
    """Why `population` holds no series of `outcomes`, naming the rule; None when it holds some.

    "no series has at least 4 attended sessions (the completer rule,
    PRACTICE_MIN_SESSIONS_COMPLETER)" says what happened where "no data" would not.
    """
    require_choice(population, "population", POPULATIONS)
    if outcomes.empty:
        return "no treatment series is stored (no session has been imported)"
    if population_mask(outcomes, population).any():
        return None
    if population == "dropouts_as_nonresponders":
        return "no series has a baseline score (an intake value or a first report)"
    follow_up = "a follow-up score (a score reported after session 1)"
    if population == "all":
        return f"no series has {follow_up}"
    rule = (
        f"at least {config.MIN_SESSIONS_COMPLETER} attended sessions (the completer rule, "
        "PRACTICE_MIN_SESSIONS_COMPLETER)"
    )
    if not outcomes["completer"].astype(bool).any():
        return f"no series has {rule}"
    return f"no series with {rule} has {follow_up}"


def _dropouts_fail(frame: pd.DataFrame) -> pd.DataFrame:
    """Dropouts with a baseline but no follow-up become non-responders (False, not NA)."""
    for flag, _, _ in _FLAGS:
        failed = failed_dropouts(frame, flag)
        if failed is not None:
            frame[flag] = frame[flag].astype("boolean").mask(failed, False)
    return frame


def failed_dropouts(frame: pd.DataFrame, flag: str) -> pd.Series | None:
    """Where population "dropouts_as_nonresponders" counts a row of `frame` as failing the
    responder rule `flag` (a dropout with no follow-up on a baseline the rule applies to);
    None when `flag` is not a rule it fills in or not a column of `frame`."""
    rule = next(((key, needs) for name, key, needs in _FLAGS if name == flag), None)
    if rule is None or flag not in frame.columns:
        return None
    key, needs = rule
    baseline = frame[f"{key}_baseline"]
    applies = baseline.notna()
    if needs == "positive":
        applies &= baseline > 0
    elif needs == "grade":
        applies &= frame["midas_grade_baseline"] > 1
    dropout = frame["dropout"].astype(bool)
    return dropout & applies & frame[f"{key}_latest"].isna() & frame[flag].isna()

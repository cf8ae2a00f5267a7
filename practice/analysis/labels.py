"""The words people see for group keys, and the keys people may type for a group.

One module so that every view (pages, downloads, the command line, reports) names a group
the same way: technique and headache-type keys become their vocabulary labels ("usual_care"
-> "Usual care", "tension_type" -> "Tension-type headache"); therapists keep their names;
a missing value is "not recorded". `resolve_group` accepts a key, a label or any spelling the
importer accepts for that value ("usual care", "TPT", "tension type").
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from practice import config
from practice.analysis._common import NOT_RECORDED, label_groups
from practice.vocabulary import (
    HEADACHE_TYPE_ALIASES,
    HEADACHE_TYPES,
    build_lookup,
    normalise_label,
    technique_key,
    technique_label,
)

TECHNIQUE_GROUPINGS = ("technique", "primary_technique", "technique_exposure")
# "Who is counted" (analysis.populations.POPULATIONS) in words: the sidebar, the pages and the
# command line all say it this way.
POPULATION_LABELS = {
    "all": "Everyone with a follow-up score",
    "completers": "Completers only",
    "dropouts_as_nonresponders": "Everyone; dropouts count as not improved",
}
# What a comparison groups by (analysis._common.GROUPINGS), in words.
GROUPING_LABELS = {
    "technique": "primary technique",
    "primary_technique": "primary technique",
    "technique_exposure": "techniques received",
    "therapist": "therapist",
    "location": "location",
    "headache_type": "headache type",
}
_HEADACHE_TYPE_LOOKUP = build_lookup(HEADACHE_TYPES, HEADACHE_TYPE_ALIASES)


def pain_rule_text(fraction: float | None = None) -> str:
    """The pain responder rule in words: "30 %", or "30 % and 2 points" when the optional
    points rule (PAIN_RESPONDER_MIN_POINTS) is on."""
    share = config.PAIN_MODERATE_FRACTION if fraction is None else fraction
    text = f"{100 * share:.0f} %"
    if config.PAIN_RESPONDER_MIN_POINTS > 0:
        text += f" and {config.PAIN_RESPONDER_MIN_POINTS:g} points"
    return text


def group_label(key: object, by: str) -> str:
    """The label of one group key of a grouping `by` ("usual_care" -> "Usual care")."""
    if key is None or (not isinstance(key, str) and pd.isna(key)) or str(key).strip() == "":
        return NOT_RECORDED
    text = str(key).strip()
    if text == NOT_RECORDED:
        return text
    if by in TECHNIQUE_GROUPINGS:
        return technique_label(text)
    if by == "headache_type":
        return HEADACHE_TYPES.get(text, text)
    return text


def group_labels(groups: pd.Series, by: str) -> pd.Series:
    """Labels of a column of group keys (missing values read "not recorded")."""
    keys = label_groups(groups)
    labels = {key: group_label(key, by) for key in keys.unique()}  # a handful of groups
    return keys.map(labels).astype(object)


def resolve_group(text: object, by: str, groups: Iterable[str]) -> str | None:
    """The key among `groups` that `text` names (key, label or importer spelling), else None."""
    if not isinstance(text, str) or not text.strip():
        return None
    keys = list(groups)
    if text in keys:
        return text
    wanted = normalise_label(text)
    if by in TECHNIQUE_GROUPINGS:
        candidates = {technique_key(text)}
    elif by == "headache_type":
        candidates = {_HEADACHE_TYPE_LOOKUP.get(wanted, text)}
    else:
        candidates = set()
    for key in keys:
        spellings = {normalise_label(key), normalise_label(group_label(key, by))}
        if key in candidates or wanted in spellings:
            return key
    return None

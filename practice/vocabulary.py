"""The controlled vocabularies: techniques, headache types and the other coded fields.

Each vocabulary maps a canonical key to its display label; aliases map the spellings found in
practice-software exports to a key. Lookups go through `normalise_label`, which ignores case,
spaces and punctuation, so "Trigger-Point Therapy" and "trigger point therapy" agree.
"""

from __future__ import annotations

import re

TECHNIQUES: dict[str, str] = {
    "trigger_point": "Trigger point therapy",
    "myofascial_release": "Myofascial release",
    "craniosacral": "Craniosacral therapy",
    "neuromuscular": "Neuromuscular therapy",
    "swedish": "Swedish massage",
    "deep_tissue": "Deep tissue massage",
    "stretching": "Stretching",
}

TECHNIQUE_ALIASES: dict[str, str] = {
    "trigger point": "trigger_point",
    "trigger points": "trigger_point",
    "trigger point therapy": "trigger_point",
    "trigger point release": "trigger_point",
    "tpt": "trigger_point",
    "tp": "trigger_point",
    "myofascial": "myofascial_release",
    "myofascial release": "myofascial_release",
    "mfr": "myofascial_release",
    "craniosacral": "craniosacral",
    "cranio sacral": "craniosacral",
    "craniosacral therapy": "craniosacral",
    "cst": "craniosacral",
    "neuromuscular": "neuromuscular",
    "neuromuscular therapy": "neuromuscular",
    "neuromuscular massage": "neuromuscular",
    "nmt": "neuromuscular",
    "swedish": "swedish",
    "swedish massage": "swedish",
    "relaxation massage": "swedish",
    "deep tissue": "deep_tissue",
    "deep tissue massage": "deep_tissue",
    "dtm": "deep_tissue",
    "stretching": "stretching",
    "stretch": "stretching",
    "assisted stretching": "stretching",
    "pnf stretching": "stretching",
}

HEADACHE_TYPES: dict[str, str] = {
    "migraine": "Migraine",
    "migraine_with_aura": "Migraine with aura",
    "tension_type": "Tension-type headache",
    "cervicogenic": "Cervicogenic headache",
    "cluster": "Cluster headache",
    "mixed": "Mixed headache",
    "other": "Other",
}

HEADACHE_TYPE_ALIASES: dict[str, str] = {
    "migraine without aura": "migraine",
    "mwoa": "migraine",
    "migraine with aura": "migraine_with_aura",
    "mwa": "migraine_with_aura",
    "tension type": "tension_type",
    "tension type headache": "tension_type",
    "tension": "tension_type",
    "tth": "tension_type",
    "cervicogenic headache": "cervicogenic",
    "cluster headache": "cluster",
    "mixed headache": "mixed",
}

SEXES: dict[str, str] = {"female": "Female", "male": "Male", "other": "Other"}
SEX_ALIASES: dict[str, str] = {
    "f": "female",
    "w": "female",
    "woman": "female",
    "m": "male",
    "man": "male",
    "x": "other",
    "diverse": "other",
    "non binary": "other",
    "nonbinary": "other",
}

PRESSURES: dict[str, str] = {"light": "Light", "moderate": "Moderate", "firm": "Firm"}
PRESSURE_ALIASES: dict[str, str] = {
    "medium": "moderate",
    "deep": "firm",
    "strong": "firm",
    "gentle": "light",
}

# `follow_up`: an assessment visit without treatment (a check-up after the course); it joins
# the client's preceding series (practice/series.py) and gives the lasting change.
STATUSES: dict[str, str] = {
    "attended": "Attended",
    "no_show": "No-show",
    "cancelled": "Cancelled",
    "follow_up": "Follow-up",
}
STATUS_ALIASES: dict[str, str] = {
    "arrived": "attended",
    "completed": "attended",
    "complete": "attended",
    "checked out": "attended",
    "no show": "no_show",
    "noshow": "no_show",
    "dna": "no_show",
    "did not attend": "no_show",
    "canceled": "cancelled",
    "late cancel": "cancelled",
    "late cancellation": "cancelled",
    "cancellation": "cancelled",
    "follow up": "follow_up",
    "followup": "follow_up",
    "review": "follow_up",
    "check up": "follow_up",
    "checkup": "follow_up",
    "reassessment": "follow_up",
    "re assessment": "follow_up",
}

BASELINE_SOURCES: dict[str, str] = {"diary": "Headache diary", "recall": "Recall at intake"}
BASELINE_SOURCE_ALIASES: dict[str, str] = {
    "headache diary": "diary",
    "remembered": "recall",
    "estimate": "recall",
    "estimated": "recall",
}

# Separators accepted inside list cells (techniques, triggers, self_care).
LIST_SEPARATORS = r"[;,|+]"

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_label(text: str) -> str:
    """Lower-case `text` and collapse every run of non-alphanumerics to one space."""
    return _NOT_ALNUM.sub(" ", text.lower()).strip()


def build_lookup(vocabulary: dict[str, str], aliases: dict[str, str]) -> dict[str, str]:
    """Map every normalised spelling (key, label, alias) to its canonical key."""
    lookup: dict[str, str] = {}
    for key, label in vocabulary.items():
        lookup[normalise_label(key)] = key
        lookup[normalise_label(label)] = key
    for alias, key in aliases.items():
        lookup[normalise_label(alias)] = key
    return lookup


def slugify(text: str) -> str:
    """A technique key for a label outside the vocabulary ("Hot Stones" -> "hot_stones")."""
    return normalise_label(text).replace(" ", "_")


TECHNIQUE_LOOKUP = build_lookup(TECHNIQUES, TECHNIQUE_ALIASES)

CODED_FIELDS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "headache_type": (HEADACHE_TYPES, HEADACHE_TYPE_ALIASES),
    "sex": (SEXES, SEX_ALIASES),
    "pressure": (PRESSURES, PRESSURE_ALIASES),
    "status": (STATUSES, STATUS_ALIASES),
    "baseline_source": (BASELINE_SOURCES, BASELINE_SOURCE_ALIASES),
}


def technique_key(label: str) -> str:
    """The technique key the importer stores for a technique cell ("TPT" -> "trigger_point",
    "Usual care" -> "usual_care")."""
    return TECHNIQUE_LOOKUP.get(normalise_label(label)) or slugify(label)


def technique_label(key: str) -> str:
    """Display label of a technique key, including techniques added by an import."""
    return TECHNIQUES.get(key) or key.replace("_", " ").capitalize()

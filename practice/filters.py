"""The dashboard's shared filters, applied to outcome and session frames (pure pandas)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd

from practice.vocabulary import BASELINE_SOURCES, HEADACHE_TYPES, technique_label

# Where a client's intake baseline came from (docs/metrics.md, "Baseline source"); clients whose
# export does not say are a choice of their own.
NOT_RECORDED_SOURCE = "not_recorded"
BASELINE_SOURCE_OPTIONS: dict[str, str] = {**BASELINE_SOURCES, NOT_RECORDED_SOURCE: "Not recorded"}


@dataclass(frozen=True)
class Filters:
    """What the sidebar selects; an empty tuple means "all"."""

    start: dt.date | None = None
    end: dt.date | None = None
    therapists: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    headache_types: tuple[str, ...] = ()
    population: str = "all"
    baseline_sources: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()

    def for_every_therapist(self) -> Filters:
        """The same selection without the therapist choice: what a funnel plot's target and
        limits are computed on, so that narrowing to one therapist does not move them."""
        return replace(self, therapists=())

    def for_every_location(self) -> Filters:
        """The same selection without the location choice (a location funnel's population)."""
        return replace(self, locations=())

    def describe(self) -> str:
        """The selection in words, for captions and report headers."""
        parts = []
        if self.start or self.end:
            parts.append(f"sessions {self.start or '…'} to {self.end or '…'}")
        for label, values in (
            ("therapist", self.therapists),
            ("location", self.locations),
            ("technique", tuple(technique_label(key) for key in self.techniques)),
            ("headache type", tuple(HEADACHE_TYPES.get(key, key) for key in self.headache_types)),
            (
                "baseline",
                tuple(BASELINE_SOURCE_OPTIONS.get(key, key) for key in self.baseline_sources),
            ),
        ):
            if values:
                parts.append(f"{label}: {', '.join(values)}")
        return "; ".join(parts) if parts else "all clients"


def filter_outcomes(outcomes: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Series whose dates overlap the period and whose therapist, location (that of the
    series' latest session naming one), primary technique and headache type are selected."""
    keep = pd.Series(True, index=outcomes.index)
    if filters.start is not None:
        keep &= outcomes["last_session_date"] >= pd.Timestamp(filters.start)
    if filters.end is not None:
        keep &= outcomes["first_session_date"] <= pd.Timestamp(filters.end)
    if filters.therapists:
        keep &= outcomes["therapist"].isin(filters.therapists)
    if filters.locations:
        keep &= outcomes["location"].isin(filters.locations)
    if filters.techniques:
        keep &= outcomes["primary_technique"].isin(filters.techniques)
    if filters.headache_types:
        keep &= outcomes["headache_type"].isin(filters.headache_types)
    if filters.baseline_sources:
        keep &= outcome_baseline_sources(outcomes).isin(filters.baseline_sources)
    return _selected(outcomes, keep)


def filter_sessions(
    sessions: pd.DataFrame, clients: pd.DataFrame, filters: Filters
) -> pd.DataFrame:
    """Sessions in the period, by a selected therapist, at a selected location, using a
    selected technique, of a client with a selected headache type."""
    keep = pd.Series(True, index=sessions.index)
    if filters.start is not None:
        keep &= sessions["session_date"] >= pd.Timestamp(filters.start)
    if filters.end is not None:
        keep &= sessions["session_date"] <= pd.Timestamp(filters.end)
    if filters.therapists:
        keep &= sessions["therapist"].isin(filters.therapists)
    if filters.locations:
        keep &= sessions["location"].isin(filters.locations)
    if filters.techniques:
        used = sessions["techniques"].str.split(";").explode()
        hit = used.isin(filters.techniques).groupby(level=0).any()
        keep &= hit.reindex(sessions.index, fill_value=False)
    if filters.headache_types:
        types = clients.set_index("client_id")["headache_type"]
        keep &= sessions["client_id"].map(types).isin(filters.headache_types)
    if filters.baseline_sources:
        sources = baseline_source_keys(clients.set_index("client_id")["baseline_source"])
        keep &= sessions["client_id"].map(sources).isin(filters.baseline_sources)
    return _selected(sessions, keep)


def _selected(frame: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    """`frame[keep]`; a shallow copy when every row is kept."""
    # Without a filter every row is kept, and frame[keep] copied every column of every row
    # (0.7 s of the Overview's cold start at 1,000,000 sessions); copy-on-write keeps the
    # shallow copy as independent of `frame` as the copy was.
    if bool(keep.all()):
        return frame.copy(deep=False)
    return frame[keep]


def baseline_source_keys(sources: pd.Series) -> pd.Series:
    """Baseline sources as filter keys: "diary", "recall", or NOT_RECORDED_SOURCE if missing."""
    return sources.astype(object).where(sources.notna(), NOT_RECORDED_SOURCE)


def outcome_baseline_sources(outcomes: pd.DataFrame) -> pd.Series:
    """Each series' baseline source key, where an intake that does not say counts as "diary"
    when the headache-day baseline was derived from the client's imported diary."""
    keys = baseline_source_keys(outcomes["baseline_source"])
    if "hd28_baseline_from" not in outcomes.columns:
        return keys
    from_diary = outcomes["hd28_baseline_from"].eq("diary").fillna(False).astype(bool)
    return keys.mask(keys.eq(NOT_RECORDED_SOURCE) & from_diary, "diary")

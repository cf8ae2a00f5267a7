"""Per-client outcomes: one row per client and treatment series, with baseline, latest and change.

The rules (documented for therapists in docs/metrics.md):

* Scores come from attended sessions only. The n-th attended session of a series is its
  "session n"; scores at session 1 describe the client before any treatment.
* Baseline: the intake value for the client's first series, else the series' first report.
  Later series start from their own first report, since the intake describes the client
  before the first series only.
* Latest (end of treatment): reports at attended sessions after session 1 and after the
  baseline report. Pain, HIT-6, MIDAS, stress and sleep use the last such report. Headache and
  medication days per 28 days average the reports of the last 28 days (a 7-day count is
  multiplied by 4).
* Follow-up visits (status `follow_up`, no treatment) never count as treatment sessions; the
  latest one after the last treatment gives the lasting change (practice/analysis/followup.py).
* Change = latest - baseline (negative: fewer headache days, less pain); percent change is
  relative to a baseline above 0 (a baseline of 0 gives NaN, never a responder).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionDtype
from pandas.api.types import is_object_dtype
from pandas.arrays import ArrowStringArray

from practice import config
from practice.analysis._common import (
    EPS,
    MEASURES,
    Measure,
    empty_frame,
    pain_reduced,
    require_frame,
)
from practice.analysis.diary import (
    DIARY_MEASURES,
    SOURCE_COLUMNS,
    apply_diary,
    labelled_reports,
    source_labels,
)
from practice.analysis.followup import FOLLOWUP_COLUMNS, followup_columns, report_values
from practice.analysis.reference import (
    ReferenceValues,
    baseline_spread,
    client_ranks,
    usual_interval,
)
from practice.analysis.timepoints import TimePoint, parse_time_point
from practice.columns import SCORE_COLUMNS
from practice.series import NO_SERIES, assign_series

# A headache-day count "per 28 days": the window its follow-up reports are averaged over.
WINDOW_DAYS = 28

REQUIRED_CLIENT_COLUMNS = ("client_id",)
REQUIRED_SESSION_COLUMNS = ("client_id", "session_date", "status", "therapist", "techniques")
OPTIONAL_SESSION_COLUMNS = ("session_id", "series_number", "series_code", "location")

ID_COLUMNS = [
    "client_id",
    "client_name",
    "series_number",
    "therapist",
    "location",
    "primary_technique",
    "exposure_techniques",
    "headache_type",
    "baseline_source",
    "sex",
    "age_at_intake",
    "headache_years",
    "first_session_date",
    "last_session_date",
]
SERIES_COLUMNS = [
    "sessions_booked",
    "sessions_attended",
    "coverage",
    "series_status",
    "completer",
    "dropout",
    "active",
    "chronic_headache",
    "possible_medication_overuse",
    "medication_overuse",
    "immediate_relief_mean",
    "immediate_relief_sessions",
]
MEASURE_SUFFIXES = [
    "baseline",
    "baseline_from",
    "latest",
    "change",
    "pct_change",
    "rci",
    "reliable",
    "change_label",
]
RESPONDER_COLUMNS = [
    "hd28_responder_30",
    "hd28_responder_50",
    "hd28_responder_75",
    "pain_responder_30",
    "pain_responder_50",
    "hit6_responder",
    "midas_grade_baseline",
    "midas_grade_latest",
    "midas_grade_change",
    "midas_responder",
]
TIMED_MEASURES = ("pain", "hd28")
TIMING_SUFFIXES = [
    "sessions_to_response",
    "days_to_response",
    "last_report_session",
    "last_report_day",
]
OUTCOME_COLUMNS = [
    *ID_COLUMNS,
    *SERIES_COLUMNS,
    *[f"{m.key}_{suffix}" for m in MEASURES for suffix in MEASURE_SUFFIXES],
    *RESPONDER_COLUMNS,
    *[f"{k}_{suffix}" for k in TIMED_MEASURES for suffix in TIMING_SUFFIXES],
    *FOLLOWUP_COLUMNS,
    *SOURCE_COLUMNS,
]
CHANGE_LABELS = (
    "meaningful and reliable",
    "meaningful",
    "reliable",
    "meaningful and reliable worsening",
    "meaningful worsening",
    "reliable worsening",
)
# The label of a change that is neither meaningful nor known to be reliable because reliable
# change cannot be computed (fewer than 2 clients with a baseline, or no spread among them).
NOT_JUDGED = "not enough data to judge"
NO_CLEAR_CHANGE = "no clear change"
_BASELINE_SOURCES = np.array(["first report", "intake", np.nan], dtype=object)


def compute_client_outcomes(
    clients: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    gap_days: int | None = None,
    as_of: object = None,
    at: object = None,
    reference: ReferenceValues | None = None,
    diary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per client and treatment series: who, how many sessions, and every outcome.

    `gap_days` recomputes the series with `practice.series.assign_series` (default: the
    `series_number` given, or config.SERIES_GAP_DAYS); `as_of` is the date "ongoing" series
    are judged against (default: the reference's, else the last session date in `sessions`).
    `at` (a time point such as "3m" or "12w") makes `<measure>_latest`, and everything
    derived from it, the value at that time point instead of the last available one
    (practice.analysis.timepoints). `reference`: the practice-wide values
    (`compute_reference_values` on every client) to judge these clients against; pass it
    whenever `clients` and `sessions` are a part of the practice (one therapist's caseload),
    so that the labels are the practice's. `diary`: the clients' headache diary days
    (`practice.queries.fetch_diary_days`); where it gives headache or medication days per 28
    days for a series' baseline or latest window, those replace the reported figures
    (practice.analysis.diary, docs/metrics.md "Headache diaries").
    """
    return compute_outcomes_and_reference(
        clients, sessions, gap_days=gap_days, as_of=as_of, at=at, reference=reference, diary=diary
    )[0]


def compute_outcomes_and_reference(
    clients: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    gap_days: int | None = None,
    as_of: object = None,
    at: object = None,
    reference: ReferenceValues | None = None,
    diary: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, ReferenceValues]:
    """`compute_client_outcomes` and the reference values it judged against.

    Without `reference` they are computed from the clients given: pass every client of the
    practice to obtain the practice's reference values.
    """
    point = parse_time_point(at) if at is not None else None
    _check_inputs(clients, sessions, gap_days)
    if reference is not None and not isinstance(reference, ReferenceValues):
        raise ValueError(f"reference must be ReferenceValues, got {type(reference).__name__}")
    if sessions.empty:
        return empty_frame(OUTCOME_COLUMNS), reference or ReferenceValues(None, np.nan)
    gap = config.SERIES_GAP_DAYS if gap_days is None else gap_days
    frame = _prepare_sessions(sessions, gap_days)
    if frame.empty:  # only follow-up visits that belong to no series
        return empty_frame(OUTCOME_COLUMNS), reference or ReferenceValues(None, np.nan)
    attended = _attended_sessions(frame)
    if as_of is None and reference is not None and reference.as_of is not None:
        as_of = reference.as_of
    when = _as_of(as_of, frame)
    intervals = _intervals(attended)
    interval = reference.usual_interval_days if reference is not None else usual_interval(intervals)
    # Every column is computed per series (series key 0, 1, ...) as an array and the frame is
    # built once at the end: joining and assigning pandas columns one at a time cost more than
    # the arithmetic.
    out = _series_columns(frame, attended)
    out.update(_intake_columns(clients, out["client_id"]))
    out.update(_activity_columns(out, attended, intervals, when, gap, interval))
    out["therapist"] = _therapist_column(frame, out["sessions_attended"])
    out["location"] = _series_locations(frame)
    out.update(_technique_columns(attended, out["sessions_attended"]))
    first_series = out["series_number"] == 1
    # Each attended session's series key, visit and day, read once for the 7 measures.
    when_attended = tuple(attended[c].to_numpy(np.int64) for c in ("sk", "visit", "day"))
    for m in MEASURES:
        intake = np.where(first_series, out[f"intake_{m.key}"], np.nan)
        out.update(_measure_columns(attended, when_attended, m, intake, point))
    if diary is not None:  # the diary wins where it has a figure (practice.analysis.diary)
        with_diary = apply_diary(
            _as_frame(out, list(out)), diary, point_days=None if point is None else point.days
        )
        out = {name: _values(with_diary[name]) for name in with_diary.columns}
    else:
        out.update(_reported_sources(out))
    if reference is None:
        baselines = pd.DataFrame({m.key: out[f"{m.key}_baseline"] for m in MEASURES})
        sds, counts = baseline_spread(pd.Series(out["client_id"]), baselines)
        reference = ReferenceValues(when, interval, sds, counts)
    out.update(_change_columns(out, reference))
    out.update(_flag_columns(out))
    baselines_by_key = {m.key: np.asarray(out[f"{m.key}_baseline"], float) for m in MEASURES}
    out.update(followup_columns(frame, pd.Series(out["last_session_date"]), baselines_by_key))
    return _as_frame(out, OUTCOME_COLUMNS), reference


def _values(column: pd.Series) -> Any:
    """The column's values: its numpy array, or its pandas array for pandas' own dtypes."""
    return column.array if isinstance(column.dtype, ExtensionDtype) else column.to_numpy()


def _as_frame(columns: dict[str, Any], names: list[str]) -> pd.DataFrame:
    """The columns `names` (arrays, one value per series) as one frame on a RangeIndex."""
    index = pd.RangeIndex(len(columns["client_id"]))
    # Object text stays object (pandas would infer "str" from it); other arrays go in as they
    # are, which is dearer to wrap in a Series each.
    data = {name: columns[name] for name in names}
    for name, values in data.items():
        if is_object_dtype(values.dtype):
            data[name] = pd.Series(values, index=index, dtype=object)
    return pd.DataFrame(data, index=index)


def _check_inputs(clients: object, sessions: object, gap_days: object) -> None:
    frame = require_frame(sessions, "sessions", REQUIRED_SESSION_COLUMNS)
    require_frame(clients, "clients", REQUIRED_CLIENT_COLUMNS)
    if gap_days is not None and (not isinstance(gap_days, int) or gap_days < 0):
        raise ValueError(f"gap_days must be a whole number >= 0, got {gap_days!r}")
    if frame["client_id"].isna().any() or frame["session_date"].isna().any():
        raise ValueError("sessions has rows without client_id or session_date")
    if isinstance(clients, pd.DataFrame) and clients["client_id"].duplicated().any():
        raise ValueError("clients has duplicate client_id values")


def _as_of(as_of: object, frame: pd.DataFrame) -> pd.Timestamp:
    if as_of is None:
        return pd.Timestamp(frame["session_date"].max())
    try:
        return pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"as_of must be a date, got {as_of!r}") from exc


def _prepare_sessions(sessions: pd.DataFrame, gap_days: int | None) -> pd.DataFrame:
    """A sorted copy with series numbers, a series key `sk` and an `attended` flag."""
    keep = [*REQUIRED_SESSION_COLUMNS, *OPTIONAL_SESSION_COLUMNS, *SCORE_COLUMNS]
    # A new frame (copy-on-write): assigning a column never writes into `sessions`.
    frame = sessions[[c for c in keep if c in sessions.columns]]
    frame["client_id"] = frame["client_id"].astype(str)
    frame["session_date"] = pd.to_datetime(frame["session_date"])
    for column in SCORE_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
        elif not pd.api.types.is_float_dtype(frame[column]):  # floats are already numbers
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    if "session_id" not in frame:
        frame["session_id"] = np.arange(len(frame))
    if "series_code" not in frame:
        frame["series_code"] = pd.NA
    regroup = gap_days is not None and gap_days != config.SERIES_GAP_DAYS
    if regroup or "series_number" not in frame:
        frame["series_number"] = assign_series(frame, gap_days=gap_days)
    # A follow-up visit outside every series' window belongs to no series: not analysed.
    kept = np.flatnonzero(frame["series_number"].to_numpy() != NO_SERIES)
    # Sorted by client, series, date and session id (a stable lexsort on the client's rank:
    # the order sort_values gives, without comparing strings); `sk` numbers the series.
    client = client_ranks(frame["client_id"])[kept]
    series = frame["series_number"].to_numpy()[kept]
    keys = (
        client,
        series,
        frame["session_date"].to_numpy("datetime64[ns]")[kept],
        frame["session_id"].to_numpy()[kept],
    )
    # The data layer returns the sessions in nearly this order: when every row is kept and
    # already in order, the sort (the same identity permutation) and the copy are skipped.
    if len(kept) < len(frame) or not _in_order(keys):
        order = np.lexsort(keys[::-1])
        frame = frame.take(kept[order])  # one copy: the rows kept, in order
        client, series = client[order], series[order]
    starts = np.ones(len(client), dtype=bool)
    starts[1:] = (client[1:] != client[:-1]) | (series[1:] != series[:-1])
    frame["sk"] = np.cumsum(starts) - 1
    frame["attended"] = frame["status"].eq("attended").fillna(False).astype(bool)
    return frame


def _in_order(keys: tuple[np.ndarray, ...]) -> bool:
    """Whether the rows are sorted by `keys` (the first key first), ties allowed."""
    if len(keys[0]) < 2:
        return True
    before = np.zeros(len(keys[0]) - 1, dtype=bool)  # row i comes strictly before row i + 1
    tied = np.ones(len(keys[0]) - 1, dtype=bool)
    for key in keys:
        before |= tied & (key[:-1] < key[1:])
        tied &= key[:-1] == key[1:]
    return bool((before | tied).all())


def _attended_sessions(frame: pd.DataFrame) -> pd.DataFrame:
    """Attended sessions with `visit` (1, 2, ... in the series) and `day` (days since visit 1).

    Only the columns read from attended sessions (series key, date, techniques, scores):
    selecting rows copies every column kept, and the text columns are the dearest.
    """
    columns = ["sk", "session_date", "techniques", *SCORE_COLUMNS]
    attended = frame.loc[frame["attended"], columns]  # a new frame (copy-on-write)
    # Rows are sorted by series and date: a series' first row is its visit 1.
    sk = attended["sk"].to_numpy()
    first = _first_per_group(sk, int(sk[-1]) + 1 if len(sk) else 0)[sk]
    attended["visit"] = np.arange(len(sk)) - first + 1
    dates = attended["session_date"].to_numpy()
    # Whole days, floored as .dt.days would (numpy: a fifth of the pandas Series arithmetic).
    attended["day"] = (dates - dates[first]) // np.timedelta64(1, "D")
    return attended


def _series_columns(frame: pd.DataFrame, attended: pd.DataFrame) -> dict[str, Any]:
    """Who and when: client, series number, sessions booked and attended, first and last
    attended session, score coverage and immediate relief, per series key."""
    sk = frame["sk"].to_numpy(np.int64)
    n = int(sk[-1]) + 1  # every series key has rows, in order
    starts = _first_per_group(sk, n)
    a_sk = attended["sk"].to_numpy(np.int64)
    dates = attended["session_date"].array
    attended_count = np.bincount(a_sk, minlength=n).astype("int64")
    scored = attended[list(SCORE_COLUMNS)].notna().to_numpy().any(axis=1)
    relief = attended["pain_pre"].to_numpy(float) - attended["pain_post"].to_numpy(float)
    # pandas' grouped mean (compensated summation): the same figures as before, bit for bit.
    mean_relief = pd.Series(relief).groupby(a_sk).mean().reindex(pd.RangeIndex(n))
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0: no attended session, NaN
        coverage = np.bincount(a_sk[scored], minlength=n) / attended_count
    return {
        "client_id": frame["client_id"].array.take(starts),
        "series_number": frame["series_number"].to_numpy()[starts].astype("int64"),
        # Follow-up visits are assessments, not treatment bookings.
        "sessions_booked": np.bincount(
            sk[frame["status"].ne("follow_up").to_numpy(dtype=bool, na_value=True)], minlength=n
        ).astype("int64"),
        "sessions_attended": attended_count,
        # Attended rows are in date order within each series: its first and last are the extremes.
        "first_session_date": dates.take(_first_per_group(a_sk, n), allow_fill=True),
        "last_session_date": dates.take(_last_per_group(a_sk, n), allow_fill=True),
        "coverage": coverage,
        "immediate_relief_mean": mean_relief.to_numpy(float),
        "immediate_relief_sessions": np.bincount(a_sk[~np.isnan(relief)], minlength=n).astype(
            "int64"
        ),
    }


def _intervals(attended: pd.DataFrame) -> np.ndarray:
    """Days since the series' previous attended session (NaN at a series' first)."""
    sk = attended["sk"].to_numpy(np.int64)
    day = attended["day"].to_numpy(np.int64).astype(float)
    intervals = np.full(len(day), np.nan)
    same = sk[1:] == sk[:-1]
    intervals[1:][same] = (day[1:] - day[:-1])[same]
    return intervals


_INTAKE_COLUMNS = frozenset(
    {
        "client_name",
        "headache_type",
        "baseline_source",
        "sex",
        "headache_years",
        "intake_date",
        "birth_year",
        *(m.intake_column for m in MEASURES),
    }
)


def _positions(values: pd.Series, labels: pd.Series) -> np.ndarray:
    """The position of each of `values` among the unique `labels`, -1 where absent."""
    if isinstance(values.array, ArrowStringArray) and isinstance(labels.array, ArrowStringArray):
        # Arrow's hash lookup of text is about three times pandas' get_indexer on these.
        found = pc.index_in(pa.array(values.array), value_set=pa.array(labels.array))
        return found.fill_null(-1).to_numpy().astype(np.intp)
    return pd.Index(labels).get_indexer(values)


def _intake_columns(clients: pd.DataFrame, client_ids: Any) -> dict[str, Any]:
    """Intake columns (and each measure's intake value as `intake_<key>`) per series."""
    position = _positions(pd.Series(client_ids), clients["client_id"].astype(str))
    index = pd.RangeIndex(len(position))

    def column(name: str, numeric: bool = False) -> pd.Series:
        if name not in clients:
            return pd.Series(np.nan, index=index)
        # By position (-1: no such client, a missing value), as a lookup by label would.
        taken = clients[name].array.take(position, allow_fill=True)
        values = pd.Series(taken, index=index, dtype=taken.dtype)  # object text stays object
        return pd.to_numeric(values, errors="coerce") if numeric else values

    names = ("client_name", "headache_type", "baseline_source", "sex")
    out = {name: _values(column(name)) for name in names}
    out["headache_years"] = _values(column("headache_years", numeric=True))
    intake_year = pd.to_datetime(column("intake_date")).dt.year
    out["age_at_intake"] = _values(intake_year - column("birth_year", numeric=True))
    for measure in MEASURES:
        out[f"intake_{measure.key}"] = column(measure.intake_column, numeric=True).to_numpy(float)
    return out


def _activity_columns(
    out: dict[str, Any],
    attended: pd.DataFrame,
    intervals: np.ndarray,
    as_of: pd.Timestamp,
    gap: int,
    practice: float,
) -> dict[str, Any]:
    """Completer / ongoing / dropout status of each series (rule in docs/metrics.md)."""
    n = len(out["sessions_attended"])
    # Usual interval: the series' median days between attended sessions, else the practice's.
    by_series = pd.Series(intervals).groupby(attended["sk"].to_numpy(np.int64)).median()
    usual = by_series.reindex(pd.RangeIndex(n)).to_numpy(float)
    usual = np.where(np.isnan(usual), practice, usual)
    # A pause longer than the series gap would start a new series, so the window never exceeds it.
    window = np.minimum(config.ONGOING_INTERVALS * usual, gap)
    window = np.where(np.isnan(window), gap, window)
    since_last = (as_of - pd.Series(out["last_session_date"])).dt.days.to_numpy(float)
    active = since_last <= window
    completer = out["sessions_attended"] >= config.MIN_SESSIONS_COMPLETER
    status = np.select([completer, active], ["completer", "ongoing"], default="dropout")
    return {
        "series_status": pd.array(status, dtype="str"),
        "completer": completer,
        "dropout": ~completer & ~active,
        "active": active,
    }


def _therapist_column(frame: pd.DataFrame, attended_count: np.ndarray) -> Any:
    """Main therapist: most attended sessions (all sessions if none attended); ties -> earliest."""
    sk_all = frame["sk"].to_numpy(np.int64)
    pool = frame["attended"].to_numpy(bool) | (attended_count[sk_all] == 0)
    # Every row's therapist coded (alphabetically, -1: none, not counted) and the pool's codes
    # read from them: selecting the pool's text first costs more than coding all of it.
    codes, names = pd.factorize(frame["therapist"], sort=True)
    codes = codes[pool]
    named = codes >= 0
    sk = sk_all[pool][named]
    dates = frame["session_date"].to_numpy("datetime64[ns]")[pool][named]
    best = _most_used(sk, codes[named], dates)[0]
    which = np.full(len(attended_count), -1, dtype=np.intp)
    which[sk[best]] = codes[named][best]
    return names.array.take(which, allow_fill=True)


def _most_used(
    sk: np.ndarray, code: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per series, the row (into the arrays) of the code used most often; ties go to the code
    first used (smallest `order`; rows sorted by series, then date), then the smallest code.

    Also each (series, code) pair's first row and number of rows, sorted by series and code.
    """
    key = sk * (int(code.max(initial=0)) + 1) + code
    # One row per series and code (its first use), sorted by series (`sk` is sorted) and code.
    first, count = _first_and_count(key)
    return first[_best_per_series(sk[first], count, order[first], code[first])], first, count


def _first_and_count(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct key (ascending), its first row and number of rows, as np.unique gives.

    Keys of (series, code) pairs span little more than the rows: counted into one slot per
    possible key instead of sorting them (np.unique) when there are at most twice as many.
    """
    slots = int(key.max(initial=-1)) + 1
    if slots > 2 * len(key) or key.min(initial=0) < 0:
        _, first, count = np.unique(key, return_index=True, return_counts=True)
        return first, count
    counts = np.bincount(key, minlength=slots)
    present = np.flatnonzero(counts)
    firsts = np.full(slots, len(key), dtype=np.int64)
    np.minimum.at(firsts, key, np.arange(len(key), dtype=np.int64))
    return firsts[present], counts[present]


def _best_per_series(
    series: np.ndarray, count: np.ndarray, order: np.ndarray, code: np.ndarray
) -> np.ndarray:
    """Per series (`series` sorted), the position of its largest `count`, ties to the smallest
    `order`, then the smallest `code` (unique within a series): one position per series.

    Narrowed key by key within each run of a series (reduceat) instead of sorting the pairs.
    """
    if len(series) == 0:
        return np.zeros(0, dtype=np.int64)
    if order.dtype.kind == "M":
        if np.isnat(order).any():  # NaT sorts last, unlike its integer value: sort as before
            ranked = np.lexsort((code, order, -count, series))
            leading = np.r_[True, series[ranked][1:] != series[ranked][:-1]]
            return ranked[leading]
        order = order.view(np.int64)
    is_start = _run_starts(series)
    starts, run = np.flatnonzero(is_start), np.cumsum(is_start) - 1
    chosen = count == np.maximum.reduceat(count, starts)[run]
    for values in (order.astype(np.int64), code.astype(np.int64)):
        values = np.where(chosen, values, np.iinfo(np.int64).max)
        chosen &= values == np.minimum.reduceat(values, starts)[run]
    return np.flatnonzero(chosen)


def _series_locations(frame: pd.DataFrame) -> np.ndarray:
    """Location of each series: that of its latest session naming one (docs/metrics.md)."""
    n = int(frame["sk"].iloc[-1]) + 1
    if "location" not in frame:
        return np.full(n, np.nan, dtype=object)
    # `frame` is in date order within each series; last() skips sessions without a location.
    return frame.groupby("sk")["location"].last().to_numpy(object)


def _technique_columns(attended: pd.DataFrame, attended_count: np.ndarray) -> dict[str, Any]:
    """Primary technique and the ';'-joined techniques of >= the exposure share of sessions."""
    n = len(attended_count)
    sk, code, visit, names = _technique_uses(attended)
    # Most sessions wins; ties go to the technique used first, then alphabetically (the
    # technique codes are in alphabetical order).
    best, first, count = _most_used(sk, code, visit)
    which = np.full(n, -1, dtype=np.intp)
    which[sk[best]] = code[best]
    share = count / attended_count[sk[first]]
    exposed = first[share >= config.TECHNIQUE_EXPOSURE_SHARE - EPS]
    return {
        "primary_technique": pd.array(names, dtype="str").take(which, allow_fill=True),
        "exposure_techniques": _join_per_series(sk[exposed], code[exposed], names, n),
    }


def _technique_uses(attended: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Every (series, technique code, visit) use, in session order, and the technique names.

    Each distinct technique cell is split once (a practice has a few hundred combinations);
    the techniques are spread over the sessions with numpy. Blank names and "nan" are no
    technique; a technique named twice in one session counts once.
    """
    cells, distinct = pd.factorize(attended["techniques"].fillna("").astype(str))
    split = [
        list(dict.fromkeys(t.strip() for t in str(cell).split(";") if t.strip() not in ("", "nan")))
        for cell in distinct
    ]
    names = sorted({name for names in split for name in names})
    code_of = {name: code for code, name in enumerate(names)}
    per_cell = np.array([len(names) for names in split], dtype=np.int64)
    flat = np.fromiter((code_of[n] for names in split for n in names), dtype=np.int64)
    cell_start = np.concatenate([[0], np.cumsum(per_cell)[:-1]]).astype(np.int64)
    per_row = per_cell[cells] if len(cells) else np.zeros(0, dtype=np.int64)
    # Each use's session, repeated once and then indexed: np.repeat per column is dearer.
    row = np.repeat(np.arange(len(per_row)), per_row)
    # A use's position in its cell's techniques is its position among its session's uses.
    offset = cell_start[cells] - (np.cumsum(per_row) - per_row) if len(cells) else per_row
    code = flat[offset[row] + np.arange(len(row), dtype=np.int64)]
    sk = attended["sk"].to_numpy(np.int64)[row]
    visit = attended["visit"].to_numpy(np.int64)[row]
    return sk, code, visit, names


def _join_per_series(sk: np.ndarray, code: np.ndarray, names: list[str], n: int) -> Any:
    """The alphabetical ';'-joined techniques of each of the n series (pairs sorted by series,
    code), NaN where a series has none.

    A series' set of codes is read as a bit mask; each distinct mask is joined once.
    """
    joined = np.full(n, np.nan, dtype=object)
    if len(sk) == 0:
        return joined  # no technique at all: objects, as pandas gives for no values
    starts = _run_starts(sk)  # `sk` is sorted: no sort to find the series
    series, at = sk[starts], np.cumsum(starts) - 1
    if len(names) > 52:  # bit masks as exact float sums hold 52 bits
        technique = pd.Series(np.asarray(names, dtype=object)[code])
        values = technique.groupby(at).agg(";".join).to_numpy(object)
    else:
        masks = np.bincount(at, weights=np.ldexp(1.0, code)).astype(np.int64)
        which, distinct = pd.factorize(masks)  # each distinct set once, by hashing
        texts = [";".join(t for i, t in enumerate(names) if mask >> i & 1) for mask in distinct]
        values = np.asarray(texts, dtype=object)[which]
    joined[series] = values
    return pd.array(joined, dtype="str")


def _measure_columns(
    attended: pd.DataFrame,
    when: tuple[np.ndarray, ...],
    measure: Measure,
    intake: np.ndarray,
    point: TimePoint | None = None,
) -> dict[str, np.ndarray]:
    """Baseline, latest (or the value at `point`) and (pain, hd28) response timing of one
    measure, per series (`intake`: each series' intake value, series keys 0, 1, ... in order;
    `when`: the attended sessions' series key, visit and day).

    Numpy over the attended sessions, which are sorted by series key: a series' first and last
    rows are found where the key changes, not by grouping.
    """
    key = measure.key
    values = report_values(attended, measure)
    # Rows are selected by position (take) rather than by boolean mask: masking with these
    # scattered masks costs several times more, and there are 8 selections per measure.
    has = np.flatnonzero(~np.isnan(values))
    sk, visit, day, values = (column.take(has) for column in (*when, values))
    n = len(intake)
    given = intake
    from_intake = ~np.isnan(given)
    first = _first_per_group(sk, n)
    baseline = np.where(from_intake, given, _take(values, first))
    baseline_visit = np.where(from_intake, 0.0, _take(visit.astype(float), first))
    follow = np.flatnonzero((visit >= 2) & (visit > baseline_visit[sk]))
    f_sk, f_visit, f_day, level = (column.take(follow) for column in (sk, visit, day, values))
    last = _last_per_group(f_sk, n)
    if measure.windowed and (point is not None or key in TIMED_MEASURES):
        level = _window_mean(f_sk, f_day, level, WINDOW_DAYS)
    elif measure.windowed:  # only each series' last level is read: averaged there alone
        ends = last[last >= 0]
        averaged = np.full(len(level), np.nan)
        averaged[ends] = _window_mean(f_sk, f_day, level, WINDOW_DAYS, ends)
        level = averaged
    # "intake", "first report", or NaN without a baseline: picked by position, as objects.
    source = _BASELINE_SOURCES[np.where(np.isnan(baseline), 2, from_intake.astype(np.intp))]
    if point is None:
        latest = _take(level, last)
    else:
        frame = pd.DataFrame({"sk": f_sk, "visit": f_visit, "day": f_day, "level": level})
        latest = _level_at(frame, point).reindex(pd.RangeIndex(n)).to_numpy(float)
    out = {f"{key}_baseline": baseline, f"{key}_baseline_from": source, f"{key}_latest": latest}
    if key in TIMED_MEASURES:
        met = _reached_response(key, pd.Series(level), pd.Series(baseline[f_sk]))
        reached = np.flatnonzero(met.to_numpy(bool))
        hit = _first_per_group(f_sk[reached], n)  # index into `reached`
        hit = np.where(hit >= 0, reached[np.maximum(hit, 0)], -1) if len(reached) else hit
        out[f"{key}_sessions_to_response"] = _take(f_visit.astype(float), hit)
        out[f"{key}_days_to_response"] = _take(f_day.astype(float), hit)
        out[f"{key}_last_report_session"] = _take(f_visit.astype(float), last)
        out[f"{key}_last_report_day"] = _take(f_day.astype(float), last)
    return out


def _take(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """values[rows] as floats, NaN where a row is -1 (the series has none)."""
    if len(values) == 0:
        return np.full(len(rows), np.nan)
    return np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan)


def _first_per_group(groups: np.ndarray, n: int) -> np.ndarray:
    """Index (into sorted `groups`) of each of the n groups' first row, -1 where none."""
    first = np.full(n, -1, dtype=np.int64)
    if len(groups):
        starts = np.flatnonzero(_run_starts(groups))
        first[groups[starts]] = starts
    return first


def _last_per_group(groups: np.ndarray, n: int) -> np.ndarray:
    """Index (into sorted `groups`) of each of the n groups' last row, -1 where none."""
    last = np.full(n, -1, dtype=np.int64)
    if len(groups):
        ends = np.flatnonzero(_run_ends(groups))
        last[groups[ends]] = ends
    return last


def _run_starts(groups: np.ndarray) -> np.ndarray:
    """True at the first row of each run of equal `groups` (at least one row)."""
    starts = np.empty(len(groups), dtype=bool)
    starts[0] = True
    np.not_equal(groups[1:], groups[:-1], out=starts[1:])  # no np.r_ copy
    return starts


def _run_ends(groups: np.ndarray) -> np.ndarray:
    """True at the last row of each run of equal `groups` (at least one row)."""
    ends = np.empty(len(groups), dtype=bool)
    ends[-1] = True
    np.not_equal(groups[1:], groups[:-1], out=ends[:-1])
    return ends


def _level_at(follow: pd.DataFrame, point: TimePoint) -> pd.Series:
    """Per series, the follow-up level nearest to `point` days after session 1, within
    config.TIME_POINT_WINDOW_DAYS either side; of two equally near, the earlier."""
    distance = (follow["day"] - point.days).abs()
    near = follow.assign(distance=distance).loc[distance <= config.TIME_POINT_WINDOW_DAYS]
    nearest = near.sort_values(["sk", "distance", "day"], kind="stable").drop_duplicates("sk")
    return nearest.set_index("sk")["level"]


def _window_mean(
    sk: np.ndarray,
    day: np.ndarray,
    value: np.ndarray,
    window: int,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Mean of the series' values dated in the `window` days up to each row (rows sorted),
    or up to each of `rows` only (the same figures: one running sum over every row)."""
    if len(value) == 0:
        return value.astype(float)
    days = day.astype(np.int64)
    span = int(days.max()) + window + 1  # keeps one series' keys apart from the next one's
    key = sk.astype(np.int64) * span + days
    at = np.arange(len(key)) if rows is None else rows
    start = np.searchsorted(key, key[at] - (window - 1), side="left")
    total = np.concatenate([[0.0], np.cumsum(value.astype(float))])
    end = at + 1
    return (total[end] - total[start]) / (end - start)


def _reached_response(key: str, level: pd.Series, baseline: pd.Series) -> pd.Series:
    """Whether a follow-up level meets the headline responder rule of `key`."""
    drop = baseline - level
    if key == "pain":  # IMMPACT (Dworkin 2008) after Farrar 2001: >= 30 %.
        return pain_reduced(-drop, baseline, config.PAIN_MODERATE_FRACTION)
    # IHS: >= 50 % fewer headache days (Bendtsen 2010; on migraine days Tfelt-Hansen 2012).
    return (baseline > 0) & (drop >= config.HD28_RESPONDER_FRACTION * baseline - EPS)


def _reported_sources(out: dict[str, Any]) -> dict[str, Any]:
    """Without a diary: every figure was reported (`add_sources` on no diary figures)."""
    columns: dict[str, Any] = {}
    for key in DIARY_MEASURES:
        latest_from = labelled_reports(out[f"{key}_latest"], "sessions")
        columns[f"{key}_latest_from"] = latest_from
        columns[f"{key}_source"] = source_labels(out[f"{key}_baseline_from"], latest_from)
    columns["hd28_baseline_reported"] = out["hd28_baseline"]
    columns["hd28_latest_reported"] = out["hd28_latest"]
    columns["diary_days_logged"] = np.zeros(len(out["hd28_latest"]), dtype="int64")
    return columns


def _change_columns(out: dict[str, Any], reference: ReferenceValues) -> dict[str, Any]:
    """Change, percent change, reliable change index and change label of every measure."""
    columns: dict[str, Any] = _midas_grades(out)
    for measure in MEASURES:
        key = measure.key
        baseline, latest = out[f"{key}_baseline"], out[f"{key}_latest"]
        change = latest - baseline
        pct = 100 * change / np.where(baseline > 0, baseline, np.nan)
        rci = change / reference.change_error(key)
        reliable = _flag(np.abs(rci) > config.RELIABLE_CHANGE_Z, ~np.isnan(rci))
        better, worse = _meaningful(key, baseline, change, pct, columns["midas_grade_change"])
        direction = -1.0 if measure.lower_is_better else 1.0
        columns[f"{key}_change"] = change
        columns[f"{key}_pct_change"] = pct
        columns[f"{key}_rci"] = rci
        columns[f"{key}_reliable"] = reliable
        columns[f"{key}_change_label"] = _change_label(change * direction, reliable, better, worse)
    return columns


def _midas_grades(out: dict[str, Any]) -> dict[str, np.ndarray]:
    """MIDAS grades I-IV as 1-4 at baseline and latest (Stewart 2001), and their change."""
    bounds = np.array([-np.inf, *config.MIDAS_GRADE_UPPER_BOUNDS, np.inf])

    def grade(values: np.ndarray) -> np.ndarray:
        # Grade g holds the scores in (bounds[g - 1], bounds[g]], as pd.cut's right-closed bins.
        grades = np.searchsorted(bounds, values, side="left").astype(float)
        return np.where(np.isnan(values) | (values <= bounds[0]), np.nan, grades)

    baseline, latest = grade(out["midas_baseline"]), grade(out["midas_latest"])
    return {
        "midas_grade_baseline": baseline,
        "midas_grade_latest": latest,
        "midas_grade_change": latest - baseline,
    }


def _meaningful(
    key: str, baseline: np.ndarray, change: np.ndarray, pct: np.ndarray, grade_step: np.ndarray
) -> tuple[pd.arrays.BooleanArray | None, pd.arrays.BooleanArray | None]:
    """Meaningful improvement and worsening of `key`, or None where no threshold is published."""
    known = ~np.isnan(pct)
    if key == "hd28":  # IHS: 50 % fewer headache days; the same rise counts as worsening.
        limit = 100 * config.HD28_RESPONDER_FRACTION
        return _flag(pct <= -limit + EPS, known), _flag(pct >= limit - EPS, known)
    if key == "pain":  # IMMPACT / Farrar 2001: 30 %; the same rise counts as worsening.
        better = _pain_reduced(change, baseline, config.PAIN_MODERATE_FRACTION)
        worse = _pain_reduced(-change, baseline, config.PAIN_MODERATE_FRACTION)
        return _flag(better, known), _flag(worse, known)
    if key == "hit6":  # Houts 2020 / Smelt 2014: 6 points for an individual.
        points = config.HIT6_MEANINGFUL_POINTS
        known = ~np.isnan(change)
        return _flag(change <= -points + EPS, known), _flag(change >= points - EPS, known)
    if key == "midas":  # one MIDAS grade (Stewart 2001).
        known = ~np.isnan(grade_step)
        return _flag(grade_step <= -1, known), _flag(grade_step >= 1, known)
    return None, None


def _pain_reduced(change: np.ndarray, baseline: np.ndarray, fraction: float) -> np.ndarray:
    """practice.analysis._common.pain_reduced on arrays (the one rule, applied there)."""
    return pain_reduced(pd.Series(change), pd.Series(baseline), fraction).to_numpy(bool)


def _flag(condition: np.ndarray, valid: np.ndarray) -> pd.arrays.BooleanArray:
    """`condition` as a nullable boolean, NA where the rule cannot be applied."""
    return pd.arrays.BooleanArray(condition & valid, ~valid)


def _change_label(
    improvement: np.ndarray,
    reliable: pd.arrays.BooleanArray,
    better: pd.arrays.BooleanArray | None,
    worse: pd.arrays.BooleanArray | None,
) -> np.ndarray:
    """Plain-language change label; improvement is the change signed so that > 0 is better.

    Where reliable change cannot be computed and the change is not meaningful, the label is
    NOT_JUDGED, never "no clear change": nobody could check there was none.
    """
    false = np.zeros(len(improvement), dtype=bool)
    reliable_ = reliable.to_numpy(dtype=bool, na_value=False)
    better_ = false if better is None else better.to_numpy(dtype=bool, na_value=False)
    worse_ = false if worse is None else worse.to_numpy(dtype=bool, na_value=False)
    up, down = reliable_ & (improvement > 0), reliable_ & (improvement < 0)
    unknown = reliable.isna()
    # The rule picks a label's position; the labels are Python strings taken once each.
    which = np.select(
        [np.isnan(improvement), better_ & up, better_, up, worse_ & down, worse_, down, unknown],
        range(-1, len(CHANGE_LABELS) + 1),
        default=len(CHANGE_LABELS) + 1,
    )
    return _CHANGE_LABEL_TEXTS[which]


# The labels by position, and NaN (position -1) where there is no change to label.
_CHANGE_LABEL_TEXTS = np.array([*CHANGE_LABELS, NOT_JUDGED, NO_CLEAR_CHANGE, np.nan], dtype=object)


def _flag_columns(out: dict[str, Any]) -> dict[str, pd.arrays.BooleanArray]:
    """Responder flags (IHS, IMMPACT, HIT-6, MIDAS) and the intake risk flags."""
    hd28, pain = out["hd28_pct_change"], out["pain_pct_change"]
    hd28_ok, pain_ok = ~np.isnan(hd28), ~np.isnan(pain)
    flags = {
        f"hd28_responder_{round(100 * f)}": _flag(hd28 <= -100 * f + EPS, hd28_ok)
        for f in (config.HD28_RESPONDER_FRACTION, *config.HD28_SECONDARY_FRACTIONS)
    }
    flags["pain_responder_30"] = _flag(
        _pain_reduced(out["pain_change"], out["pain_baseline"], config.PAIN_MODERATE_FRACTION),
        pain_ok,
    )
    flags["pain_responder_50"] = _flag(
        pain <= -100 * config.PAIN_SUBSTANTIAL_FRACTION + EPS, pain_ok
    )
    hit6 = out["hit6_change"]
    flags["hit6_responder"] = _flag(hit6 <= -config.HIT6_MEANINGFUL_POINTS + EPS, ~np.isnan(hit6))
    # Grade I cannot improve by a grade, so it is left out like a baseline of 0.
    step = out["midas_grade_change"]
    flags["midas_responder"] = _flag(
        step <= -1, ~np.isnan(step) & (out["midas_grade_baseline"] > 1)
    )
    hd28_base, medication = out["hd28_baseline"], out["medication_days_baseline"]
    # ICHD-3 (2018) 1.3 / 2.3 chronic: >= 15 headache days per month.
    flags["chronic_headache"] = _flag(
        hd28_base >= config.CHRONIC_HEADACHE_DAYS, ~np.isnan(hd28_base)
    )
    # ICHD-3 8.2: >= 10 days (triptans, combination analgesics ...) or >= 15 (simple analgesics).
    flags["possible_medication_overuse"] = _flag(
        medication >= config.MEDICATION_OVERUSE_DAYS_ANY, ~np.isnan(medication)
    )
    flags["medication_overuse"] = _flag(
        medication >= config.MEDICATION_OVERUSE_DAYS_SIMPLE, ~np.isnan(medication)
    )
    return flags

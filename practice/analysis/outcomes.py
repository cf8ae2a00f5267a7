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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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
from practice.analysis.diary import SOURCE_COLUMNS, add_sources, apply_diary
from practice.analysis.followup import FOLLOWUP_COLUMNS, followup_frame
from practice.analysis.reference import ReferenceValues, baseline_spread, usual_interval
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
    interval = (
        reference.usual_interval_days
        if reference is not None
        else usual_interval(attended["day"], attended["sk"])
    )
    out = _series_frame(frame, attended)
    out = out.join(_intake_frame(clients, out["client_id"]))
    out = out.join(_activity_frame(out, attended, when, gap, interval))
    out = out.join(_therapist_frame(frame, out["sessions_attended"]))
    out["location"] = _series_locations(frame)
    out = out.join(_technique_frame(attended, out["sessions_attended"]))
    first_series = out["series_number"].eq(1)
    measures = [
        _measure_frame(attended, m, out[f"intake_{m.key}"].where(first_series), point)
        for m in MEASURES
    ]
    out = pd.concat([out, *measures], axis=1)
    if diary is not None:  # the diary wins where it has a figure (practice.analysis.diary)
        out = apply_diary(out, diary, point_days=None if point is None else point.days)
    out = add_sources(out)
    if reference is None:
        baselines = pd.DataFrame({m.key: out[f"{m.key}_baseline"] for m in MEASURES})
        sds, counts = baseline_spread(out["client_id"], baselines)
        reference = ReferenceValues(when, interval, sds, counts)
    out = _add_changes(out, reference)
    out = _add_flags(out)
    out = out.join(followup_frame(frame, out))
    return out.reindex(columns=OUTCOME_COLUMNS).reset_index(drop=True), reference


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
    client = pd.factorize(frame["client_id"], sort=True)[0][kept]
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
    dates = attended["session_date"]
    attended["day"] = (dates - dates.iloc[first].to_numpy()).dt.days
    return attended


def _series_frame(frame: pd.DataFrame, attended: pd.DataFrame) -> pd.DataFrame:
    by_series = frame.groupby("sk")
    out = pd.DataFrame(
        {
            "client_id": by_series["client_id"].first(),
            "series_number": by_series["series_number"].first().astype("int64"),
            # Follow-up visits are assessments, not treatment bookings.
            "sessions_booked": (~frame["status"].eq("follow_up")).groupby(frame["sk"]).sum(),
            "sessions_attended": by_series["attended"].sum().astype("int64"),
        }
    )
    # Attended rows are in date order within each series: its first and last are the extremes.
    sk = attended["sk"].to_numpy(np.int64)
    n = len(out)
    dates = attended["session_date"]
    out["first_session_date"] = _dates_at(dates, _first_per_group(sk, n), out.index)
    out["last_session_date"] = _dates_at(dates, _last_per_group(sk, n), out.index)
    scored = attended[list(SCORE_COLUMNS)].notna().any(axis=1)
    out["coverage"] = scored.groupby(attended["sk"]).sum() / out["sessions_attended"]
    relief = attended["pain_pre"] - attended["pain_post"]
    out["immediate_relief_mean"] = relief.groupby(attended["sk"]).mean()
    n_relief = relief.notna().groupby(attended["sk"]).sum()
    out["immediate_relief_sessions"] = n_relief.reindex(out.index, fill_value=0).astype("int64")
    return out


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


def _dates_at(dates: pd.Series, rows: np.ndarray, index: pd.Index) -> pd.Series:
    """dates.iloc[rows] on `index` (same dtype), NaT where a row is -1."""
    return pd.Series(dates.array.take(rows, allow_fill=True), index=index, name=dates.name)


def _intake_frame(clients: pd.DataFrame, client_ids: pd.Series) -> pd.DataFrame:
    """Intake columns (and each measure's intake value as `intake_<key>`) per series row."""
    # One lookup of the series' clients for the intake columns read below (only those:
    # the lookup copies every column it keeps).
    wanted = [c for c in clients.columns if c in _INTAKE_COLUMNS]
    position = _positions(client_ids, clients["client_id"].astype(str))
    # Reindexing by position (-1: no such client, a row of NaN) on a RangeIndex, as the
    # lookup by label did, without hashing the labels a second time.
    rows = clients[wanted].reset_index(drop=True).reindex(position)
    rows.index = client_ids.index
    out = pd.DataFrame(index=client_ids.index)

    def column(name: str, numeric: bool = False) -> pd.Series:
        if name not in rows:
            return pd.Series(np.nan, index=client_ids.index)
        values = rows[name]
        return pd.to_numeric(values, errors="coerce") if numeric else values

    for name in ("client_name", "headache_type", "baseline_source", "sex"):
        out[name] = column(name)
    out["headache_years"] = column("headache_years", numeric=True)
    intake_year = pd.to_datetime(column("intake_date")).dt.year
    out["age_at_intake"] = intake_year - column("birth_year", numeric=True)
    for measure in MEASURES:
        out[f"intake_{measure.key}"] = column(measure.intake_column, numeric=True)
    return out


def _activity_frame(
    out: pd.DataFrame, attended: pd.DataFrame, as_of: pd.Timestamp, gap: int, practice: float
) -> pd.DataFrame:
    """Completer / ongoing / dropout status of each series (rule in docs/metrics.md)."""
    # Usual interval: the series' median days between attended sessions, else the practice's.
    intervals = attended.groupby("sk")["day"].diff()
    usual = intervals.groupby(attended["sk"]).median().reindex(out.index)
    usual = usual.fillna(practice)
    # A pause longer than the series gap would start a new series, so the window never exceeds it.
    window = (config.ONGOING_INTERVALS * usual).clip(upper=gap).fillna(gap)
    since_last = (as_of - out["last_session_date"]).dt.days
    active = since_last.le(window)
    completer = out["sessions_attended"] >= config.MIN_SESSIONS_COMPLETER
    status = np.select([completer, active], ["completer", "ongoing"], default="dropout")
    return pd.DataFrame(
        {
            "series_status": status,
            "completer": completer,
            "dropout": ~completer & ~active,
            "active": active,
        },
        index=out.index,
    )


def _therapist_frame(frame: pd.DataFrame, attended_count: pd.Series) -> pd.DataFrame:
    """Main therapist: most attended sessions (all sessions if none attended); ties -> earliest."""
    none_attended = frame["sk"].map(attended_count).eq(0)
    pool = frame.loc[frame["attended"] | none_attended, ["sk", "therapist", "session_date"]]
    codes, names = pd.factorize(pool["therapist"], sort=True)  # -1: no therapist, not counted
    named = codes >= 0
    sk = pool["sk"].to_numpy(np.int64)[named]
    dates = pool["session_date"].to_numpy("datetime64[ns]")[named]
    best = _most_used(sk, codes[named], dates)[0]
    therapist = pd.Series(names.take(codes[named][best]), index=pd.Index(sk[best], name="sk"))
    return therapist.to_frame("therapist")


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
    starts = np.flatnonzero(np.r_[True, series[1:] != series[:-1]])
    run = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(series)]))
    chosen = count == np.maximum.reduceat(count, starts)[run]
    for values in (order.astype(np.int64), code.astype(np.int64)):
        values = np.where(chosen, values, np.iinfo(np.int64).max)
        chosen &= values == np.minimum.reduceat(values, starts)[run]
    return np.flatnonzero(chosen)


def _series_locations(frame: pd.DataFrame) -> pd.Series:
    """Location of each series: that of its latest session naming one (docs/metrics.md)."""
    if "location" not in frame:
        return pd.Series(np.nan, index=frame["sk"].unique(), dtype=object)
    # `frame` is in date order within each series; last() skips sessions without a location.
    return frame.groupby("sk")["location"].last().astype(object)


def _technique_frame(attended: pd.DataFrame, attended_count: pd.Series) -> pd.DataFrame:
    """Primary technique and the ';'-joined techniques of >= the exposure share of sessions."""
    sk, code, visit, names = _technique_uses(attended)
    # Most sessions wins; ties go to the technique used first, then alphabetically (the
    # technique codes are in alphabetical order).
    best, first, count = _most_used(sk, code, visit)
    labels = pd.array(names, dtype="str")
    primary = pd.Series(labels.take(code[best]), index=pd.Index(sk[best], name="sk"))
    share = count / attended_count.to_numpy()[sk[first]]
    exposed = first[share >= config.TECHNIQUE_EXPOSURE_SHARE - EPS]
    return pd.DataFrame(
        {
            "primary_technique": primary,
            "exposure_techniques": _join_per_series(sk[exposed], code[exposed], names),
        }
    )


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
    row_start = np.repeat(np.cumsum(per_row) - per_row, per_row)
    within = np.arange(int(per_row.sum()), dtype=np.int64) - row_start
    sk = np.repeat(attended["sk"].to_numpy(np.int64), per_row)
    code = flat[np.repeat(cell_start[cells], per_row) + within]
    visit = np.repeat(attended["visit"].to_numpy(np.int64), per_row)
    return sk, code, visit, names


def _join_per_series(sk: np.ndarray, code: np.ndarray, names: list[str]) -> pd.Series:
    """The alphabetical ';'-joined techniques of each series (pairs sorted by series, code).

    A series' set of codes is read as a bit mask; each distinct mask is joined once.
    """
    if len(sk) == 0:
        return pd.Series([], dtype=object)
    starts = np.r_[True, sk[1:] != sk[:-1]]  # `sk` is sorted: no sort to find the series
    series, at = sk[starts], np.cumsum(starts) - 1
    if len(names) > 52:  # bit masks as exact float sums hold 52 bits
        technique = pd.Series(np.asarray(names, dtype=object)[code])
        values = technique.groupby(at).agg(";".join).to_numpy(object)
    else:
        masks = np.bincount(at, weights=np.ldexp(1.0, code)).astype(np.int64)
        which, distinct = pd.factorize(masks)  # each distinct set once, by hashing
        joined = [";".join(n for i, n in enumerate(names) if mask >> i & 1) for mask in distinct]
        values = np.asarray(joined, dtype=object)[which]
    return pd.Series(values, index=pd.Index(series, name="sk"))


def _report_values(attended: pd.DataFrame, measure: Measure) -> np.ndarray:
    """Each attended session's report of `measure` (a 7-day count scaled by 4 to 28 days)."""
    values = np.full(len(attended), np.nan)
    if measure.session_column is not None:
        values = attended[measure.session_column].to_numpy(float)
    if measure.weekly_column is not None:
        weekly = 4 * attended[measure.weekly_column].to_numpy(float)
        values = np.where(np.isnan(values), weekly, values)
    return values


def _measure_frame(
    attended: pd.DataFrame, measure: Measure, intake: pd.Series, point: TimePoint | None = None
) -> pd.DataFrame:
    """Baseline, latest (or the value at `point`) and (pain, hd28) response timing of one
    measure, per series (`intake`'s index: the series keys 0, 1, ... in order).

    Numpy over the attended sessions, which are sorted by series key: a series' first and last
    rows are found where the key changes, not by grouping.
    """
    key = measure.key
    values = _report_values(attended, measure)
    has = ~np.isnan(values)
    sk = attended["sk"].to_numpy(np.int64)[has]
    visit = attended["visit"].to_numpy(np.int64)[has]
    day = attended["day"].to_numpy(np.int64)[has]
    values = values[has]
    n = len(intake)
    given = intake.to_numpy(float)
    from_intake = ~np.isnan(given)
    first = _first_per_group(sk, n)
    baseline = np.where(from_intake, given, _take(values, first))
    baseline_visit = np.where(from_intake, 0.0, _take(visit.astype(float), first))
    follow = (visit >= 2) & (visit > baseline_visit[sk])
    f_sk, f_visit, f_day, level = sk[follow], visit[follow], day[follow], values[follow]
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
        latest = _level_at(frame, point).reindex(intake.index).to_numpy(float)
    out = pd.DataFrame(
        {
            f"{key}_baseline": baseline,
            f"{key}_baseline_from": pd.Series(source, index=intake.index, dtype=object),
            f"{key}_latest": latest,
        },
        index=intake.index,
    )
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
        starts = np.r_[True, groups[1:] != groups[:-1]]
        first[groups[starts]] = np.flatnonzero(starts)
    return first


def _last_per_group(groups: np.ndarray, n: int) -> np.ndarray:
    """Index (into sorted `groups`) of each of the n groups' last row, -1 where none."""
    last = np.full(n, -1, dtype=np.int64)
    if len(groups):
        ends = np.r_[groups[1:] != groups[:-1], True]
        last[groups[ends]] = np.flatnonzero(ends)
    return last


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


def _add_changes(out: pd.DataFrame, reference: ReferenceValues) -> pd.DataFrame:
    """Change, percent change, reliable change index and change label of every measure."""
    columns: dict[str, pd.Series] = {}
    grades = _midas_grades(out)
    for measure in MEASURES:
        key = measure.key
        baseline, latest = out[f"{key}_baseline"], out[f"{key}_latest"]
        change = latest - baseline
        pct = 100 * change / baseline.where(baseline > 0)
        rci = change / reference.change_error(key)
        reliable = _flag(rci.abs() > config.RELIABLE_CHANGE_Z, rci.notna())
        better, worse = _meaningful(key, baseline, change, pct, grades)
        direction = -1.0 if measure.lower_is_better else 1.0
        columns[f"{key}_change"] = change
        columns[f"{key}_pct_change"] = pct
        columns[f"{key}_rci"] = rci
        columns[f"{key}_reliable"] = reliable
        columns[f"{key}_change_label"] = _change_label(change * direction, reliable, better, worse)
    return out.assign(**columns, **grades)


def _midas_grades(out: pd.DataFrame) -> dict[str, pd.Series]:
    """MIDAS grades I-IV as 1-4 at baseline and latest (Stewart 2001), and their change."""
    bounds = [-np.inf, *config.MIDAS_GRADE_UPPER_BOUNDS, np.inf]

    def grade(values: pd.Series) -> pd.Series:
        return pd.cut(values, bins=bounds, labels=[1.0, 2.0, 3.0, 4.0]).astype(float)

    baseline, latest = grade(out["midas_baseline"]), grade(out["midas_latest"])
    return {
        "midas_grade_baseline": baseline,
        "midas_grade_latest": latest,
        "midas_grade_change": latest - baseline,
    }


def _meaningful(
    key: str,
    baseline: pd.Series,
    change: pd.Series,
    pct: pd.Series,
    grades: dict[str, pd.Series],
) -> tuple[pd.Series | None, pd.Series | None]:
    """Meaningful improvement and worsening of `key`, or None where no threshold is published."""
    if key == "hd28":  # IHS: 50 % fewer headache days; the same rise counts as worsening.
        limit = 100 * config.HD28_RESPONDER_FRACTION
        return _flag(pct <= -limit + EPS, pct.notna()), _flag(pct >= limit - EPS, pct.notna())
    if key == "pain":  # IMMPACT / Farrar 2001: 30 %; the same rise counts as worsening.
        better = pain_reduced(change, baseline, config.PAIN_MODERATE_FRACTION)
        worse = pain_reduced(-change, baseline, config.PAIN_MODERATE_FRACTION)
        return _flag(better, pct.notna()), _flag(worse, pct.notna())
    if key == "hit6":  # Houts 2020 / Smelt 2014: 6 points for an individual.
        points = config.HIT6_MEANINGFUL_POINTS
        return _flag(change <= -points + EPS, change.notna()), _flag(
            change >= points - EPS, change.notna()
        )
    if key == "midas":  # one MIDAS grade (Stewart 2001).
        step = grades["midas_grade_change"]
        return _flag(step <= -1, step.notna()), _flag(step >= 1, step.notna())
    return None, None


def _flag(condition: pd.Series, valid: pd.Series) -> pd.Series:
    """`condition` as a nullable boolean, NA where the rule cannot be applied."""
    return condition.astype("boolean").where(valid.astype(bool), pd.NA)


def _change_label(
    improvement: pd.Series,
    reliable: pd.Series,
    better: pd.Series | None,
    worse: pd.Series | None,
) -> pd.Series:
    """Plain-language change label; improvement is the change signed so that > 0 is better.

    Where reliable change cannot be computed and the change is not meaningful, the label is
    NOT_JUDGED, never "no clear change": nobody could check there was none.
    """
    false = np.zeros(len(improvement), dtype=bool)
    reliable_ = reliable.fillna(False).to_numpy(bool)
    better_ = false if better is None else better.fillna(False).to_numpy(bool)
    worse_ = false if worse is None else worse.fillna(False).to_numpy(bool)
    value = improvement.to_numpy(float)
    up, down = reliable_ & (value > 0), reliable_ & (value < 0)
    unknown = reliable.isna().to_numpy()
    # The rule picks a label's position; the labels are Python strings taken once each.
    which = np.select(
        [better_ & up, better_, up, worse_ & down, worse_, down, unknown],
        range(len(CHANGE_LABELS) + 1),
        default=len(CHANGE_LABELS) + 1,
    )
    label = np.array([*CHANGE_LABELS, NOT_JUDGED, NO_CLEAR_CHANGE], dtype=object)[which]
    return pd.Series(label, index=improvement.index, dtype=object).where(improvement.notna())


def _add_flags(out: pd.DataFrame) -> pd.DataFrame:
    """Responder flags (IHS, IMMPACT, HIT-6, MIDAS) and the intake risk flags."""
    hd28, pain = out["hd28_pct_change"], out["pain_pct_change"]
    hd28_ok, pain_ok = hd28.notna(), pain.notna()
    flags = {
        f"hd28_responder_{round(100 * f)}": _flag(hd28 <= -100 * f + EPS, hd28_ok)
        for f in (config.HD28_RESPONDER_FRACTION, *config.HD28_SECONDARY_FRACTIONS)
    }
    flags["pain_responder_30"] = _flag(
        pain_reduced(out["pain_change"], out["pain_baseline"], config.PAIN_MODERATE_FRACTION),
        pain_ok,
    )
    flags["pain_responder_50"] = _flag(
        pain <= -100 * config.PAIN_SUBSTANTIAL_FRACTION + EPS, pain_ok
    )
    hit6 = out["hit6_change"]
    flags["hit6_responder"] = _flag(hit6 <= -config.HIT6_MEANINGFUL_POINTS + EPS, hit6.notna())
    # Grade I cannot improve by a grade, so it is left out like a baseline of 0.
    step = out["midas_grade_change"]
    flags["midas_responder"] = _flag(step <= -1, step.notna() & (out["midas_grade_baseline"] > 1))
    hd28_base, medication = out["hd28_baseline"], out["medication_days_baseline"]
    # ICHD-3 (2018) 1.3 / 2.3 chronic: >= 15 headache days per month.
    flags["chronic_headache"] = _flag(hd28_base >= config.CHRONIC_HEADACHE_DAYS, hd28_base.notna())
    # ICHD-3 8.2: >= 10 days (triptans, combination analgesics ...) or >= 15 (simple analgesics).
    flags["possible_medication_overuse"] = _flag(
        medication >= config.MEDICATION_OVERUSE_DAYS_ANY, medication.notna()
    )
    flags["medication_overuse"] = _flag(
        medication >= config.MEDICATION_OVERUSE_DAYS_SIMPLE, medication.notna()
    )
    return out.assign(**flags)

"""Hand-made client and session frames for the analysis tests, in the data layer's shape."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from practice.series import assign_series

CLIENT_DEFAULTS: dict[str, Any] = {
    "client_name": "Test Client",
    "intake_date": "2025-01-06",
    "birth_year": 1980.0,
    "sex": "female",
    "headache_type": "migraine",
    "headache_years": 10.0,
    "baseline_pain": np.nan,
    "baseline_headache_days_28d": np.nan,
    "baseline_medication_days_28d": np.nan,
    "baseline_hit6": np.nan,
    "baseline_midas": np.nan,
    "baseline_stress": np.nan,
    "baseline_sleep_quality": np.nan,
    "baseline_source": "recall",
    "triggers": pd.NA,
    "referral_source": "GP",
}
SESSION_DEFAULTS: dict[str, Any] = {
    "therapist": "Ana",
    "series_code": pd.NA,
    "status": "attended",
    "duration_min": 60.0,
    "pressure": "moderate",
    "pain_pre": np.nan,
    "pain_post": np.nan,
    "headache_days_7d": np.nan,
    "headache_days_28d": np.nan,
    "medication_days_7d": np.nan,
    "hit6": np.nan,
    "midas": np.nan,
    "stress": np.nan,
    "sleep_quality": np.nan,
    "techniques": "trigger_point",
}


def make_clients(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A clients frame: each row's values over CLIENT_DEFAULTS, dates as datetime64."""
    frame = pd.DataFrame([{**CLIENT_DEFAULTS, **row} for row in rows])
    if frame.empty:
        frame = pd.DataFrame(columns=["client_id", *CLIENT_DEFAULTS])
    frame["intake_date"] = pd.to_datetime(frame["intake_date"])
    return frame


def make_sessions(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A sessions frame: rows over SESSION_DEFAULTS, ids 1.., series numbers by the default gap.

    A row may give `day` (days after 2025-01-06) instead of `session_date`.
    """
    records = []
    for row in rows:
        record = {**SESSION_DEFAULTS, **row}
        if "day" in record:
            record["session_date"] = pd.Timestamp("2025-01-06") + pd.Timedelta(
                days=record.pop("day")
            )
        records.append(record)
    frame = pd.DataFrame(records)
    if frame.empty:
        columns = ["session_id", "client_id", "session_date", "series_number", *SESSION_DEFAULTS]
        frame = pd.DataFrame(columns=columns)
        frame["session_date"] = pd.to_datetime(frame["session_date"])
        return frame
    frame["session_date"] = pd.to_datetime(frame["session_date"])
    frame.insert(0, "session_id", np.arange(1, len(frame) + 1))
    frame["series_number"] = assign_series(frame)
    return frame


def weekly(client_id: str, values: Mapping[str, Iterable[float]], **fixed: Any) -> list[dict]:
    """Weekly attended sessions (day 0, 7, 14, ...) of one client with per-session score lists."""
    columns = {name: list(series) for name, series in values.items()}
    n = len(next(iter(columns.values())))
    return [
        {"client_id": client_id, "day": 7 * i, **{k: v[i] for k, v in columns.items()}, **fixed}
        for i in range(n)
    ]


def split_practice(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clients and sessions frames of a canonical CSV frame (intake repeated per row)."""
    intake = [
        "client_id",
        "client_name",
        "intake_date",
        "birth_year",
        "sex",
        "headache_type",
        "headache_years",
        "baseline_pain",
        "baseline_headache_days_28d",
        "baseline_medication_days_28d",
        "baseline_hit6",
        "baseline_midas",
        "baseline_stress",
        "baseline_sleep_quality",
        "baseline_source",
        "triggers",
        "referral_source",
    ]
    clients = frame[intake].drop_duplicates("client_id").reset_index(drop=True)
    clients["intake_date"] = pd.to_datetime(clients["intake_date"])
    clients["birth_year"] = clients["birth_year"].astype(float)
    session_columns = [
        "client_id",
        "therapist",
        "session_date",
        "status",
        "duration_min",
        "pressure",
        "pain_pre",
        "pain_post",
        "headache_days_7d",
        "headache_days_28d",
        "medication_days_7d",
        "hit6",
        "midas",
        "stress",
        "sleep_quality",
        "techniques",
    ]
    sessions = frame[session_columns].copy()
    sessions.insert(0, "session_id", np.arange(1, len(frame) + 1))
    sessions["series_code"] = frame["series_id"]
    sessions["session_date"] = pd.to_datetime(sessions["session_date"])
    sessions["techniques"] = sessions["techniques"].fillna("")
    sessions["series_number"] = assign_series(sessions)
    return clients, sessions


def synthetic_practice(n_clients: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A large practice from practice.sample when it exists, else drawn here with numpy."""
    try:
        from practice.sample import generate_practice
    except ImportError:
        return _numpy_practice(n_clients, seed)
    return split_practice(generate_practice(n_clients, seed=seed))


def _numpy_practice(n_clients: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """About 6.5 weekly sessions per client with declining scores, all vectorised."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("C", np.char.zfill(np.arange(n_clients).astype(str), 6))
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 500, n_clients), "D")
    clients = pd.DataFrame(
        {
            "client_id": ids,
            "client_name": "Client",
            "intake_date": start,
            "birth_year": rng.integers(1940, 2005, n_clients).astype(float),
            "sex": rng.choice(["female", "male"], n_clients, p=[0.75, 0.25]),
            "headache_type": rng.choice(["migraine", "tension_type", "cervicogenic"], n_clients),
            "headache_years": rng.integers(1, 30, n_clients).astype(float),
            "baseline_pain": rng.integers(3, 10, n_clients).astype(float),
            "baseline_headache_days_28d": rng.integers(2, 25, n_clients).astype(float),
            "baseline_medication_days_28d": rng.integers(0, 15, n_clients).astype(float),
        }
    )
    n_sessions = rng.integers(1, 13, n_clients)
    client = np.repeat(np.arange(n_clients), n_sessions)
    visit = np.arange(len(client)) - np.repeat(np.cumsum(n_sessions) - n_sessions, n_sessions)
    fade = 1 - 0.05 * visit
    sessions = pd.DataFrame(
        {
            "session_id": np.arange(1, len(client) + 1),
            "client_id": ids[client],
            "therapist": rng.choice(["Ana", "Ben", "Cleo", "Dev", "Eli", "Fay"], len(client)),
            "series_code": pd.NA,
            "session_date": start[client] + pd.to_timedelta(7 * visit, "D"),
            "status": rng.choice(
                ["attended", "no_show", "cancelled"], len(client), p=[0.9, 0.05, 0.05]
            ),
            "pain_pre": np.clip(clients["baseline_pain"].to_numpy()[client] * fade, 0, 10),
            "pain_post": np.clip(clients["baseline_pain"].to_numpy()[client] * fade - 2, 0, 10),
            "headache_days_7d": rng.integers(0, 7, len(client)).astype(float),
            "medication_days_7d": rng.integers(0, 4, len(client)).astype(float),
            "techniques": rng.choice(
                ["trigger_point", "swedish;stretching", "craniosacral"], len(client)
            ),
        }
    )
    sessions["series_number"] = assign_series(sessions)
    return clients, sessions


class Stopwatch:
    """Elapsed wall-clock seconds of a `with` block."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def make_outcomes(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """An outcomes frame with every column of compute_client_outcomes; unspecified cells empty.

    Defaults: series 1, a completer, not a dropout, active, female, migraine, age 45.
    Responder flags and change columns are taken as given (not derived).
    """
    from practice.analysis import OUTCOME_COLUMNS

    defaults: dict[str, Any] = {
        "series_number": 1,
        "completer": True,
        "dropout": False,
        "active": True,
        "sex": "female",
        "headache_type": "migraine",
        "age_at_intake": 45.0,
        "headache_years": 10.0,
        "sessions_attended": 6,
        "therapist": "Ana",
        "primary_technique": "trigger_point",
    }
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    frame = frame.reindex(columns=OUTCOME_COLUMNS)
    flags = [c for c in OUTCOME_COLUMNS if "responder" in c or c.endswith("_reliable")]
    frame[flags] = frame[flags].astype("boolean")
    return frame

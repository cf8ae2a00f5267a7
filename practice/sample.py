"""A synthetic practice: reproducible, realistic sample data in the canonical CSV format.

`generate_practice` draws clients, their intake and their sessions from numpy's
`default_rng(seed)`, vectorised over clients and sessions (no Python loop per row), so 150,000
clients (close to a million sessions) take a few seconds. `data/sample.csv` is
`write_sample_csv(config.SAMPLE_CSV, 150, 20261122)`; a test keeps the file in step.

What is built in, so that tests and docs can rely on it:

* **The effect.** Among clients with tension-type headache whose main technique is trigger-point
  therapy (the first technique listed at every one of their sessions), the target reduction in
  headache days is 30 percentage points larger than it would otherwise be
  (`FAVOURED_EXTRA_REDUCTION`). In the default sample, among tension-type completers (>= 4
  sessions), their mean change in weekly headache days from first to last report is -63 %
  (15 clients) against -40 % for the others (21). Trigger-point work is the best-supported
  massage technique for tension-type headache (Moraska 2015; Ferragut-Garcias 2017). Sarah
  Okafor favours trigger-point therapy, so among tension-type clients she looks better too,
  through her case mix only. Responses are centred within headache type and this group, so
  each group's mean response is exactly its target; what varies between seeds is the diary
  noise, who drops out and how high baselines were (regression to the mean).
* **Regression to the mean** (Barnett 2005). Clients come at their worst: the long-run level
  of headache days is `5 + 0.7 * (baseline - 5)` per 28 days, so high baselines fall more in
  absolute terms before treatment does anything. On top of it every client has a personal
  target reduction (mean 45 %, sd 18 %) that builds up over the sessions of a series (63 % of
  it by the fourth). About 35-50 % of completers reach a >= 50 % reduction from the intake
  baseline.
* **Smaller, case-mix differences**: cluster headache responds least, medication overuse
  (>= 10 days per 28) blunts the response, and non-responders drop out more often.
* **Shape of the data.** About a quarter of clients attend fewer than 4 sessions; sessions are
  weekly or fortnightly with a few days' jitter (weekly plans taper to fortnightly after the
  sixth); ~5 % of clients return for a second series more than 90 days later; a few clients
  carry explicit series ids "S1"/"S2"; ~8 % of appointments are cancelled or no-shows, with a
  reason, the booked therapist, techniques and length, and no scores; HIT-6, MIDAS and 28-day
  headache days are asked at every fourth session; the sixth therapist joined late and has
  only a few clients; a colleague covers ~3 % of sessions; notes contain commas and quotes.
* **Locations.** Three clinics (`LOCATIONS`): each therapist works at one, and every session
  of a client is at their regular therapist's clinic, so a client has one location. Old Town
  (Ana Duarte and the newcomer) is the smallest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from practice.columns import COLUMNS, SESSION_NUMBER_COLUMNS
from practice.vocabulary import (
    BASELINE_SOURCES,
    HEADACHE_TYPES,
    PRESSURES,
    SEXES,
    STATUSES,
    TECHNIQUES,
)

Arrays = dict[str, np.ndarray]

DEFAULT_N_CLIENTS = 150
DEFAULT_SEED = 20261122
DEFAULT_START = dt.date(2025, 3, 1)
DEFAULT_MONTHS = 18

FAVOURED_HEADACHE_TYPE = "tension_type"
FAVOURED_TECHNIQUE = "trigger_point"
FAVOURED_EXTRA_REDUCTION = 0.30

MAX_SESSIONS = 12  # appointments per treatment series
LAST_INTAKE_MARGIN_DAYS = 21  # no intake in the last three weeks: everyone has a session
MEAN_HD28 = 5.0  # headache days per 28 of headache sufferers at large: where clients regress to
RTM_KEEP = 0.70  # share of a client's distance from that mean that persists after intake
RESPONSE_MEAN, RESPONSE_SD = 0.45, 0.18  # each client's target reduction in headache days
RESPONSE_SESSIONS = 3.0  # the response builds up as 1 - exp(-session / this)
WEEK_NOISE_SHAPE = 16.0  # gamma shape of the week-to-week swing in headache frequency
DIARY_SD = 0.35  # recording noise of a weekly headache-day count

TECHNIQUE_KEYS = tuple(TECHNIQUES)
HEADACHE_KEYS = tuple(HEADACHE_TYPES)
SEX_KEYS = tuple(SEXES)
PRESSURE_KEYS = tuple(PRESSURES)
STATUS_KEYS = tuple(STATUSES)
BASELINE_SOURCE_KEYS = tuple(BASELINE_SOURCES)  # diary, recall
ATTENDED, NO_SHOW, CANCELLED = (STATUS_KEYS.index(s) for s in ("attended", "no_show", "cancelled"))

# Each therapist's style: how much they use each technique (relative weights).
THERAPIST_STYLES: dict[str, dict[str, float]] = {
    "Sarah Okafor": {
        "trigger_point": 6,
        "neuromuscular": 2,
        "myofascial_release": 1.5,
        "stretching": 2,
        "swedish": 1,
        "deep_tissue": 1,
        "craniosacral": 0.3,
    },
    "Daniel Meyer": {
        "deep_tissue": 4,
        "neuromuscular": 3,
        "stretching": 2,
        "trigger_point": 1,
        "myofascial_release": 1,
        "swedish": 1,
        "craniosacral": 0.3,
    },
    "Priya Raman": {
        "craniosacral": 4,
        "myofascial_release": 3,
        "swedish": 1.5,
        "stretching": 1,
        "trigger_point": 0.6,
        "neuromuscular": 0.5,
        "deep_tissue": 0.3,
    },
    "James Whitfield": {
        "swedish": 4,
        "stretching": 3,
        "myofascial_release": 1,
        "trigger_point": 1,
        "neuromuscular": 1,
        "deep_tissue": 1,
        "craniosacral": 0.5,
    },
    "Ana Duarte": {
        "trigger_point": 2,
        "myofascial_release": 2,
        "craniosacral": 1.5,
        "neuromuscular": 2,
        "swedish": 2,
        "deep_tissue": 1.5,
        "stretching": 2,
    },
    "Lena Fischer": {
        "myofascial_release": 3,
        "stretching": 2,
        "trigger_point": 1,
        "craniosacral": 1,
        "swedish": 1,
        "neuromuscular": 1,
        "deep_tissue": 0.5,
    },
}
THERAPIST_NAMES = tuple(THERAPIST_STYLES)
REGULAR_SHARES = (0.27, 0.22, 0.20, 0.17, 0.14)  # of new clients, for the first five therapists
NEWCOMER_SHARE = 0.02  # the last therapist joined late: 2 % of clients, at least one
# A chain of three clinics. Each therapist works at one, and a client is seen at their regular
# therapist's clinic (a covering colleague comes to them). Derived, never drawn: the random
# stream, and with it every other figure of the sample, is the same as before locations existed.
LOCATIONS = ("Northside", "Harbour", "Old Town")
THERAPIST_LOCATION = np.array([0, 1, 0, 1, 2, 2])  # by THERAPIST_NAMES


class HeadacheProfile(NamedTuple):
    """How clients with one headache type present and respond."""

    share: float  # of new clients
    female: float  # share of women
    chronic: float  # share with >= 15 headache days per 28 (ICHD-3 1.3 / 2.3)
    episodic_days: float  # mean headache days per 28 of the others
    pain_shift: float  # added to the usual pain at intake
    response_shift: float  # added to the client's target reduction


# Shares follow the usual case mix of massage practices; sex ratios Stovner 2022 (GBD); cluster
# headache is male-dominated (ICHD-3 3.1); frequent episodic tension-type headache (ICHD-3 2.2)
# is what brings tension-type clients to a therapist.
HEADACHE_PROFILES: dict[str, HeadacheProfile] = {
    "migraine": HeadacheProfile(0.32, 0.80, 0.20, 6.0, 0.8, 0.0),
    "migraine_with_aura": HeadacheProfile(0.10, 0.80, 0.12, 5.0, 0.8, -0.05),
    "tension_type": HeadacheProfile(0.34, 0.65, 0.35, 9.0, -0.5, 0.0),
    "cervicogenic": HeadacheProfile(0.08, 0.60, 0.25, 8.0, 0.0, 0.05),
    "cluster": HeadacheProfile(0.03, 0.20, 0.30, 8.0, 2.0, -0.20),
    "mixed": HeadacheProfile(0.10, 0.75, 0.40, 9.0, 0.3, -0.03),
    "other": HeadacheProfile(0.03, 0.60, 0.20, 6.0, 0.0, -0.05),
}
# Which techniques therapists reach for more often for a headache type (weight multipliers).
TYPE_TECHNIQUE_BOOST: dict[str, dict[str, float]] = {
    "tension_type": {"trigger_point": 5.0},
    "cervicogenic": {"neuromuscular": 1.5, "stretching": 1.5, "myofascial_release": 1.3},
    "migraine": {"craniosacral": 1.5, "swedish": 1.3},
    "migraine_with_aura": {"craniosacral": 1.5, "swedish": 1.3},
}
# Usual pressure of each technique: 0 light, 1 moderate, 2 firm.
TECHNIQUE_PRESSURE = {
    "trigger_point": 1.4,
    "myofascial_release": 1.0,
    "craniosacral": 0.1,
    "neuromuscular": 1.3,
    "swedish": 0.6,
    "deep_tissue": 1.8,
    "stretching": 0.9,
}

TRIGGERS = {
    "stress": 0.62,
    "sleep": 0.45,
    "screen": 0.38,
    "posture": 0.35,
    "alcohol": 0.15,
    "menstrual": 0.40,
    "weather": 0.22,
    "caffeine": 0.10,
    "skipped_meals": 0.18,
}
SELF_CARE = {
    "stretching": 0.40,
    "heat": 0.30,
    "posture breaks": 0.30,
    "hydration": 0.20,
    "self-massage": 0.25,
    "relaxation breathing": 0.20,
    "screen breaks": 0.20,
    "sleep routine": 0.15,
}
REFERRALS = {
    "GP": 0.24,
    "Neurologist": 0.12,
    "Physiotherapist": 0.10,
    "Friend or family": 0.22,
    "Web search": 0.18,
    "Instagram": 0.06,
    "Dentist": 0.04,
    "Employer health plan": 0.04,
}
DURATIONS = {30.0: 0.10, 45.0: 0.25, 60.0: 0.50, 90.0: 0.15}

FEMALE_FIRST = (
    "Anna",
    "Emma",
    "Sophie",
    "Laura",
    "Julia",
    "Hannah",
    "Maria",
    "Olivia",
    "Chloe",
    "Grace",
    "Amelia",
    "Isabel",
    "Zoe",
    "Nora",
    "Leah",
    "Mia",
    "Ruth",
    "Ines",
    "Fatima",
    "Aisha",
    "Mei",
    "Claire",
    "Eva",
    "Lucy",
)
MALE_FIRST = (
    "James",
    "Lukas",
    "Thomas",
    "Ben",
    "Omar",
    "David",
    "Samuel",
    "Leo",
    "Marco",
    "Jonas",
    "Ravi",
    "Peter",
    "Adam",
)
NEUTRAL_FIRST = (
    "Alex",
    "Sam",
    "Robin",
    "Charlie",
    "Kim",
    "Jordan",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Evans",
    "Walker",
    "Wright",
    "Green",
    "Hall",
    "Wood",
    "Clarke",
    "Patel",
    "Khan",
    "Nguyen",
    "Murphy",
    "Kelly",
    "Schmidt",
    "Rossi",
    "Novak",
    "Jansen",
    "Silva",
    "Berg",
    "Lee",
    "Martin",
    "Moore",
    "O'Brien",
    "Costa",
    "Ahmed",
    "Lindqvist",
)

NOTES = (
    "Tight suboccipitals, R > L",
    'Client said "best week in months"',
    "Upper trapezius trigger points; referred pain to the temple",
    "Headache started mid-session, finished with light work",
    "Jaw clenching, suggested a night-guard check with the dentist",
    'Reports "pressure behind the eyes" on waking',
    "Long drive last week, neck stiff",
    "Started a new preventive (per neurologist)",
    "Attack on Tuesday after a late night",
    "Less screen time at work, fewer afternoon headaches",
)
CANCEL_REASONS = (
    "Unwell",
    "Work conflict",
    "Childcare, rebooked",
    "Migraine attack on the day",
    "Travel",
    "Weather",
)
NO_SHOW_REASONS = ("No reply to reminder", "Forgot", "Did not attend, no reason given")


def generate_practice(
    n_clients: int = DEFAULT_N_CLIENTS,
    *,
    seed: int = DEFAULT_SEED,
    start: dt.date = DEFAULT_START,
    months: int = DEFAULT_MONTHS,
) -> pd.DataFrame:
    """A synthetic practice in the canonical CSV format: one row per session, by client and date."""
    if n_clients < 1:
        raise ValueError(f"n_clients must be at least 1, got {n_clients}")
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    rng = np.random.default_rng(seed)
    n_days = count_window_days(start, months)
    clients = _draw_clients(rng, n_clients, n_days, start)
    rows = _draw_schedule(rng, clients, n_days)
    rows |= _draw_scores(rng, clients, rows)
    rows |= _draw_session_details(rng, clients, rows)
    return _build_frame(clients, rows, start, n_days)


def write_sample_csv(
    path: Path, n_clients: int = DEFAULT_N_CLIENTS, seed: int = DEFAULT_SEED
) -> int:
    """Write a synthetic practice to `path` as CSV; return the number of rows written."""
    frame = generate_practice(n_clients, seed=seed)
    frame.to_csv(path, index=False)
    return len(frame)


def count_window_days(start: dt.date, months: int) -> int:
    """Days from `start` to the same day `months` later, the last day a session may fall on."""
    end = (pd.Timestamp(start) + pd.DateOffset(months=months)).date()
    return (end - start).days


def _draw_clients(rng: np.random.Generator, n: int, n_days: int, start: dt.date) -> Arrays:
    """Everything known about each client at intake, plus their (hidden) care plan."""
    clients = _draw_demographics(rng, n, n_days, start)
    clients |= _draw_baselines(rng, clients)
    clients |= _draw_care_plan(rng, clients)
    return clients


def _draw_demographics(rng: np.random.Generator, n: int, n_days: int, start: dt.date) -> Arrays:
    """Intake day, headache type, sex, age, name, triggers and referral of each client."""
    kind = rng.choice(len(HEADACHE_KEYS), size=n, p=_profile("share"))
    u = rng.random(n)
    sex = np.where(u < 0.015, 2, np.where(u < 0.015 + 0.985 * _profile("female")[kind], 0, 1))
    intake_day = rng.integers(0, n_days - LAST_INTAKE_MARGIN_DAYS + 1, size=n)
    intake_year = (np.datetime64(start, "D") + intake_day).astype("datetime64[Y]").astype(int)
    age = np.clip(np.round(rng.normal(42, 12.5, n)), 18, 75).astype(int)
    years = np.clip(np.minimum(age - 8, np.round(rng.gamma(2.0, 6.0, n))), 0, None)
    triggers = rng.random((n, len(TRIGGERS))) < np.array(list(TRIGGERS.values()))
    triggers[:, list(TRIGGERS).index("menstrual")] &= sex == 0
    return {
        "client_id": _format_client_ids(n),
        "client_name": _draw_names(rng, sex),
        "intake_day": intake_day,
        "kind": kind,
        "sex": sex,
        "birth_year": intake_year + 1970 - age,
        "headache_years": np.where(rng.random(n) < 0.03, np.nan, years + 0.0),
        "triggers": _encode_flags(triggers),
        "stress_trigger": triggers[:, list(TRIGGERS).index("stress")],
        "sleep_trigger": triggers[:, list(TRIGGERS).index("sleep")],
        "referral_source": _draw_codes(rng, REFERRALS, n),
    }


def _draw_baselines(rng: np.random.Generator, c: Arrays) -> Arrays:
    """Intake scores: headache and medication days, pain, HIT-6, MIDAS, stress and sleep."""
    n = len(c["kind"])
    chronic = rng.random(n) < _profile("chronic")[c["kind"]]
    episodic = 1 + rng.binomial(13, (_profile("episodic_days")[c["kind"]] - 1) / 13)
    hd28 = np.where(chronic, 15 + rng.binomial(13, 0.35, n), episodic)
    med_share = rng.beta(4, 3, n)
    pain = _round_clip(rng.normal(6.0 + _profile("pain_shift")[c["kind"]], 1.4), 1, 10, step=0.5)
    hit6 = _round_clip(44 + 0.55 * hd28 + 1.6 * pain + rng.normal(0, 3.5, n), 36, 78)
    disability = rng.beta(2, 3, n) * (0.6 + pain / 15)
    midas = _round_clip(hd28 * 3 * disability, 0, 270)
    stress = _round_clip(rng.normal(5.3 + 1.3 * c["stress_trigger"], 1.8), 0, 10)
    sleep = _round_clip(rng.normal(5.4 - 1.2 * c["sleep_trigger"], 1.8), 0, 10)
    no_wellbeing = rng.random(n) < 0.08  # clients who never rate stress and sleep
    return {
        "hd28": hd28 + 0.0,
        "med28": rng.binomial(hd28, med_share) + 0.0,
        "med_share": med_share,
        "pain": pain,
        "hit6": hit6,
        "midas": midas,
        "stress": np.where(no_wellbeing, np.nan, stress),
        "sleep": np.where(no_wellbeing, np.nan, sleep),
        "baseline_hit6": np.where(rng.random(n) < 0.06, np.nan, hit6),
        "baseline_midas": np.where(rng.random(n) < 0.12, np.nan, midas),
        "baseline_source": (rng.random(n) >= 0.35).astype(int),  # 0 diary, 1 recall
    }


def _draw_care_plan(rng: np.random.Generator, c: Arrays) -> Arrays:
    """Therapist, main technique, cadence, length of treatment and response of each client."""
    n = len(c["kind"])
    therapist = _assign_therapists(rng, c["intake_day"])
    main = _choose_rows(rng, _technique_weights(therapist, c["kind"]))
    favoured = (c["kind"] == HEADACHE_KEYS.index(FAVOURED_HEADACHE_TYPE)) & (
        main == TECHNIQUE_KEYS.index(FAVOURED_TECHNIQUE)
    )
    # Medication overuse blunts the response to any preventive (ICHD-3 8.2; Diener 2019).
    penalty = 0.08 * (c["med28"] >= 10) - _profile("response_shift")[c["kind"]]
    # Centred within headache type and favoured group, so each group's mean response is its
    # target exactly (a variance reduction for small samples); the individual spread remains.
    spread = _centre_within(rng.normal(0, RESPONSE_SD, n), c["kind"] * 2 + favoured)
    response = RESPONSE_MEAN + spread + FAVOURED_EXTRA_REDUCTION * favoured
    response = np.clip(response - penalty, -0.3, 0.95)
    dropout = rng.random(n) < np.where(response < 0.2, 0.36, 0.21)
    returns = ~dropout & (rng.random(n) < 0.09)
    return {
        "therapist": therapist,
        "main": main,
        "response": response,
        "level28": MEAN_HD28 + RTM_KEEP * (c["hd28"] - MEAN_HD28),
        "relapse": rng.uniform(0.75, 1.0, n),
        "cadence": np.where(rng.random(n) < 0.6, 7, 14),
        "duration": np.array(list(DURATIONS))[_draw_codes(rng, DURATIONS, n)],
        "n_slots": np.where(dropout, rng.integers(1, 4, n), 4 + rng.binomial(8, 0.45, n)),
        "returns": returns,
        "explicit_series": rng.random(n) < np.where(returns, 0.4, 0.03),
    }


def _assign_therapists(rng: np.random.Generator, intake_day: np.ndarray) -> np.ndarray:
    """Therapist of each client; the newcomer takes a few clients from the last quarter."""
    n = len(intake_day)
    newcomer = len(THERAPIST_NAMES) - 1
    therapist = rng.choice(newcomer, size=n, p=REGULAR_SHARES)
    late = np.flatnonzero(intake_day >= np.quantile(intake_day, 0.75))
    count = min(len(late), max(1, round(NEWCOMER_SHARE * n)))
    therapist[rng.choice(late, size=count, replace=False)] = newcomer
    return therapist


def _technique_weights(therapist: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Weight of each technique as main technique: therapist style times headache-type boost."""
    boost = np.array(
        [
            [TYPE_TECHNIQUE_BOOST.get(h, {}).get(k, 1.0) for k in TECHNIQUE_KEYS]
            for h in HEADACHE_KEYS
        ]
    )
    return STYLE_WEIGHTS[therapist] * boost[kind]


def _draw_schedule(rng: np.random.Generator, c: Arrays, n_days: int) -> Arrays:
    """One row per appointment: client, series, slot in the series, day and status."""
    n = len(c["kind"])
    first_day = c["intake_day"] + np.where(rng.random(n) < 0.6, 0, rng.integers(1, 11, n))
    days1 = _draw_slot_days(rng, first_day, c["cadence"])
    # A returning client comes back 95-220 days after their last session: a new series.
    restart = days1[np.arange(n), c["n_slots"] - 1] + rng.integers(95, 221, n)
    days2 = _draw_slot_days(rng, restart, c["cadence"])
    n_slots2 = np.where(c["returns"], 2 + rng.binomial(6, 0.5, n), 0)
    slot = np.arange(MAX_SESSIONS)
    keep1 = (slot < c["n_slots"][:, None]) & (days1 <= n_days)
    keep2 = (slot < n_slots2[:, None]) & (days2 <= n_days)
    client1, slot1 = np.nonzero(keep1)
    client2, slot2 = np.nonzero(keep2)
    rows = {
        "ci": np.concatenate([client1, client2]),
        "slot": np.concatenate([slot1, slot2]),
        "series": np.repeat([0, 1], [len(client1), len(client2)]),
        "day": np.concatenate([days1[keep1], days2[keep2]]),
    }
    order = np.lexsort((rows["day"], rows["ci"]))
    rows = {key: values[order] for key, values in rows.items()}
    rows["status"] = _draw_status(rng, rows["slot"])
    return rows


def _draw_slot_days(
    rng: np.random.Generator, first_day: np.ndarray, cadence: np.ndarray
) -> np.ndarray:
    """Day of each of the MAX_SESSIONS possible appointments, weekly or fortnightly, jittered."""
    n = len(first_day)
    later = np.arange(1, MAX_SESSIONS) >= 6
    # Weekly plans usually taper to fortnightly once the client is improving.
    gap = np.where((cadence[:, None] == 7) & later, 14, cadence[:, None])
    gap = gap + rng.integers(-2, 3, size=(n, MAX_SESSIONS - 1))
    offsets = np.concatenate([np.zeros((n, 1), dtype=int), np.cumsum(gap, axis=1)], axis=1)
    return first_day[:, None] + offsets


def _draw_status(rng: np.random.Generator, slot: np.ndarray) -> np.ndarray:
    """Status per appointment: ~5 % cancelled, ~3 % no-show; a series' first is attended."""
    u = rng.random(len(slot))
    status = np.where(u < 0.05, CANCELLED, np.where(u < 0.08, NO_SHOW, ATTENDED))
    return np.where(slot == 0, ATTENDED, status)


def _draw_scores(rng: np.random.Generator, c: Arrays, rows: Arrays) -> Arrays:
    """Scores of each attended session; NaN for missed ones and ~3 % missing at random."""
    ci, n = rows["ci"], len(rows["ci"])
    gain = c["response"][ci] * (1 - np.exp(-rows["slot"] / RESPONSE_SESSIONS))
    checkin = rows["slot"] % 4 == 3  # HIT-6, MIDAS and 28-day counts about once a month
    scores = _draw_diary(rng, c, rows, gain, checkin)
    pain_pre = _round_clip(
        c["pain"][ci] * (1 - 0.5 * gain) + rng.normal(-0.8, 1.5, n), 0, 10, step=0.5
    )
    pain_pre = np.where(rng.random(n) < 0.07, 0.0, pain_pre)  # pain-free on the day
    # Immediate relief after a session: mostly 1-3 points, now and then none.
    pain_post = _round_clip(pain_pre - rng.normal(1.9, 0.8, n), 0, 10, step=0.5)
    hit6 = 36 + (c["hit6"][ci] - 36) * (1 - 0.45 * gain) + rng.normal(0, 2.5, n)
    midas = c["midas"][ci] * (1 - 0.8 * gain) * rng.gamma(6.0, 1 / 6, n)
    scores |= {
        "pain_pre": pain_pre,
        "pain_post": pain_post,
        "hit6": np.where(checkin, _round_clip(hit6, 36, 78), np.nan),
        "midas": np.where(checkin, _round_clip(midas, 0, 270), np.nan),
        "stress": _round_clip(c["stress"][ci] - 1.5 * gain + rng.normal(0, 1.2, n), 0, 10),
        "sleep_quality": _round_clip(c["sleep"][ci] + 1.2 * gain + rng.normal(0, 1.2, n), 0, 10),
    }
    missing = (rows["status"] != ATTENDED)[:, None] | (rng.random((n, len(scores))) < 0.03)
    return {
        name: np.where(missing[:, j], np.nan, values)
        for j, (name, values) in enumerate(scores.items())
    }


def _draw_diary(
    rng: np.random.Generator, c: Arrays, rows: Arrays, gain: np.ndarray, checkin: np.ndarray
) -> Arrays:
    """Headache and medication days of the past week (and past 28 days at check-ins)."""
    ci, n = rows["ci"], len(rows["ci"])
    level = c["level28"][ci] * np.where(rows["series"] == 1, c["relapse"][ci], 1.0)
    swing = rng.gamma(WEEK_NOISE_SHAPE, 1 / WEEK_NOISE_SHAPE, n)
    chance = np.clip(level / 28 * (1 - gain) * swing, 0, 0.95)  # of a headache on a given day
    hd7 = _round_clip(7 * chance + rng.normal(0, DIARY_SD, n), 0, 7)
    earlier = _round_clip(21 * chance + rng.normal(0, 2 * DIARY_SD, n), 0, 21)
    treated = np.clip(c["med_share"][ci] * (1 - 0.3 * gain), 0, 1)
    return {
        "headache_days_7d": hd7,
        "headache_days_28d": np.where(checkin, hd7 + earlier, np.nan),
        "medication_days_7d": rng.binomial(hd7.astype(int), treated) + 0.0,
    }


def _draw_session_details(rng: np.random.Generator, c: Arrays, rows: Arrays) -> Arrays:
    """Therapist, techniques, duration, pressure, self-care, notes and cancel reason (codes)."""
    ci, n = rows["ci"], len(rows["ci"])
    attended = rows["status"] == ATTENDED
    therapist, main = c["therapist"][ci], c["main"][ci]
    n_regular = len(REGULAR_SHARES)
    cover = attended & (rng.random(n) < 0.03)  # a colleague covers a session now and then
    cover_by = (therapist + rng.integers(1, n_regular, n)) % n_regular
    pressure = np.clip(np.round(PRESSURE_LEVELS[main] + rng.normal(0, 0.45, n)), 0, 2)
    advised = attended & (rng.random(n) < 0.6)
    self_care = rng.random((n, len(SELF_CARE))) < np.array(list(SELF_CARE.values()))
    usual = rng.random(n) < 0.85
    duration = np.where(
        usual, c["duration"][ci], np.array(list(DURATIONS))[_draw_codes(rng, DURATIONS, n)]
    )
    return {
        "therapist": np.where(cover, cover_by, therapist),
        "techniques": _draw_techniques(rng, main, therapist),
        "duration_min": duration,
        "pressure": np.where(attended, pressure.astype(int), -1),
        "self_care": _encode_flags(self_care & advised[:, None]),
        "notes": _draw_notes(rng, attended),
        "cancel_reason": _draw_cancel_reasons(rng, rows["status"]),
    }


def _draw_techniques(
    rng: np.random.Generator, main: np.ndarray, therapist: np.ndarray
) -> np.ndarray:
    """Code into TECHNIQUE_LABELS: the client's main technique plus 0-2 more from the style."""
    n = len(main)
    # Gumbel-top-k: the largest log-weight + Gumbel keys are a weighted draw without replacement.
    keys = np.log(STYLE_WEIGHTS[therapist]) + rng.gumbel(size=(n, len(TECHNIQUE_KEYS)))
    keys[np.arange(n), main] = -np.inf
    top = np.argsort(-keys, axis=1)[:, :2]
    n_extra = rng.choice(3, size=n, p=(0.3, 0.45, 0.25))
    mask = np.where(n_extra >= 1, 1 << top[:, 0], 0) | np.where(n_extra >= 2, 1 << top[:, 1], 0)
    return main * (1 << len(TECHNIQUE_KEYS)) + mask


def _draw_notes(rng: np.random.Generator, attended: np.ndarray) -> np.ndarray:
    """Code into NOTES for ~12 % of attended sessions, -1 (no note) elsewhere."""
    n = len(attended)
    note = rng.integers(0, len(NOTES), n)
    return np.where(attended & (rng.random(n) < 0.12), note, -1)


def _draw_cancel_reasons(rng: np.random.Generator, status: np.ndarray) -> np.ndarray:
    """Code into CANCEL_REASONS + NO_SHOW_REASONS for missed appointments, -1 for attended."""
    n = len(status)
    cancelled = rng.integers(0, len(CANCEL_REASONS), n)
    no_show = len(CANCEL_REASONS) + rng.integers(0, len(NO_SHOW_REASONS), n)
    return np.where(status == CANCELLED, cancelled, np.where(status == NO_SHOW, no_show, -1))


def _build_frame(c: Arrays, rows: Arrays, start: dt.date, n_days: int) -> pd.DataFrame:
    """The canonical columns, in order, from client and session arrays."""
    ci = rows["ci"]
    dates = pd.date_range(start, periods=n_days + 1).strftime("%Y-%m-%d")
    series = np.where(c["explicit_series"][ci], rows["series"], -1)
    texts = {
        "client_id": (c["client_id"], ci),
        "client_name": (c["client_name"], ci),
        "intake_date": (dates, c["intake_day"][ci]),
        "sex": (SEX_KEYS, c["sex"][ci]),
        "headache_type": (HEADACHE_KEYS, c["kind"][ci]),
        "baseline_source": (BASELINE_SOURCE_KEYS, c["baseline_source"][ci]),
        "triggers": (FLAG_LABELS["triggers"], c["triggers"][ci]),
        "referral_source": (tuple(REFERRALS), c["referral_source"][ci]),
        "session_date": (dates, rows["day"]),
        "therapist": (THERAPIST_NAMES, rows["therapist"]),
        "location": (LOCATIONS, THERAPIST_LOCATION[c["therapist"][ci]]),
        "techniques": (TECHNIQUE_LABELS, rows["techniques"]),
        "series_id": (("S1", "S2"), series),
        "pressure": (PRESSURE_KEYS, rows["pressure"]),
        "status": (STATUS_KEYS, rows["status"]),
        "cancel_reason": (CANCEL_REASONS + NO_SHOW_REASONS, rows["cancel_reason"]),
        "self_care": (FLAG_LABELS["self_care"], rows["self_care"]),
        "notes": (NOTES, rows["notes"]),
    }
    values: dict[str, object] = {name: _take_text(*pair) for name, pair in texts.items()}
    values |= {"birth_year": c["birth_year"][ci]} | {
        name: c[key][ci] for name, key in INTAKE_NUMBERS.items()
    }
    values |= {name: rows[name] for name in SESSION_NUMBER_COLUMNS}
    return pd.DataFrame({column.name: values[column.name] for column in COLUMNS})


def _take_text(labels: Sequence[str] | np.ndarray | pd.Index, codes: np.ndarray) -> ExtensionArray:
    """Text column from label codes (-1 is missing), built in Arrow without per-row objects."""
    return pd.array(list(labels), dtype="str").take(codes, allow_fill=True)


def _format_client_ids(n: int) -> np.ndarray:
    """Client ids "C0001", "C0002", ... (wider when there are more than 9,999 clients)."""
    width = max(4, len(str(n)))
    numbers = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)
    return ("C" + numbers).to_numpy(dtype=object)


def _draw_names(rng: np.random.Generator, sex: np.ndarray) -> np.ndarray:
    """Synthetic full names: a first name matching `sex` and a last name."""
    n = len(sex)
    firsts = [
        np.array(names, dtype=object)[rng.integers(0, len(names), n)]
        for names in (FEMALE_FIRST, MALE_FIRST, NEUTRAL_FIRST)
    ]
    last = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    return np.choose(sex, firsts) + " " + last


def _draw_codes(rng: np.random.Generator, weights: Mapping[Any, float], n: int) -> np.ndarray:
    """`n` codes into `weights` (label -> probability), drawn with those probabilities."""
    return rng.choice(len(weights), size=n, p=list(weights.values()))


def _choose_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Index of one column per row of `weights`, drawn in proportion to that row's weights."""
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cumulative[:, -1]
    return (u[:, None] >= cumulative).sum(axis=1)


def _encode_flags(flags: np.ndarray) -> np.ndarray:
    """Bit mask of each row's True columns, -1 where there are none (a code into FLAG_LABELS)."""
    codes = flags.astype(np.int64) @ (1 << np.arange(flags.shape[1], dtype=np.int64))
    return np.where(codes == 0, -1, codes)


def _join_labels(labels: Sequence[str]) -> tuple[str, ...]:
    """The ';'-joined labels selected by each bit mask 0 .. 2**len(labels) - 1."""
    return tuple(
        ";".join(label for j, label in enumerate(labels) if mask >> j & 1)
        for mask in range(1 << len(labels))
    )


def _join_techniques() -> tuple[str, ...]:
    """'main;extras' for code main * 2**7 + mask: the main technique first, extras in order."""
    extras = _join_labels(TECHNIQUE_KEYS)
    return tuple(
        ";".join(filter(None, [main, extras[mask & ~(1 << m)]]))
        for m, main in enumerate(TECHNIQUE_KEYS)
        for mask in range(len(extras))
    )


def _centre_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """`values` minus the mean of their group (groups are small non-negative integers)."""
    sums = np.bincount(groups, weights=values)
    counts = np.bincount(groups)
    return values - (sums / np.maximum(counts, 1))[groups]


def _profile(field: str) -> np.ndarray:
    """One field of HEADACHE_PROFILES as an array indexed like HEADACHE_KEYS."""
    return np.array([getattr(HEADACHE_PROFILES[key], field) for key in HEADACHE_KEYS])


def _round_clip(values: np.ndarray, low: float, high: float, *, step: float = 1.0) -> np.ndarray:
    """Round to multiples of `step` and clip to [low, high], never leaving a -0.0."""
    return np.clip(np.round(values / step) * step, low, high) + 0.0


STYLE_WEIGHTS = np.array(
    [[style.get(k, 0.0) for k in TECHNIQUE_KEYS] for style in THERAPIST_STYLES.values()]
)
PRESSURE_LEVELS = np.array([TECHNIQUE_PRESSURE[k] for k in TECHNIQUE_KEYS])

TECHNIQUE_LABELS = _join_techniques()
FLAG_LABELS = {
    "triggers": _join_labels(tuple(TRIGGERS)),
    "self_care": _join_labels(tuple(SELF_CARE)),
}
INTAKE_NUMBERS = {
    "headache_years": "headache_years",
    "baseline_pain": "pain",
    "baseline_headache_days_28d": "hd28",
    "baseline_medication_days_28d": "med28",
    "baseline_hit6": "baseline_hit6",
    "baseline_midas": "baseline_midas",
    "baseline_stress": "stress",
    "baseline_sleep_quality": "sleep",
}

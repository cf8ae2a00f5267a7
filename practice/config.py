"""Settings: where the data lives and the clinical thresholds the analysis uses.

Every setting here is documented in docs/ (a test checks it). Settings that a practice may
want to change are read from environment variables named `PRACTICE_<NAME>`.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
SAMPLE_CSV = DATA_DIR / "sample.csv"
DEFAULT_SQLITE_PATH = DATA_DIR / "headway.sqlite3"


def database_url() -> str:
    """The database to use: `PRACTICE_DATABASE_URL`, else the SQLite file in data/."""
    return os.environ.get("PRACTICE_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(f"PRACTICE_{name}")
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"PRACTICE_{name} must be a number, got {raw!r}") from exc


# --- Treatment series -----------------------------------------------------------------------
# A client's sessions form one treatment series until a gap longer than this; the next session
# then starts a new series. An explicit `series_id` in the CSV always wins.
SERIES_GAP_DAYS = int(_env_number("SERIES_GAP_DAYS", 90))
# A follow-up visit (status `follow_up`: assessment, no treatment) belongs to the client's
# preceding series when it falls within this many days after that series' last treatment,
# however long the gap; it never starts a series of its own.
FOLLOWUP_WINDOW_DAYS = int(_env_number("FOLLOWUP_WINDOW_DAYS", 365))

# --- Importing ------------------------------------------------------------------------------
# Uploads larger than this are refused before parsing (megabytes).
MAX_UPLOAD_MB = _env_number("MAX_UPLOAD_MB", 200)
# A single cell longer than this is refused (characters): no real export has such a field,
# and storing megabytes in a name or note would only slow every page.
MAX_FIELD_CHARS = int(_env_number("MAX_FIELD_CHARS", 10_000))
# Free-text notes are stored whole up to this many characters (clinical notes run to pages);
# only a note longer than this is refused.
MAX_NOTE_CHARS = int(_env_number("MAX_NOTE_CHARS", 100_000))
# A header with more columns than this is refused before the file is parsed: the widest
# export Headway knows has about 60 columns, and a wide file would only exhaust memory.
MAX_COLUMNS = int(_env_number("MAX_COLUMNS", 500))

# Front desk may undo its own newest import only while that removes at most this share of the
# practice (of the stored clients, and of the stored sessions); a larger undo needs the owner.
UNDO_MAX_SHARE_FRONT_DESK = _env_number("UNDO_MAX_SHARE_FRONT_DESK", 0.2)

# --- Outcome thresholds (see docs/metrics.md for the sources) --------------------------------
# Responders on headache days: >= 50 % fewer, as the IHS guidelines for tension-type headache
# trials define it (Bendtsen 2010); the migraine guidelines (Tfelt-Hansen 2012; Diener 2020)
# set the same 50 % on migraine days. 30 % and 75 % are secondary.
HD28_RESPONDER_FRACTION = 0.50
HD28_SECONDARY_FRACTIONS = (0.30, 0.75)
# IMMPACT (Dworkin 2008) after Farrar 2001: >= 30 % is moderately important pain reduction (the
# headline pain responder); >= 50 % is substantial.
PAIN_MODERATE_FRACTION = 0.30
# Optional: also require a fall of at least this many points (Farrar 2001 found about 2 points
# on the 0-10 scale). 0, the default, is off: a points rule on top of 30 % silently lowers the
# rates of groups with low baselines (a baseline of 5 needs 40 %, not 30 %). The headline pain
# responder, meaningful pain change, time to response and the off-track alert all use it.
PAIN_RESPONDER_MIN_POINTS = _env_number("PAIN_RESPONDER_MIN_POINTS", 0.0)
PAIN_SUBSTANTIAL_FRACTION = 0.50
# HIT-6 minimally important change for an individual: 6 points (Houts 2020 / Smelt 2014).
HIT6_MEANINGFUL_POINTS = 6.0
# Test-retest reliability used by the Jacobson-Truax reliable change index (Jacobson & Truax
# 1991), per measure. Sources in docs/metrics.md.
RELIABILITY = {
    "pain": _env_number("RELIABILITY_PAIN", 0.80),
    "hd28": _env_number("RELIABILITY_HD28", 0.80),
    "hit6": _env_number("RELIABILITY_HIT6", 0.78),
    "midas": _env_number("RELIABILITY_MIDAS", 0.80),
    "medication_days": _env_number("RELIABILITY_MEDICATION_DAYS", 0.80),
    "stress": _env_number("RELIABILITY_STRESS", 0.70),
    "sleep_quality": _env_number("RELIABILITY_SLEEP_QUALITY", 0.70),
}
# A series that ends with fewer attended sessions than this counts as a dropout.
MIN_SESSIONS_COMPLETER = int(_env_number("MIN_SESSIONS_COMPLETER", 4))
# Off-track alert: after this many attended sessions without a 30 % improvement.
OFF_TRACK_AFTER_SESSIONS = int(_env_number("OFF_TRACK_AFTER_SESSIONS", 4))
# Groups (therapists, techniques) with fewer clients are flagged and never ranked.
MIN_GROUP_N = int(_env_number("MIN_GROUP_N", 5))
# ICHD-3 (2018) 8.2 medication-overuse headache: regular overuse on >= 10 days/month of
# triptans, ergots, opioids or combination analgesics, >= 15 days/month of simple analgesics.
# Headway does not know the drug class, so it flags >= 10 days as "possible overuse" and
# >= 15 days as "overuse under any class".
MEDICATION_OVERUSE_DAYS_ANY = 10
MEDICATION_OVERUSE_DAYS_SIMPLE = 15
# ICHD-3 1.3 chronic migraine / 2.3 chronic tension-type headache: >= 15 headache days/month.
CHRONIC_HEADACHE_DAYS = 15
# MIDAS disability grades (Stewart 2001): I 0-5, II 6-10, III 11-20, IV 21+; the upper bound of
# grades I, II and III.
MIDAS_GRADE_UPPER_BOUNDS = (5.0, 10.0, 20.0)
# Jacobson & Truax 1991: a change is reliable when |RCI| exceeds 1.96 (two-sided 95 %).
RELIABLE_CHANGE_Z = 1.96
# Off-track alert: the improvement a client should have reached by then, as a fraction of
# baseline (the 30 % "moderately important" level of IMMPACT / Farrar 2001, and the IHS
# secondary 30 % responder level for headache days).
OFF_TRACK_IMPROVEMENT_FRACTION = 0.30
# A series is still "ongoing" (not a dropout) while its last attended session is no more than
# this many of its usual intervals before the data's last date (Headway's rule, docs/metrics.md).
ONGOING_INTERVALS = _env_number("ONGOING_INTERVALS", 2.0)
# Exposure-based technique groups: a series counts under every technique used in at least this
# share of its attended sessions (Headway's rule, docs/metrics.md).
TECHNIQUE_EXPOSURE_SHARE = _env_number("TECHNIQUE_EXPOSURE_SHARE", 0.5)
# Case-mix adjustment leaves out a numeric covariate missing for more than this share of clients
# rather than dropping those clients (Headway's rule, docs/metrics.md).
ADJUSTMENT_MAX_MISSING = 0.20
# Time points (`summary --at 3m`): a measure's value N weeks or months after the first session is
# the follow-up report nearest to that day, at most this many days before or after it (Headway's
# rule, docs/metrics.md).
TIME_POINT_WINDOW_DAYS = int(_env_number("TIME_POINT_WINDOW_DAYS", 14))
# The Overview's monthly means of pain and headache days leave out a month with fewer sessions
# scoring the measure than this: one client's score is not a practice's month (Headway's rule,
# docs/metrics.md).
MONTHLY_MIN_SCORES = int(_env_number("MONTHLY_MIN_SCORES", 10))
# Headache diaries (docs/metrics.md, "Headache diaries"): a 28-day window with at least
# DIARY_COMPLETE_DAYS logged days counts its headache days as logged; with fewer but at least
# DIARY_MIN_DAYS it is pro-rated to 28 days and marked; with fewer it is left out (Headway's
# rule; the IHS trial guidelines ask for a complete prospective 4-week diary baseline).
DIARY_COMPLETE_DAYS = int(_env_number("DIARY_COMPLETE_DAYS", 20))
DIARY_MIN_DAYS = int(_env_number("DIARY_MIN_DAYS", 14))
# Funnel plots (Spiegelhalter 2005, Qual Saf Health Care 14:347): z-scores are winsorised at this
# fraction in each tail before over-dispersion is estimated.
FUNNEL_WINSORISE_FRACTION = 0.10


def seed_sample_on_first_run() -> bool:
    """Whether an empty database gets the synthetic sample practice (`PRACTICE_SEED_SAMPLE`).

    Default: yes for the default SQLite file (the first-run demo), no for any other database,
    so that a practice's own PostgreSQL never receives synthetic clients by accident.
    """
    raw = os.environ.get("PRACTICE_SEED_SAMPLE", "").strip().lower()
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    return "PRACTICE_DATABASE_URL" not in os.environ


# --- Sign-in ----------------------------------------------------------------------------------
ROLES = ("owner", "therapist", "front_desk")
# Failed sign-ins are remembered for this long (minutes); older ones no longer count.
SIGN_IN_WINDOW_MINUTES = _env_number("SIGN_IN_WINDOW_MINUTES", 15)
# Every sign-in for a user name, or from a client address, with recent failures waits before it
# is checked: 0.5 s after one failure, doubling with each, at most this long (seconds). No name
# is ever locked, so nobody can lock the owner out (OWASP Authentication Cheat Sheet: throttle,
# and beware that account lockout lets an attacker deny service).
SIGN_IN_MAX_DELAY_S = _env_number("SIGN_IN_MAX_DELAY_S", 8)
# A client address with this many failures in the window is refused until they age out,
# whichever names it tried (an address the app cannot see, e.g. localhost, is never refused).
SIGN_IN_MAX_FAILURES_PER_ADDRESS = int(_env_number("SIGN_IN_MAX_FAILURES_PER_ADDRESS", 20))
# A signed-in session idle for longer than this is signed out.
IDLE_MINUTES = _env_number("IDLE_MINUTES", 30)
# A signed-in browser is signed out this long after signing in, however active (hours): the
# session cookie's absolute limit beside the idle one (OWASP Session Management Cheat Sheet:
# both an idle and an absolute timeout).
SESSION_MAX_HOURS = _env_number("SESSION_MAX_HOURS", 12)
# argon2id cost (RFC 9106 "second recommended option": t=3, 64 MiB). Tests lower them through
# the environment to stay fast; never lower them for a real practice.
ARGON2_TIME_COST = int(_env_number("ARGON2_TIME_COST", 3))
ARGON2_MEMORY_KIB = int(_env_number("ARGON2_MEMORY_KIB", 65536))

# --- Reports --------------------------------------------------------------------------------
# The practice's name, printed on every PDF report (`PRACTICE_NAME`).
PRACTICE_NAME = os.environ.get("PRACTICE_NAME", "").strip() or "Headway practice"

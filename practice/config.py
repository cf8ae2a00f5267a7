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

# --- Importing ------------------------------------------------------------------------------
# Uploads larger than this are refused before parsing (megabytes).
MAX_UPLOAD_MB = _env_number("MAX_UPLOAD_MB", 200)
# A single cell longer than this is refused (characters): no real export has such a field,
# and storing megabytes in a name or note would only slow every page.
MAX_FIELD_CHARS = int(_env_number("MAX_FIELD_CHARS", 10_000))

# --- Outcome thresholds (see docs/metrics.md for the sources) --------------------------------
# IHS guidelines for controlled trials of preventive treatment of migraine (Tfelt-Hansen 2012;
# Diener 2020): a responder has >= 50 % fewer headache days; 30 % and 75 % are secondary.
HD28_RESPONDER_FRACTION = 0.50
HD28_SECONDARY_FRACTIONS = (0.30, 0.75)
# IMMPACT (Dworkin 2008) after Farrar 2001: >= 30 % (and here also >= 2 points) is moderately
# important pain reduction; >= 50 % is substantial.
PAIN_MODERATE_FRACTION = 0.30
PAIN_MODERATE_POINTS = 2.0
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

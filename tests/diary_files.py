"""Files shaped like real exports for the diary tests: a practice's sessions and a diary app's.

The diary looks like what headache apps export: the app's own headers (`ID`, `Day`,
`Headache`, `Intensity`, `Acute medication`, `Notes`), day-first dates, semicolons, days the
client forgot (irregular logging), holidays without a single entry (gaps), one row exported
twice, and clients who only started their diary once treatment had begun.
"""

from __future__ import annotations

import datetime as dt
import random

FIRST_SESSION = dt.date(2025, 3, 3)
SESSION_HEADER = (
    "client_id,client_name,intake_date,headache_type,baseline_headache_days_28d,"
    "session_date,therapist,techniques,pain_pre,headache_days_28d"
)
DIARY_HEADER = "ID;Day;Headache;Intensity;Acute medication;Notes"


def client_code(number: int) -> str:
    return f"D{number:03d}"


def first_session(number: int) -> dt.date:
    return FIRST_SESSION + dt.timedelta(days=3 * number)


def sessions_csv(clients: int) -> bytes:
    """Intake and six weekly sessions per client; every client reports 12 days at intake and
    (at their last session) 8 headache days per 28 days."""
    lines = [SESSION_HEADER]
    for n in range(1, clients + 1):
        start = first_session(n)
        technique = "trigger point" if n % 2 else "craniosacral"
        for week in range(6):
            day = start + dt.timedelta(days=7 * week)
            reported = "8" if week == 5 else ""
            lines.append(
                f"{client_code(n)},Client {n},{start - dt.timedelta(days=30)},migraine,12,"
                f"{day},Jo Park,{technique},6,{reported}"
            )
    return ("\n".join(lines) + "\n").encode()


def late_starter(number: int) -> bool:
    """Every fifth client only began the diary after treatment had started."""
    return number % 5 == 0


def diary_rows(clients: int, *, seed: int = 7) -> list[str]:
    """One row per logged day; days are skipped at random and in one 9-day holiday gap."""
    rng = random.Random(seed)
    rows = []
    for n in range(1, clients + 1):
        start = first_session(n)
        begin = start + dt.timedelta(days=4) if late_starter(n) else start - dt.timedelta(days=35)
        holiday = start + dt.timedelta(days=40 + n % 7)
        day = begin
        while day < start + dt.timedelta(days=120):
            in_gap = holiday <= day < holiday + dt.timedelta(days=9)
            if not in_gap and rng.random() < 0.88:
                treated = day >= start
                headache = rng.random() < (0.22 if treated else 0.42)
                intensity = rng.choice("123") if headache else "0"
                medication = rng.choice(["yes", "no", "2"]) if headache else "no"
                note = "weather change" if headache and rng.random() < 0.05 else ""
                rows.append(
                    f"{client_code(n)};{day:%d/%m/%Y};{'yes' if headache else 'no'};"
                    f"{intensity};{medication};{note}"
                )
            day += dt.timedelta(days=1)
    return rows


def diary_csv(clients: int, *, seed: int = 7, repeat_row: int | None = 100) -> bytes:
    """The diary file; `repeat_row` (an index) is exported twice, as apps sometimes do."""
    rows = diary_rows(clients, seed=seed)
    if repeat_row is not None:
        rows.insert(repeat_row + 1, rows[repeat_row])
    return ("\n".join([DIARY_HEADER, *rows]) + "\n").encode()

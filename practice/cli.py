"""The command line: `python -m practice COMMAND ...` (see `--help` and the README)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from practice import auth, config, db, users_cli
from practice.backup import BackupError, backup_database
from practice.bootstrap import open_database
from practice.exports import table_csv
from practice.formatting import EMPTY_CELL, counts_text, number_text, plain_table
from practice.importing import (
    KINDS,
    ImportRejected,
    UndoRefused,
    describe_problems,
    import_files,
)
from practice.importing.reading import describe_size
from practice.queries import fetch_imports, fetch_practice

# How many problems the terminal shows before pointing at the full report.
SHOWN_PROBLEMS = 50
# The summary's choices, spelled out here so that starting the command line does not load the
# statistics libraries (a test checks they match practice.analysis).
SUMMARY_BY = ("technique", "therapist", "location", "headache_type")
POPULATIONS = ("all", "completers", "dropouts_as_nonresponders")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="python -m practice",
        description="Headway: outcome tracking for headache and migraine massage practices.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_init_db(commands)
    _add_import(commands)
    _add_sample(commands)
    _add_imports(commands)
    _add_undo(commands)
    _add_summary(commands)
    _add_users(commands)
    _add_backup(commands)
    _add_report(commands)
    return parser


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL (default: PRACTICE_DATABASE_URL, else the SQLite "
        f"file {config.DEFAULT_SQLITE_PATH.relative_to(config.PROJECT_ROOT)})",
    )


def _add_init_db(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("init-db", help="create or upgrade the database schema")
    _db_option(parser)
    parser.add_argument(
        "--sample", action="store_true", help="also load data/sample.csv into an empty database"
    )
    parser.set_defaults(handler=run_init_db)


def _add_import(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import",
        help="import CSV exports (all files in one all-or-nothing transaction)",
        description="Check every file, then write them all or nothing. Exit 0 with a summary, "
        f"or 1 listing the first {SHOWN_PROBLEMS} problems with their file, row and column "
        "and a count of the rest (--report FILE writes them all).",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    _db_option(parser)
    order = parser.add_mutually_exclusive_group()
    order.add_argument(
        "--dayfirst",
        action="store_const",
        const="dayfirst",
        dest="date_order",
        help="read dates like 03/04/2025 as 3 April (European)",
    )
    order.add_argument(
        "--monthfirst",
        action="store_const",
        const="monthfirst",
        dest="date_order",
        help="read dates like 03/04/2025 as March 4 (US)",
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="HEADER=COLUMN",
        help="map a file header to a Headway column (COLUMN empty: ignore it)",
    )
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default="auto",
        help="auto: a headache diary is told from a session export by its columns; diary or "
        "sessions: read every file as that kind",
    )
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        default=None,
        help="read files that are not UTF-8 in this encoding (e.g. windows-1252, mac-roman) "
        "instead of detecting it; needed when Headway cannot tell",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and count what would change, write nothing"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="CSV",
        help="write every problem, warning and notice to this CSV file",
    )
    parser.set_defaults(handler=run_import)


def _add_sample(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("sample", help="write a synthetic practice as CSV")
    parser.add_argument("--clients", type=int, default=150)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--out", type=Path, required=True, metavar="PATH")
    parser.set_defaults(handler=run_sample)


def _add_imports(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("imports", help="list the import history, newest first")
    _db_option(parser)
    parser.set_defaults(handler=run_imports)


def _add_undo(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("undo", help="undo an import (newest first)")
    parser.add_argument("import_id", type=int, metavar="IMPORT_ID")
    _db_option(parser)
    parser.set_defaults(handler=run_undo)


def _add_summary(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "summary",
        help="outcomes by technique, therapist, location or headache type",
        description="Change in headache days per 28 days and in pain, per group, with 95 %% "
        "intervals, responder rates and case-mix adjusted differences "
        "(docs/metrics.md explains each figure; the JSON keys are a stable "
        "contract).",
    )
    parser.add_argument("--by", choices=SUMMARY_BY, default="technique")
    parser.add_argument(
        "--population",
        choices=POPULATIONS,
        default="all",
        help="all: everyone with a follow-up score; completers: completers "
        "only; dropouts_as_nonresponders: dropouts count as not improved",
    )
    parser.add_argument(
        "--reference",
        metavar="GROUP",
        default=None,
        help="group the differences compare against: its name as the tables show it, its "
        "key or any spelling the import accepts, e.g. 'usual care' (default: the largest group)",
    )
    parser.add_argument(
        "--at",
        metavar="TIME",
        default=None,
        help="also report each measure at a time point after the first session: 12w (weeks) "
        "or 3m (months); the report nearest to it within PRACTICE_TIME_POINT_WINDOW_DAYS",
    )
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    _db_option(parser)
    parser.set_defaults(handler=run_summary)


def _add_users(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "users", help="manage who may sign in (owner, therapist, front desk)"
    )
    actions = parser.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a user (asks for the password)")
    add.add_argument("username", metavar="NAME")
    add.add_argument("--role", choices=config.ROLES, required=True)
    add.add_argument(
        "--therapist",
        metavar="NAME",
        default=None,
        help="for a therapist: their name as the exports spell it",
    )
    add.add_argument(
        "--location",
        metavar="NAME",
        action="append",
        default=[],
        dest="locations",
        help="limit the user to the clients seen at this location, as the exports spell it "
        "(repeat for several; default: every location)",
    )
    passwd = actions.add_parser(
        "passwd", help="set a new password (and forget the name's failed sign-ins)"
    )
    passwd.add_argument("username", metavar="NAME")
    actions.add_parser("list", help="list users (never their passwords)")
    disable = actions.add_parser("disable", help="stop a user from signing in")
    disable.add_argument("username", metavar="NAME")
    for sub in (add, passwd):
        sub.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input (for scripts)",
        )
    for sub in actions.choices.values():
        _db_option(sub)
    parser.set_defaults(handler=users_cli.run_users)


def _add_backup(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "backup",
        help="copy the database to a backup file (safe while the app runs)",
        description="SQLite: a consistent copy made with SQLite's online backup. PostgreSQL: "
        "pg_dump --format=custom (restore with pg_restore). docs/security.md explains "
        "restoring.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PATH",
        help="new backup file, or an existing folder for a time-stamped file in it",
    )
    _db_option(parser)
    parser.set_defaults(handler=run_backup)


def _add_report(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "report",
        help="write a PDF report: one client's summary or the practice's outcomes",
        description="A one-page PDF for a client (or their GP or neurologist), or a practice "
        "outcomes report for a period (default: all the data). The practice's name comes from "
        "PRACTICE_NAME.",
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    client = kinds.add_parser(
        "client",
        help="one A4 page: intake, change over a treatment series, charts",
        description="One A4 page summarising a client's treatment series (default: the latest).",
    )
    client.add_argument("client_id", metavar="ID", help="the client's id, e.g. C0042")
    client.add_argument("--series", type=int, metavar="N", help="treatment series number")
    client.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")
    _db_option(client)
    client.set_defaults(handler=run_report)
    practice = kinds.add_parser(
        "practice",
        help="outcomes of the series under way in a period, therapists anonymised",
        description="Who was treated, responder rates with 95 %% intervals, change by technique "
        "and headache type, the therapist funnel plot, methods and limitations.",
    )
    practice.add_argument(
        "--from", dest="start", metavar="DATE", help="first day (default: the first session)"
    )
    practice.add_argument(
        "--to", dest="end", metavar="DATE", help="last day (default: the last session)"
    )
    practice.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")
    practice.add_argument(
        "--names", action="store_true", help="show therapists' names (default: Therapist A, B, ...)"
    )
    _db_option(practice)
    practice.set_defaults(handler=run_report)


def run_init_db(args: argparse.Namespace) -> int:
    """Create or upgrade the schema."""
    url = args.db or config.database_url()
    open_database(url, seed=args.sample)
    print(f"database ready at revision {db.head_revision()}: {db.describe_url(url)}")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    """Back up the database; print where the backup went and its size."""
    url = args.db or config.database_url()
    try:
        path = backup_database(url, args.out)
    except BackupError as exc:
        print(f"error: backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {db.describe_url(url)} to {path} ({describe_size(path.stat().st_size)})")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Import files; print a summary (exit 0) or the first SHOWN_PROBLEMS problems (exit 1)."""
    mapping = _parse_mapping(args.map)
    files = []
    for path in args.files:
        if not path.is_file():
            print(f"error: {path}: no such file", file=sys.stderr)
            return 1
        files.append((path.name, path.read_bytes()))
    engine = open_database(args.db, seed=False)
    try:
        result = import_files(
            engine,
            files,
            mapping=mapping,
            date_order=args.date_order,
            source="cli",
            dry_run=args.dry_run,
            kind=args.kind,
            encoding=args.encoding,
            imported_by=auth.cli_actor(),
        )
    except db.DatabaseBusy as busy:
        print(f"import not started: {busy}", file=sys.stderr)
        return 1
    except ImportRejected as rejected:
        _write_report(args.report, rejected.report)
        errors = rejected.report[rejected.report["severity"] == "error"]
        print(f"import refused: {len(errors)} problem(s); nothing was written", file=sys.stderr)
        for line in describe_problems(errors, limit=SHOWN_PROBLEMS):
            print(f"  {line}", file=sys.stderr)
        if len(errors) > SHOWN_PROBLEMS:
            print(
                f"  ... and {len(errors) - SHOWN_PROBLEMS} more"
                + ("" if args.report else " (use --report FILE for the full list)"),
                file=sys.stderr,
            )
        return 1
    _write_report(args.report, result.problems)
    if not args.dry_run:
        _audit(engine, "import", f"import #{result.import_id}: {result.summary()}")
    warnings = result.problems[result.problems["severity"] != "error"]
    for line in describe_problems(warnings, limit=SHOWN_PROBLEMS):
        print(f"  {line}")
    print(result.summary() + (f" (import #{result.import_id})" if result.import_id else ""))
    return 0


def _parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        header, sep, column = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --map needs HEADER=COLUMN, got {pair!r}")
        mapping[header.strip()] = column.strip()
    return mapping


def _write_report(path: Path | None, report: pd.DataFrame) -> None:
    if path is not None:  # offending values may look like formulas: defuse them (OWASP)
        path.write_bytes(table_csv(report))


def run_sample(args: argparse.Namespace) -> int:
    """Write a synthetic practice."""
    from practice.sample import write_sample_csv

    if args.clients < 1:
        print("error: --clients must be at least 1", file=sys.stderr)
        return 1
    rows = write_sample_csv(args.out, args.clients, args.seed)
    print(f"wrote {rows} sessions of {args.clients} synthetic clients to {args.out}")
    return 0


def run_imports(args: argparse.Namespace) -> int:
    """Print the import history."""
    engine = open_database(args.db, seed=False)
    with engine.connect() as conn:
        history = fetch_imports(conn).drop(columns=["notices"])
    print(plain_table(history) if not history.empty else "no imports yet")
    return 0


def run_undo(args: argparse.Namespace) -> int:
    """Undo one import."""
    from practice.importing import undo_import

    engine = open_database(args.db, seed=False)
    try:
        done = undo_import(engine, args.import_id)
    except (UndoRefused, db.DatabaseBusy) as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    _audit(engine, "undo", f"import #{args.import_id}: {counts_text(done)}")
    print(f"undid import #{args.import_id}: {counts_text(done)}")
    return 0


def _audit(engine: Engine, event: str, detail: str) -> None:
    with engine.begin() as conn:
        auth.record_event(conn, event, auth.cli_actor(), detail)


def run_summary(args: argparse.Namespace) -> int:
    """Print the outcome summary as a table, CSV or the JSON contract."""
    from practice.analysis import build_summary, summary_table  # loads the statistics stack
    from practice.analysis.timepoints import parse_time_point

    try:
        parse_time_point(args.at) if args.at is not None else None
    except ValueError as exc:
        print(f"error: --at: {exc}", file=sys.stderr)
        return 1
    engine = open_database(args.db, seed=args.db is None and config.seed_sample_on_first_run())
    clients, sessions, diary = fetch_practice(engine)
    try:
        summary = build_summary(
            clients,
            sessions,
            by=args.by,
            population=args.population,
            reference=args.reference,
            at=args.at,
            diary=diary,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(summary, indent=2, allow_nan=False))
    elif args.format == "csv":
        print(summary_table(summary).to_csv(index=False), end="")
    else:
        print(format_summary(summary))
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Write a client or practice PDF report."""
    from practice.analysis import compute_client_outcomes
    from practice.reports import client_report_pdf, practice_report_pdf
    from practice.reports.practice_report import report_period

    if not args.out.parent.is_dir():
        print(f"error: --out: no such folder {args.out.parent}", file=sys.stderr)
        return 1
    if args.kind == "practice":
        try:
            start = _parse_date(args.start, "--from") if args.start else None
            end = _parse_date(args.end, "--to") if args.end else None
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    engine = open_database(args.db, seed=args.db is None and config.seed_sample_on_first_run())
    clients, sessions, diary = fetch_practice(engine)
    try:
        # Headache days from a client's diary win over reported ones (docs/metrics.md).
        outcomes = compute_client_outcomes(clients, sessions, diary=diary)
        if args.kind == "client":
            pdf = client_report_pdf(
                clients, sessions, args.client_id, series=args.series, outcomes=outcomes
            )
            what = f"the report of client {args.client_id}"
        else:
            first, last = report_period(sessions, start, end)  # all the data without dates
            pdf = practice_report_pdf(
                clients,
                sessions,
                start=first,
                end=last,
                show_names=args.names,
                outcomes=outcomes,
            )
            what = f"the practice report for {first} to {last}"
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.write_bytes(pdf)
    print(f"wrote {what} to {args.out} ({len(pdf):,} bytes)")
    return 0


def _parse_date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{option} needs a date like 2026-01-31, got {text!r}") from None


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as readable terminal tables, one per measure: estimates with their 95 %
    intervals, the spread of change, and the differences to the reference group."""
    from practice.analysis.labels import GROUPING_LABELS, POPULATION_LABELS

    population = POPULATION_LABELS[summary["population"]].lower()
    counted = f"Who is counted: {population}; groups by {GROUPING_LABELS[summary['by']]}"
    if not summary["groups"]:
        reason = summary.get("empty_reason") or "no series has a follow-up score"
        return f"{counted}.\nNo group to show: {reason}."
    reference = summary.get("reference_label") or summary["reference"]
    lines = [f"{counted}; differences are group minus {reference} (95 % intervals in brackets)."]
    at = summary.get("at")
    when = ""
    if at is not None:
        from practice.analysis.timepoints import parse_time_point

        when = parse_time_point(at).label
        lines.append(
            f"'at {when}': each client's report nearest to {summary['at_days']} days after "
            f"their first session (within {summary['at_window_days']} days); the other "
            "columns use each client's last available value."
        )
    for key, level in (("hd28", "50"), ("pain", "30")):
        rows = [_measure_row(group, key, level, when) for group in summary["groups"]]
        title = summary["measures"][key]
        lines += ["", title[0].upper() + title[1:], pd.DataFrame(rows).to_string(index=False)]
    return "\n".join(lines)


def _measure_row(group: dict[str, Any], key: str, level: str, when: str) -> dict[str, object]:
    """One group's line of a measure's table."""
    block = group[key]
    row: dict[str, object] = {
        "group": group.get("label", group["group"])
        + (" (small n)" if group.get("small_n") else ""),
        "clients": group["n_clients"],
        "n": block["n"],
        "change": _estimate(block["change_mean"], block["change_ci"]),
        "SD": _spread(block.get("change_sd")),
        f">={level}% responders": _rate(
            block[f"responders_{level}"],
            block[f"responders_{level}_denominator"],
            block[f"responder_rate_{level}_ci"],
        ),
        "unadjusted diff": _estimate(
            block.get("unadjusted_difference"), block.get("unadjusted_difference_ci")
        ),
        "adjusted diff": _estimate(block["adjusted_difference"], block["adjusted_difference_ci"]),
    }
    if when:
        row[f"n at {when}"] = _count(block.get("at_n"))
        row[f"change at {when}"] = _estimate(block.get("at_change_mean"), block.get("at_change_ci"))
    return row


def _count(value: float | None) -> object:
    """A count as a whole number; "-" where the group has nobody (None or NaN)."""
    return EMPTY_CELL if value is None or pd.isna(value) else int(value)


def _spread(value: float | None) -> str:
    return number_text(value)


def _estimate(value: float | None, interval: list[float] | None) -> str:
    if value is None:
        return "–"
    text = number_text(value, signed=True)
    if not interval:
        return text
    low, high = (number_text(end, signed=True) for end in interval)
    return f"{text} [{low}, {high}]"


def _rate(count: int | None, n: int | None, interval: list[float] | None) -> str:
    if not n:
        return "–"
    text = f"{count}/{n}"
    return f"{text} [{interval[0]:.0%}-{interval[1]:.0%}]" if interval else text


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    try:
        args = build_parser().parse_args(argv)
        code = int(args.handler(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
    except BrokenPipeError:
        # The reader went away (`python -m practice summary | head`): stop quietly. Python's
        # own flush at exit would fail again, so stdout points at /dev/null from here on
        # (the recipe of the Python docs, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code

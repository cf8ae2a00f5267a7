"""The Arrow reader (practice.columnar) gives the dashboard the very frames the cursor gives, from
one snapshot, and every URL it cannot serve falls back to the cursor, without a word about
credentials."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, func, literal, make_url, select, update

from practice import columnar, db, queries
from practice.importing import import_files
from practice.models import Client, Session
from practice.sample import write_sample_csv
from tests.diary_files import diary_csv, sessions_csv
from tests.test_queries import EDGES

Frames = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]


def read_frames(source: queries.Source) -> Frames:
    return (
        queries.fetch_clients(source),
        queries.fetch_sessions(source),
        queries.fetch_diary_days(source),
    )


def through_cursor(engine: Engine) -> Frames:
    with engine.connect() as conn:
        return read_frames(conn)


def through_arrow(engine: Engine) -> Frames:
    with columnar.open_reader(engine) as reader:  # Unavailable, not a fallback, if it cannot
        return read_frames(reader)


def assert_frames_equal(got: Frames, expected: Frames) -> None:
    for one, other in zip(got, expected, strict=True):
        assert list(one.columns) == list(other.columns)
        pd.testing.assert_frame_equal(one, other, check_exact=True)


def import_sample(engine: Engine, tmp_path: Path, clients: int = 60) -> None:
    sample = tmp_path / "sample.csv"
    write_sample_csv(sample, clients, seed=3)
    import_files(engine, [("sample.csv", sample.read_bytes())])


def test_an_empty_practice(engine: Engine) -> None:
    assert_frames_equal(through_arrow(engine), through_cursor(engine))


def test_edge_cases(engine: Engine) -> None:
    import_files(engine, [("edges.csv", EDGES)])
    with engine.begin() as conn:  # a follow-up visit outside any series
        conn.execute(update(Session).where(Session.status == "follow_up").values(series_id=None))
    assert_frames_equal(through_arrow(engine), through_cursor(engine))


def test_a_sample_practice_with_a_diary(engine: Engine, tmp_path: Path) -> None:
    import_sample(engine, tmp_path)
    import_files(engine, [("sessions.csv", sessions_csv(4))])
    import_files(engine, [("diary.csv", diary_csv(4))])
    frames = through_arrow(engine)
    assert all(len(frame) for frame in frames)
    assert_frames_equal(frames, through_cursor(engine))


def test_columns_whose_first_thousands_of_values_are_missing(
    engine: Engine, tmp_path: Path
) -> None:
    # SQLite's driver guesses a column's type from its first batch of rows.
    import_sample(engine, tmp_path, clients=400)
    with engine.begin() as conn:
        last = conn.execute(select(func.max(Session.id))).scalar_one()
        assert last > 2_000
        conn.execute(
            update(Session)
            .where(Session.id < last)
            .values(notes=None, location=None, pain_pre=None, series_id=None)
        )
        conn.execute(update(Session).where(Session.id == last).values(notes="late", location="X"))
        conn.execute(update(Client).values(triggers=None))  # a column without any value
    frames = through_arrow(engine)
    assert frames[1]["notes"].notna().sum() == 1
    assert frames[0]["triggers"].dtype == object
    assert_frames_equal(frames, through_cursor(engine))


def test_reads_share_one_snapshot(engine: Engine, tmp_path: Path) -> None:
    import_files(engine, [("edges.csv", EDGES)])
    count = select(func.count()).select_from(Session)
    with columnar.open_reader(engine) as reader:
        before = reader.read_table(count).column(0)[0].as_py()
        import_files(engine, [("sessions.csv", sessions_csv(4))])  # commits meanwhile
        assert reader.read_table(count).column(0)[0].as_py() == before
    with columnar.open_reader(engine) as reader:
        assert reader.read_table(count).column(0)[0].as_py() > before


def test_fetch_in_snapshot_reads_through_arrow_where_it_can(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_files(engine, [("edges.csv", EDGES)])
    sources: list[type] = []
    frames = queries.fetch_in_snapshot(engine, lambda s: sources.append(type(s)) or read_frames(s))
    assert sources == [columnar.ArrowReader]
    assert_frames_equal(frames, through_cursor(engine))


def test_fetch_practice_gives_the_command_line_every_frame_of_one_snapshot(
    engine: Engine, tmp_path: Path
) -> None:
    import_sample(engine, tmp_path)
    import_files(engine, [("sessions.csv", sessions_csv(4))])
    import_files(engine, [("diary.csv", diary_csv(4))])
    assert_frames_equal(queries.fetch_practice(engine), through_cursor(engine))


def fallback_frames(engine: Engine) -> tuple[Frames, list[type]]:
    sources: list[type] = []

    def fetch(source: queries.Source) -> Frames:
        sources.append(type(source))
        return read_frames(source)

    return queries.fetch_in_snapshot(engine, fetch), sources


def test_an_in_memory_sqlite_database_is_read_through_the_cursor() -> None:
    engine = db.create_engine_for("sqlite://")
    db.upgrade_schema(engine)
    import_files(engine, [("edges.csv", EDGES)])
    frames, sources = fallback_frames(engine)
    assert columnar.ArrowReader not in sources
    assert frames[1]["client_id"].tolist() == ["A1", "a10", "a10", "a9", "a9"]
    assert_frames_equal(frames, through_cursor(engine))


def break_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Arrow reader connects, then fails on its second query (mid-way through the frames)."""
    read = columnar.ArrowReader.read_table
    calls = []

    def failing(self: columnar.ArrowReader, statement: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise columnar.Unavailable("a query failed (OperationalError)")
        return read(self, statement)  # type: ignore[arg-type]

    monkeypatch.setattr(columnar.ArrowReader, "read_table", failing)


def no_drivers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "adbc_driver_manager", None)  # import fails


def unreachable_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columnar, "adbc_uri", lambda url: "postgresql://nobody@127.0.0.1:1/x")


@pytest.mark.parametrize("breaking", [break_reads, no_drivers, unreachable_server])
def test_a_reader_that_fails_falls_back_to_the_cursor(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, breaking: Callable[..., None]
) -> None:
    import_files(engine, [("edges.csv", EDGES)])
    expected = through_cursor(engine)
    breaking(monkeypatch)
    frames, sources = fallback_frames(engine)
    assert sources[-1] is not columnar.ArrowReader
    assert_frames_equal(frames, expected)


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:practice.db?mode=ro&uri=true", None),
        ("sqlite:////srv/a b#1.sqlite3", "file:/srv/a%20b%231.sqlite3?mode=ro"),
        ("mysql+pymysql://u:p@host/db", None),
        (
            "postgresql+psycopg://u@db.example:6543/practice",
            "postgresql://u@db.example:6543/practice",
        ),
        (
            "postgresql+psycopg2://u@/practice?host=/run/postgresql&sslmode=require",
            "postgresql://u@/practice?host=%2Frun%2Fpostgresql&sslmode=require",
        ),
    ],
)
def test_the_uri_each_url_is_read_from(url: str, uri: str | None) -> None:
    assert columnar.adbc_uri(make_url(url)) == uri


def test_a_relative_sqlite_path_is_the_engine_s_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = db.create_engine_for("sqlite:///data/practice.sqlite3")
    db.upgrade_schema(engine)
    import_files(engine, [("edges.csv", EDGES)])
    assert_frames_equal(through_arrow(engine), through_cursor(engine))


def test_a_password_survives_the_uri_escaped() -> None:
    password = "p@ss:w/rd%?#"
    url = make_url("postgresql+psycopg://anna@db.example/practice").set(password=password)
    uri = columnar.adbc_uri(url)
    assert uri is not None
    assert unquote(urlsplit(uri).password or "") == password


def test_no_credentials_in_messages_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    # A server that refuses the connection: the driver's message may quote the URL.
    url = make_url("postgresql+psycopg://anna:s3cret-PW@127.0.0.1:1/practice")
    engine = db.create_engine_for(url.render_as_string(hide_password=False))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(columnar.Unavailable) as raised, columnar.open_reader(engine):
        pass
    assert "s3cret" not in str(raised.value)
    assert "s3cret" not in caplog.text
    assert "anna" not in caplog.text


@pytest.mark.postgres
def test_postgres_databases_are_opened_once_per_uri(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import adbc_driver_postgresql

    opened = []
    connect = adbc_driver_postgresql.connect
    monkeypatch.setattr(columnar, "_POSTGRES_DATABASES", {})
    monkeypatch.setattr(
        adbc_driver_postgresql, "connect", lambda uri: opened.append(uri) or connect(uri)
    )
    engine = db.create_engine_for(postgres_url)
    for _ in range(3):
        with columnar.open_reader(engine) as reader:
            assert reader.read_table(select(func.current_date())).num_rows == 1
    assert len(opened) == 1


def test_a_value_sqlite_kept_in_a_column_of_another_type_is_read_by_the_cursor(
    sqlite_engine: Engine,
) -> None:
    import_files(sqlite_engine, [("edges.csv", EDGES)])
    with sqlite_engine.begin() as conn:  # SQLite keeps text in a REAL column as text
        conn.exec_driver_sql("UPDATE sessions SET duration_min = '45 min' WHERE id = 1")
    with pytest.raises(columnar.Unavailable), columnar.open_reader(sqlite_engine) as reader:
        queries.fetch_sessions(reader)
    sources: list[type] = []
    with pytest.raises(ValueError):  # the cursor's own reading of such a value
        queries.fetch_in_snapshot(
            sqlite_engine, lambda s: sources.append(type(s)) or queries.fetch_sessions(s)
        )
    assert sources == [columnar.ArrowReader, Connection]


def test_a_statement_with_bound_values_is_left_to_the_cursor(sqlite_engine: Engine) -> None:
    import_files(sqlite_engine, [("edges.csv", EDGES)])
    with columnar.open_reader(sqlite_engine) as reader, pytest.raises(columnar.Unavailable):
        reader.read_table(select(Client.client_code).where(Client.client_code == literal("A1")))

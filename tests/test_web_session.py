"""The session cookie's route (practice/web_session.py) called as the ASGI app serve.py mounts:
what it sets, what it refuses, and that a ticket buys one cookie only."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import Engine
from starlette.routing import Router

from practice import auth, web_session

HOST = "127.0.0.1:8501"
ORIGIN = f"http://{HOST}"


@pytest.fixture
def engine(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    with sqlite_engine.begin() as conn:
        auth.add_user(conn, "anna", "owner", "owner-password")
    monkeypatch.setattr(web_session, "_engine", lambda: sqlite_engine)
    return sqlite_engine


def call(
    method: str,
    body: bytes = b"",
    *,
    origin: str | None = ORIGIN,
    content_type: str = "application/json",
    cookie: str | None = None,
    scheme: str = "http",
) -> tuple[int, dict[str, list[str]]]:
    """One request to the route: its status and headers (names lower case)."""
    headers = [(b"host", HOST.encode()), (b"content-type", content_type.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", f"{web_session.COOKIE_NAME}={cookie}".encode()))
    scope = {
        "type": "http",
        "method": method,
        "path": web_session.SESSION_PATH,
        "raw_path": web_session.SESSION_PATH.encode(),
        "query_string": b"",
        "headers": headers,
        "scheme": scheme,
        "server": ("127.0.0.1", 8501),
        "client": ("127.0.0.1", 50000),
        "http_version": "1.1",
        "root_path": "",
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(Router(routes=web_session.session_routes())(scope, receive, send))
    start = sent[0]
    answer: dict[str, list[str]] = {}
    for name, value in start["headers"]:
        answer.setdefault(name.decode().lower(), []).append(value.decode())
    return start["status"], answer


def ticket_body(engine: Engine) -> tuple[bytes, int]:
    with engine.begin() as conn:
        start = auth.start_web_session(conn, "anna")
    return json.dumps({"ticket": start.ticket}).encode(), start.session_id


def test_a_ticket_buys_an_httponly_strict_cookie_holding_the_token(engine) -> None:
    body, session_id = ticket_body(engine)
    status, headers = call("POST", body)
    assert status == 204
    (cookie,) = headers["set-cookie"]
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    name, token = name_value.split("=", 1)
    assert name == "headway_session"
    assert sorted(a.lower() for a in attributes) == ["httponly", "path=/", "samesite=strict"]
    assert headers["cache-control"] == ["no-store"]
    with engine.begin() as conn:
        resumed = auth.resume_web_session(conn, token)
    assert resumed is not None and resumed.session_id == session_id


def test_over_https_the_cookie_is_secure(engine) -> None:
    body, _ = ticket_body(engine)
    status, headers = call("POST", body, origin=f"https://{HOST}", scheme="https")
    assert status == 204
    assert "secure" in headers["set-cookie"][0].lower().split("; ")


def test_a_ticket_buys_one_cookie_only(engine) -> None:
    body, _ = ticket_body(engine)
    assert call("POST", body)[0] == 204
    status, headers = call("POST", body)
    assert status == 403 and "set-cookie" not in headers


@pytest.mark.parametrize(
    ("origin", "content_type", "body", "status"),
    [
        (None, "application/json", None, 403),  # no Origin: not a fetch from our page
        ("http://evil.example", "application/json", None, 403),  # another site
        (ORIGIN, "text/plain", None, 415),  # a cross-site form could send this: never accepted
        (ORIGIN, "application/json", b"not json", 400),
        (ORIGIN, "application/json", b'["a list"]', 400),
        (ORIGIN, "application/json", b'{"ticket": 7}', 400),
        (ORIGIN, "application/json", b'{"ticket": "' + b"x" * 2000 + b'"}', 400),
        (ORIGIN, "application/json", b'{"ticket": "made-up"}', 403),
    ],
    ids=["no origin", "other site", "form type", "not json", "list", "number", "huge", "unknown"],
)
def test_anything_else_gets_no_cookie(engine, origin, content_type, body, status) -> None:
    real, _ = ticket_body(engine)
    answer, headers = call(
        "POST", real if body is None else body, origin=origin, content_type=content_type
    )
    assert answer == status and "set-cookie" not in headers


def test_delete_revokes_the_session_and_clears_the_cookie(engine) -> None:
    body, session_id = ticket_body(engine)
    token = call("POST", body)[1]["set-cookie"][0].split(";")[0].split("=", 1)[1]
    status, headers = call("DELETE", b"{}", cookie=token)
    assert status == 204
    (cleared,) = headers["set-cookie"]
    assert cleared.startswith('headway_session="";') or cleared.startswith("headway_session=;")
    assert "max-age=0" in cleared.lower()
    with engine.begin() as conn:
        assert auth.keep_web_session(conn, session_id) == "ended"


def test_delete_from_another_site_is_refused(engine) -> None:
    body, session_id = ticket_body(engine)
    token = call("POST", body)[1]["set-cookie"][0].split(";")[0].split("=", 1)[1]
    assert call("DELETE", b"{}", cookie=token, origin="http://evil.example")[0] == 403
    with engine.begin() as conn:
        assert auth.keep_web_session(conn, session_id) == "active"

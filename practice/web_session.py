"""The session cookie's HTTP route, served beside the Streamlit app by serve.py (st.App).

A Streamlit script cannot set an HttpOnly cookie: it only reads the cookies the browser sent
(`st.context.cookies`). So at sign-in the app hands the browser a one-time ticket (valid for
auth.TICKET_SECONDS), which a small script on the page POSTs here as JSON; the answer sets
`headway_session=<random token>; HttpOnly; SameSite=Strict; Path=/` (and `Secure` over
HTTPS). The next page load (a reload, a new tab, a link) sends the cookie with Streamlit's
WebSocket handshake and `ui.route()` resumes the session from it. DELETE clears the cookie
at sign-out, after the app has revoked the session itself. Neither secret ever appears in a
URL, so neither reaches an access log; the database keeps their SHA-256 digests only.
"""

from __future__ import annotations

import functools
import json
from urllib.parse import urlsplit

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from practice import auth, db

COOKIE_NAME = "headway_session"
SESSION_PATH = "/api/session"
# A ticket is ~43 characters; a body much larger than that is not one.
_MAX_BODY_BYTES = 1024


def session_routes() -> list[Route]:
    """The route st.App serves beside Streamlit: POST exchanges a ticket, DELETE signs out."""
    return [
        Route(SESSION_PATH, exchange_ticket, methods=["POST"]),
        Route(SESSION_PATH, clear_cookie, methods=["DELETE"]),
    ]


async def exchange_ticket(request: Request) -> Response:
    """A valid one-time ticket in a same-origin JSON body buys the session cookie."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    body = await request.body()
    ticket = _ticket_of(body) if len(body) <= _MAX_BODY_BYTES else None
    if ticket is None:
        return _answer(400)
    token = await run_in_threadpool(_redeem, ticket)
    if token is None:
        return _answer(403)
    response = _answer(204)
    response.set_cookie(
        COOKIE_NAME,
        token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )  # no max_age: the browser forgets it when it closes; the server ends it sooner
    return response


async def clear_cookie(request: Request) -> Response:
    """Revoke the cookie's session (if still live) and tell the browser to forget the cookie."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    token = request.cookies.get(COOKIE_NAME)
    if token:
        await run_in_threadpool(_revoke, token)
    response = _answer(204)
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _refusal(request: Request) -> Response | None:
    """403 unless the request comes from a page of this very site; 415 unless it is JSON.

    Browsers send Origin on every POST and DELETE fetch, and a cross-site page cannot send
    JSON without a CORS preflight, which this route never grants (OWASP CSRF Prevention
    Cheat Sheet: verify the origin; custom request headers).
    """
    origin = request.headers.get("origin")
    if not origin or urlsplit(origin).netloc != request.headers.get("host"):
        return _answer(403)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _answer(415)
    return None


def _ticket_of(body: bytes) -> str | None:
    try:
        ticket = json.loads(body).get("ticket")
    except (ValueError, AttributeError):  # not JSON, or not an object
        return None
    return ticket if isinstance(ticket, str) and 0 < len(ticket) <= 100 else None


def _answer(status: int) -> Response:
    return Response(status_code=status, headers={"Cache-Control": "no-store"})


@functools.cache
def _engine() -> Engine:
    """The practice database (already migrated by the app, which made the ticket)."""
    return db.create_engine_for()


def _redeem(ticket: str) -> str | None:
    return db.run_transaction(_engine(), lambda conn: auth.redeem_ticket(conn, ticket))


def _revoke(token: str) -> None:
    db.run_transaction(_engine(), lambda conn: auth.end_web_session_by_token(conn, token))

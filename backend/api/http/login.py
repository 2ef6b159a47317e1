"""Browser sign-in: POST /api/auth/login, GET|POST /api/auth/logout, GET /api/auth/link/{secret}.

A good name and password (of an active user) start a server-side session
(`backend.catalog.sessions`): its secret goes into the `mpr_session` cookie — HttpOnly,
SameSite=Strict, Path=/, and Secure when the browser came over TLS (directly, or through a trusted
proxy's X-Forwarded-Proto). A one-time login link (printed by `mpr up`) does the same once.

The login page's form posts here as a plain HTML form: the answer is a 303 back to `/` (with
`?login_error=wrong|throttled` on failure). A JSON body gets a JSON answer instead (200, 401,
429). Failures are throttled per user name and per real client address
(`backend.api.throttle`); every login, failure, link and logout is in the audit log.
A request whose Origin names another host is refused (403): no cross-site login or logout.
"""
from __future__ import annotations

import math
from urllib.parse import urlsplit

from litestar import Request, Response, get, post, route
from litestar.datastructures import Cookie
from litestar.params import FromPath

from backend.api import identity as who
from backend.catalog import audit, sessions
from backend.catalog.accounts import check_password

MAX_LOGIN_BODY = 16 * 1024


def _client(request: Request) -> str:
    peer = request.client.host if request.client else ""
    return who.client_address(peer, request.headers.get("x-forwarded-for"), request.app.state.settings.trusted_proxies)


def _secure(request: Request) -> bool:
    peer = request.client.host if request.client else ""
    return who.is_secure(request.url.scheme, peer, request.headers.get("x-forwarded-proto"),
                         request.app.state.settings.trusted_proxies)


def session_cookie(request: Request, secret: str, max_age: int | None = None) -> Cookie:
    return Cookie(key=who.SESSION_COOKIE, value=secret, path="/", httponly=True, samesite="strict",
                  secure=_secure(request), max_age=max_age)


def _foreign_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower()


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("content-type", "").lower()


def _to_page(error: str = "", cookies: list[Cookie] | None = None) -> Response:
    location = "/" + (f"?login_error={error}" if error else "")
    return Response(b"", status_code=303, headers={"Location": location, "Cache-Control": "no-store"},
                    cookies=cookies or [])


async def _credentials(request: Request) -> tuple[str, str]:
    if _wants_json(request):
        try:
            body = await request.json()
        except Exception:
            body = {}
    else:
        body = dict(await request.form())
    body = body if isinstance(body, dict) else {}
    return str(body.get("username") or "").strip(), str(body.get("password") or "")


@post("/api/auth/login", request_max_body_size=MAX_LOGIN_BODY, status_code=200, include_in_schema=False)
async def login(request: Request) -> Response:
    as_json = _wants_json(request)
    if _foreign_origin(request):
        return Response({"ok": False, "message": "cross-origin login refused"}, status_code=403)
    username, password = await _credentials(request)
    client = _client(request)
    throttle = request.app.state.login_throttle
    wait = throttle.retry_after(username, client)
    if wait:
        throttle.failed(username, client)  # attempts while blocked count against the address
        await audit.record("login", actor=f"user:{username}"[:200], ok=False, detail="throttled", client=client)
        if as_json:
            return Response({"ok": False, "message": "too many failed logins; try again later"}, status_code=429,
                            headers={"Retry-After": str(math.ceil(wait))})
        return _to_page("throttled")
    user = await check_password(username, password) if username and password else None
    if user is None:
        throttle.failed(username, client)
        await audit.record("login", actor=f"user:{username}"[:200], ok=False, detail="wrong name or password",
                           client=client)
        if as_json:
            return Response({"ok": False, "message": "wrong user name or password"}, status_code=401)
        return _to_page("wrong")
    throttle.succeeded(username, client)
    secret = await sessions.create_session(user.id, client)
    await audit.record("login", actor=f"user:{user.username}", user_id=user.id, object_type="user",
                       object_id=user.id, client=client)
    cookie = session_cookie(request, secret, sessions.SESSION_HOURS * 3600)
    if as_json:
        return Response({"ok": True, "username": user.username, "role": user.role}, cookies=[cookie])
    return _to_page(cookies=[cookie])


@route("/api/auth/logout", http_method=["GET", "POST"], include_in_schema=False)
async def logout(request: Request) -> Response:
    """End this browser's session (SameSite=Strict: a cross-site link carries no cookie to end)."""
    if _foreign_origin(request):
        return Response({"ok": False, "message": "cross-origin logout refused"}, status_code=403)
    secret = who.cookie_value(request.headers.get("cookie"))
    if secret:
        found = await sessions.session_user(secret)
        await sessions.revoke_session(secret)
        if found is not None:
            session_id, user = found
            from backend.api.graphql import live_sockets

            live_sockets.revoked("session", session_id)
            await audit.record("logout", actor=f"user:{user.username}", user_id=user.id, object_type="user",
                               object_id=user.id, client=_client(request))
    gone = Cookie(key=who.SESSION_COOKIE, value="", path="/", httponly=True, samesite="strict",
                  secure=_secure(request), max_age=0)
    return _to_page(cookies=[gone])


@get("/api/auth/link/{secret:str}", include_in_schema=False)
async def login_link(request: Request, secret: FromPath[str]) -> Response:
    """A one-time login link: the first visit signs the browser in; every later one is refused."""
    client = _client(request)
    user = await sessions.consume_link(secret)
    if user is None:
        await audit.record("login_link", actor="anonymous", ok=False, detail="used, expired or unknown link",
                           client=client)
        return Response("This login link was already used or has expired. Sign in with your user name and "
                        "password, or restart `mpr up` for a new link.", status_code=403, media_type="text/plain")
    session_secret = await sessions.create_session(user.id, client)
    await audit.record("login_link", actor=f"user:{user.username}", user_id=user.id, object_type="user",
                       object_id=user.id, client=client)
    return _to_page(cookies=[session_cookie(request, session_secret, sessions.SESSION_HOURS * 3600)])

"""The browser boundary as one ASGI wrapper: Host allow-list, Origin check, security headers.

`guard(app, policy, csp)` wraps an ASGI app (the Litestar app through its middleware list, the
Reflex app — pages, `/_event`, `/_upload` — in ui/mount.py):
- a request whose Host is not one of the server's names is refused with 400 (DNS rebinding);
- a request or websocket whose Origin is not one of the server's origins is refused with 403
  (a websocket is closed before it is accepted, which the server answers with 403). A request
  without Origin is not a cross-site browser request (scripts, curl, same-origin navigation);
- every HTTP response gets nosniff, Referrer-Policy, frame-ancestors/X-Frame-Options,
  Cross-Origin-Opener/Resource-Policy and the page CSP, unless the route set its own (/media
  sets `sandbox`).
CORS stays an explicit list (Reflex's middleware, fed from the same policy in rxconfig.py);
nothing here ever reflects an Origin.
"""
from __future__ import annotations

from backend.api.origins import OriginPolicy, normalize_origin
from backend.config import Settings


def page_csp(policy: OriginPolicy, settings: Settings) -> str:
    """The Content-Security-Policy of the app's pages (Reflex UI, admin, GraphQL explorer).

    Reflex's prerendered page boots with inline scripts and its event handlers run `eval`
    (rx.call_script), so scripts need 'unsafe-inline' 'unsafe-eval'; everything else is tight:
    same-origin connections (plus the origins' websocket twins), no plugins, no framing, forms
    and <base> to this origin only. S3 storage adds the bucket endpoint for playback."""
    remote = ""
    if settings.storage == "s3":
        endpoint = normalize_origin(settings.aws_endpoint_url) if settings.aws_endpoint_url else None
        remote = " " + (endpoint or "https://*.amazonaws.com")
    sockets = " ".join(policy.websocket_origins())
    return (
        "default-src 'self'; "
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob:{remote}; "
        f"media-src 'self' blob:{remote}; "
        "font-src 'self' data:; "
        f"connect-src 'self' {sockets}{remote}; "
        "worker-src 'self' blob:; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def security_headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
        (b"content-security-policy", csp.encode()),
    ]


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _refuse(scope, send, status: int, message: str) -> None:
    if scope["type"] == "websocket":
        reason = "Host not allowed" if status == 400 else "Origin not allowed"  # ASCII, under 123 bytes
        await send({"type": "websocket.close", "code": 1008, "reason": reason})
        return
    body = message.encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def check(scope, policy: OriginPolicy) -> tuple[int, str] | None:
    """(status, reason) when this request or websocket is refused, None when it may pass."""
    host = _header(scope, b"host")
    if not policy.host_allowed(host):
        return 400, (f"Host {host!r} is not a name of this server: browse to its own address, or add the name "
                     "to MPR_PUBLIC_URL / MPR_ALLOWED_HOSTS")
    origin = _header(scope, b"origin")
    if not policy.origin_allowed(origin):
        return 403, f"cross-origin request refused: Origin {origin!r} is not this server's"
    return None


def guard(app, policy: OriginPolicy, csp: str):
    """`app` behind the Host/Origin checks, its HTTP responses with the security headers."""
    extra = security_headers(csp)

    async def guarded(scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        refused = check(scope, policy)
        if refused is not None:
            await _refuse(scope, send, *refused)
            return
        if scope["type"] == "websocket":
            await app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {key.lower() for key, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return guarded


def guard_factory(settings: Settings, policy: OriginPolicy | None = None):
    """A Litestar middleware (app -> guarded app) for `settings`."""
    from backend.api.origins import policy_for

    policy = policy or policy_for(settings)
    csp = page_csp(policy, settings)
    return lambda app: guard(app, policy, csp)

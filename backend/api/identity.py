"""Who is calling: a browser session, a personal API token or the master token — and from where.

`authenticate` turns a request's `Authorization: Bearer …` header or `mpr_session` cookie into an
`Identity` (None when neither is valid). An identity's power is its user's role, and for a
personal token also the token's scope (a `read` token of an admin can still only read). The master
token (`MPR_API_TOKEN`) is an admin bootstrap with no user behind it.

`client_address` and `is_secure` trust `X-Forwarded-For` / `X-Forwarded-Proto` only when the
peer is one of `settings.trusted_proxies` (loopback by default: nginx on the same machine).
"""
from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from http.cookies import SimpleCookie

from backend.api.auth import bearer_token
from backend.catalog.accounts import ROLE_RANK, User
from backend.catalog.api_tokens import SCOPE_RANK, looks_like_token, token_user
from backend.catalog.sessions import session_user

SESSION_COOKIE = "mpr_session"
MASTER = "master"
SESSION = "session"
TOKEN = "token"


@dataclass(frozen=True)
class Identity:
    kind: str  # session | token | master
    user: User | None
    role: str
    scope: str | None = None  # a personal token's scope; None for sessions (the role decides)
    token_id: int | None = None
    session_id: int | None = None
    client: str = ""

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def actor(self) -> str:
        if self.kind == MASTER:
            return "master-token"
        name = self.user.username if self.user else "?"
        return f"token:{self.token_id}:{name}" if self.kind == TOKEN else f"user:{name}"

    def allows(self, role: str, scope: str) -> bool:
        """True when this identity's role reaches `role` and, for a token, its scope reaches `scope`."""
        if ROLE_RANK[self.role] < ROLE_RANK[role]:
            return False
        return self.scope is None or SCOPE_RANK[self.scope] >= SCOPE_RANK[scope]


def master_identity(client: str = "") -> Identity:
    return Identity(kind=MASTER, user=None, role="admin", scope="admin", client=client)


def cookie_value(cookie_header: str | None, name: str = SESSION_COOKIE) -> str | None:
    if not cookie_header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except Exception:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


async def from_bearer(value: str | None, master_token: str | None, client: str = "") -> Identity | None:
    given = bearer_token(value)
    if not given:
        return None
    if master_token and hmac.compare_digest(given.encode(), master_token.encode()):
        return master_identity(client)
    if looks_like_token(given):
        found = await token_user(given)
        if found is not None:
            info, user = found
            return Identity(kind=TOKEN, user=user, role=user.role, scope=info.scope, token_id=info.id, client=client)
    return None


async def from_session(secret: str | None, client: str = "") -> Identity | None:
    found = await session_user(secret or "")
    if found is None:
        return None
    session_id, user = found
    return Identity(kind=SESSION, user=user, role=user.role, session_id=session_id, client=client)


async def authenticate(authorization: str | None, cookie_header: str | None, master_token: str | None,
                       client: str = "") -> Identity | None:
    """The caller of a request: a bearer token when one is sent (a wrong one is not rescued by a
    cookie), else the session cookie."""
    if authorization:
        return await from_bearer(authorization, master_token, client)
    return await from_session(cookie_value(cookie_header), client)


def _in(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for net in networks:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[str, ...]) -> str:
    """The real client: the peer, or — when the peer is a trusted proxy — the right-most address of
    X-Forwarded-For that is not itself a trusted proxy."""
    peer = peer or ""
    if not forwarded_for or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop
    return hops[0] if hops else peer


def is_secure(scheme: str, peer: str | None, forwarded_proto: str | None, trusted: tuple[str, ...]) -> bool:
    """Whether the browser reached us over TLS: directly, or through a trusted proxy that says so."""
    if scheme in ("https", "wss"):
        return True
    return bool(forwarded_proto) and _in(peer or "", trusted) and forwarded_proto.split(",")[0].strip() == "https"

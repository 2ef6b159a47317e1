"""Open GraphQL websockets by who opened them, so revoking a token or session, or deactivating a
user, closes their subscriptions at once (in this process); `watch` also re-checks every
RECHECK_SECONDS, which catches a revocation made by another process (`mpr token revoke`)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Awaitable, Callable

log = logging.getLogger("mpr.api.sockets")

RECHECK_SECONDS = 5.0
CLOSE_REVOKED = 4403
_wakers: dict[tuple, set[asyncio.Event]] = {}


def keys_of(identity) -> list[tuple]:
    keys = []
    if identity.token_id is not None:
        keys.append(("token", identity.token_id))
    if identity.session_id is not None:
        keys.append(("session", identity.session_id))
    if identity.user_id is not None:
        keys.append(("user", identity.user_id))
    return keys


def revoked(kind: str, ident: int) -> None:
    """Wake every socket opened by ("token" | "session" | "user", id) so it re-checks now."""
    for event in list(_wakers.get((kind, ident), ())):
        event.set()


async def watch(identity, still_valid: Callable[[], Awaitable[bool]], close: Callable[[], Awaitable[None]],
                is_open: Callable[[], bool]) -> None:
    """Run for the life of a socket: close it as soon as its credential is no longer valid."""
    wake = asyncio.Event()
    keys = keys_of(identity)
    for key in keys:
        _wakers.setdefault(key, set()).add(wake)
    try:
        while is_open():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), RECHECK_SECONDS)
            wake.clear()
            if not is_open():
                return
            try:
                valid = await still_valid()
            except Exception:  # a database hiccup is not a revocation
                log.warning("could not re-check a socket's credential", exc_info=True)
                continue
            if not valid:
                await close()
                return
    finally:
        for key in keys:
            waiters = _wakers.get(key)
            if waiters is not None:
                waiters.discard(wake)
                if not waiters:
                    _wakers.pop(key, None)

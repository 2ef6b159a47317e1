"""A few seconds' memory of verified credentials, so a busy client's requests do not each cost
the token (or session) row and its user row.

Keys are the SHA-256 of the whole secret (only the exact secret hits; a wrong one always goes to
the database). An entry lives at most TTL seconds and never past the credential's own expiry.
Everything this process does that can take a credential's power away (revoking a token, ending
sessions, changing a user's role, deactivating or deleting a user, a new password) calls
`forget_all`, so here revocation is immediate; a change made elsewhere (another worker process,
piccolo-admin's user form, SQL) is seen within TTL seconds.
"""
from __future__ import annotations

import datetime as dt
import time

TTL = 5.0  # seconds
MAX_ENTRIES = 4096

_entries: dict[str, tuple[float, object]] = {}


def _clock() -> float:
    return time.monotonic()


def get(key: str) -> object | None:
    entry = _entries.get(key)
    if entry is None:
        return None
    if entry[0] <= _clock():
        _entries.pop(key, None)
        return None
    return entry[1]


def put(key: str, value: object, expires_at: dt.datetime | None = None) -> None:
    """Remember `value` for TTL seconds, or until `expires_at` (aware) when that comes first."""
    ttl = TTL
    if expires_at is not None:
        ttl = min(ttl, (expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds())
    if ttl <= 0:
        return
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[key] = (_clock() + ttl, value)


def forget_all() -> None:
    _entries.clear()

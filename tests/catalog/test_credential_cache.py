"""credential_cache: verified credentials are remembered for TTL seconds at most, never past their own
expiry, only under the exact secret's hash, and forgotten at once when this process takes power away."""
from __future__ import annotations

import datetime as dt

import pytest

from backend.catalog import credential_cache


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(credential_cache, "_clock", lambda: now[0])
    credential_cache.forget_all()
    yield now
    credential_cache.forget_all()


def test_entries_live_ttl_seconds(clock):
    credential_cache.put("token:a", "who")
    assert credential_cache.get("token:a") == "who" and credential_cache.get("token:b") is None
    clock[0] += credential_cache.TTL - 0.01
    assert credential_cache.get("token:a") == "who"
    clock[0] += 0.02
    assert credential_cache.get("token:a") is None


def test_never_past_the_credentials_expiry(clock):
    utc = dt.timezone.utc
    credential_cache.put("token:soon", "who", dt.datetime.now(utc) + dt.timedelta(seconds=1))
    clock[0] += 1.5
    assert credential_cache.get("token:soon") is None
    credential_cache.put("token:gone", "who", dt.datetime.now(utc) - dt.timedelta(seconds=1))
    assert credential_cache.get("token:gone") is None


def test_forget_all(clock):
    credential_cache.put("session:x", "who")
    credential_cache.forget_all()
    assert credential_cache.get("session:x") is None


async def test_account_changes_forget(db):
    """Role changes, deactivation and token revocation in this process forget every cached credential."""
    from backend.catalog import accounts, api_tokens

    user = await accounts.create_user("cache-user", "long enough pw", "editor")
    token, info = await api_tokens.create_token(user, "t", "write")
    assert await api_tokens.token_user(token) is not None
    assert credential_cache.get("token:" + api_tokens._hash(token)) is not None
    await accounts.update_user(user.id, active=False)
    assert credential_cache.get("token:" + api_tokens._hash(token)) is None
    assert await api_tokens.token_user(token) is None
    await accounts.update_user(user.id, active=True)
    assert (await api_tokens.token_user(token))[1].role == "editor"
    await accounts.set_role(user.id, "viewer")
    assert (await api_tokens.token_user(token))[1].role == "viewer"
    await api_tokens.revoke_token(info.id)
    assert await api_tokens.token_user(token) is None

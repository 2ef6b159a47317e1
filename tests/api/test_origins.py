"""The origin/Host policy (backend/api/origins.py) and the guard's decisions (backend/api/guard.py)."""
from __future__ import annotations

import pytest

from backend.api.guard import check, page_csp
from backend.api.origins import normalize_origin, policy_for, split_host, unnamed_wildcard
from backend.config import Settings


def scope(host: str | None = None, origin: str | None = None, kind: str = "http") -> dict:
    headers = [(b"host", host.encode())] if host is not None else []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": kind, "headers": headers}


def test_loopback_default_accepts_its_own_twins_only():
    policy = policy_for(Settings(host="127.0.0.1", port=8123))
    assert policy.origins == ("http://127.0.0.1:8123", "http://[::1]:8123", "http://localhost:8123")
    assert check(scope("127.0.0.1:8123", "http://localhost:8123"), policy) is None
    assert check(scope("localhost:8123"), policy) is None
    assert check(scope(None), policy) is None  # no Host: not a browser
    assert check(scope("127.0.0.1:8123", "http://127.0.0.1:9999"), policy)[0] == 403  # another local site
    assert check(scope("127.0.0.1:8123", "http://evil.example"), policy)[0] == 403
    assert check(scope("127.0.0.1:8123", "null"), policy)[0] == 403
    status, reason = check(scope("attacker.example:8123", "http://attacker.example:8123"), policy)
    assert status == 400 and "MPR_PUBLIC_URL" in reason
    assert check(scope("attacker.example", None, kind="websocket"), policy)[0] == 400


def test_public_url_and_allowed_hosts():
    policy = policy_for(Settings(host="0.0.0.0", port=8000, public_url="https://MPR.example.com/app/",
                                 allowed_hosts="mpr.lan, 10.0.0.5:9000"))
    assert "https://mpr.example.com" in policy.origins and "http://mpr.example.com" not in policy.origins
    assert {"http://mpr.lan:8000", "https://mpr.lan", "http://10.0.0.5:9000"} <= set(policy.origins)
    assert check(scope("mpr.example.com", "https://mpr.example.com"), policy) is None
    assert check(scope("mpr.example.com:443", "https://mpr.example.com:443"), policy) is None  # default port
    assert check(scope("MPR.LAN:8000", "http://mpr.lan:8000"), policy) is None
    assert check(scope("evil.mpr.example.com"), policy)[0] == 400
    assert check(scope("mpr.example.com", "https://mpr.example.com.evil.example"), policy)[0] == 403
    assert check(scope("10.0.0.6:9000"), policy)[0] == 400


def test_bad_public_url_is_refused():
    with pytest.raises(ValueError, match="MPR_PUBLIC_URL"):
        policy_for(Settings(public_url="mpr.example.com"))


def test_parsing():
    assert split_host("[::1]:8000") == ("::1", 8000)
    assert split_host("Example.COM.") == ("example.com", None)
    assert normalize_origin("HTTP://Example.com:80") == "http://example.com"
    assert normalize_origin("https://a.example:8443/") == "https://a.example:8443"
    assert normalize_origin("null") is None and normalize_origin("file://x") is None
    assert normalize_origin("http://a.example/path") is None


def test_page_csp_is_explicit():
    settings = Settings(port=8001)
    csp = page_csp(policy_for(settings), settings)
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "*" not in csp
    assert "ws://127.0.0.1:8001" in csp and "[::1]" not in csp  # CSP has no IPv6 literal syntax
    s3 = settings.with_(storage="s3", aws_endpoint_url="http://127.0.0.1:5000")
    assert "media-src 'self' blob: http://127.0.0.1:5000" in page_csp(policy_for(s3), s3)


def test_rxconfig_cors_list_is_the_policy(monkeypatch):
    import importlib

    import rxconfig

    monkeypatch.setenv("MPR_PORT", "8765")
    monkeypatch.setenv("MPR_PUBLIC_URL", "https://mpr.example.com")
    try:
        config = importlib.reload(rxconfig).config
        assert tuple(config.cors_allowed_origins) == policy_for(Settings.from_env()).origins
        assert "*" not in config.cors_allowed_origins and "https://mpr.example.com" in config.cors_allowed_origins
    finally:
        monkeypatch.undo()
        importlib.reload(rxconfig)


def test_wildcard_bind_without_a_name_is_warned_about():
    assert "MPR_PUBLIC_URL" in unnamed_wildcard(Settings(host="0.0.0.0"))
    assert unnamed_wildcard(Settings(host="0.0.0.0", public_url="https://mpr.example.com")) is None
    assert unnamed_wildcard(Settings(host="0.0.0.0", allowed_hosts="mpr.lan")) is None
    assert unnamed_wildcard(Settings(host="127.0.0.1")) is None


def test_callback_url_host_is_a_server_name_not_an_origin():
    policy = policy_for(Settings(callback_url="https://hooks.example.net/base"))
    assert check(scope("hooks.example.net"), policy) is None
    assert not any("hooks.example.net" in o for o in policy.origins)

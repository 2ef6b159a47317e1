"""Pure parts of access control: login throttling with expiring blocks, the real client address and
TLS behind trusted proxies only, who an identity may be, and the CLI for users and tokens."""
from __future__ import annotations

import os
import subprocess
import sys

from backend.api.identity import Identity, client_address, cookie_value, is_secure, master_identity
from backend.api.throttle import LoginThrottle
from backend.catalog.accounts import User
from backend.config import REPO_ROOT

LOOPBACK = ("127.0.0.1/8", "::1")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_user_is_blocked_alone_and_the_block_expires():
    clock = Clock()
    throttle = LoginThrottle(per_user=5, per_client=50, window=900, block=900, clock=clock)
    for _ in range(21):
        if not throttle.retry_after("alice", "10.0.0.1"):
            throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") == 900
    assert throttle.retry_after("ALICE ", "10.0.0.9") == 900  # the name, from anywhere, any case
    assert throttle.retry_after("bob", "10.0.0.1") == 0  # same address, another user: free
    clock.now += 600
    throttle.failed("alice", "10.0.0.1")  # trying on while blocked does not push the end of the block
    assert throttle.retry_after("alice", "10.0.0.1") == 300
    clock.now += 301
    assert throttle.retry_after("alice", "10.0.0.1") == 0
    throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") == 0  # the count started again


def test_an_address_spraying_names_is_blocked_and_failures_age_out():
    clock = Clock()
    throttle = LoginThrottle(per_user=5, per_client=10, window=60, block=120, clock=clock)
    for i in range(9):
        throttle.failed(f"user{i}", "203.0.113.9")
    clock.now += 61  # the first nine are older than the window now
    throttle.failed("user9", "203.0.113.9")
    assert throttle.retry_after("anyone", "203.0.113.9") == 0
    for i in range(9):
        throttle.failed(f"again{i}", "203.0.113.9")
    assert throttle.retry_after("anyone", "203.0.113.9") == 120
    assert throttle.retry_after("anyone", "198.51.100.7") == 0


def test_success_clears_the_name():
    throttle = LoginThrottle(per_user=3, clock=Clock())
    throttle.failed("carol", "a")
    throttle.failed("carol", "a")
    throttle.succeeded("carol", "a")
    throttle.failed("carol", "a")
    throttle.failed("carol", "a")
    assert throttle.retry_after("carol", "a") == 0


def test_forwarded_headers_count_only_from_trusted_proxies():
    assert client_address("127.0.0.1", "203.0.113.9", LOOPBACK) == "203.0.113.9"
    assert client_address("127.0.0.1", "6.6.6.6, 203.0.113.9", LOOPBACK) == "203.0.113.9"  # the proxy's own entry
    assert client_address("127.0.0.1", "203.0.113.9, 127.0.0.1", LOOPBACK) == "203.0.113.9"
    assert client_address("198.51.100.7", "203.0.113.9", LOOPBACK) == "198.51.100.7"  # not a proxy we trust
    assert client_address("127.0.0.1", "203.0.113.9", ()) == "127.0.0.1"
    assert client_address("127.0.0.1", None, LOOPBACK) == "127.0.0.1"
    assert is_secure("https", "198.51.100.7", None, LOOPBACK)
    assert is_secure("http", "127.0.0.1", "https", LOOPBACK)
    assert not is_secure("http", "198.51.100.7", "https", LOOPBACK)
    assert not is_secure("http", "127.0.0.1", "http", LOOPBACK)
    assert not is_secure("http", "127.0.0.1", "https", ())


def test_cookie_parsing():
    assert cookie_value("a=1; mpr_session=abc") == "abc"
    assert cookie_value("mpr_session=") is None and cookie_value(None) is None
    assert cookie_value('bad"cookie; mpr_session=x') in (None, "x")


def test_what_an_identity_allows():
    admin = User(id=1, username="a", email="", role="admin", active=True)
    session = Identity(kind="session", user=admin, role="admin")
    read_token = Identity(kind="token", user=admin, role="admin", scope="read", token_id=3)
    assert session.allows("admin", "admin") and session.actor == "user:a"
    assert read_token.allows("viewer", "read") and not read_token.allows("editor", "write")
    assert read_token.actor == "token:3:a"
    viewer = Identity(kind="session", user=User(2, "v", "", "viewer", True), role="viewer")
    assert viewer.allows("viewer", "read") and not viewer.allows("editor", "write")
    master = master_identity()
    assert master.allows("admin", "admin") and master.actor == "master-token" and master.user_id is None


def mpr(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_users_and_tokens(tmp_path):
    env = {**os.environ, "MPR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "MPR_DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(REPO_ROOT)}
    assert mpr("migrate", env=env).returncode == 0
    made = mpr("user", "create", "erin", "--role", "editor", "--password", "erin password", env=env)
    assert made.returncode == 0 and "role editor" in made.stdout, made.stderr
    again = mpr("user", "create", "erin", "--role", "viewer", "--password", "erin password", env=env)
    assert again.returncode != 0 and "exists" in again.stderr
    too_much = mpr("token", "create", "--user", "erin", "--scope", "admin", env=env)
    assert too_much.returncode != 0 and "up to scope 'write'" in too_much.stderr
    created = mpr("token", "create", "--user", "erin", "--scope", "write", "--name", "ci", "--expires-days", "2",
                  env=env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("mpr_")
    listed = mpr("token", "list", "--user", "erin", env=env).stdout
    assert token.split("_")[1] in listed and token not in listed and "write" in listed
    assert mpr("token", "revoke", "1", env=env).returncode == 0
    assert "revoked" in mpr("token", "list", env=env).stdout
    assert mpr("user", "set", "erin", "--active", "no", env=env).returncode == 0
    assert "DEACTIVATED" in mpr("user", "list", env=env).stdout


def test_login_link_of_mpr_up_names_the_first_active_admin(tmp_path):
    env = {**os.environ, "MPR_DATABASE_URL": f"sqlite:///{tmp_path / 'up.sqlite'}", "MPR_DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(REPO_ROOT)}
    assert mpr("migrate", env=env).returncode == 0
    assert mpr("user", "create", "root", "--role", "admin", "--password", "root password", env=env).returncode == 0
    code = ("import asyncio; from backend.cli import _login_link; from backend.config import Settings; "
            "print(asyncio.run(_login_link(Settings.from_env().with_(port=8123))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=60).stdout
    assert "http://127.0.0.1:8123/api/auth/link/" in out and "'root'" in out

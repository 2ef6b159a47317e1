"""Login throttling per user name AND per real client address, with blocks that expire.

After `per_user` failures for one name within `window` seconds that name is blocked for `block`
seconds — only that name: another user logging in from the same address (everyone behind one
proxy, or the UI on 127.0.0.1) is not affected. A client address is blocked after `per_client`
failures (a password spray across names). A success clears its name's count. In memory, per
process: a restart forgets it, which only ever unblocks.
"""
from __future__ import annotations

import time
from collections import deque


class LoginThrottle:
    def __init__(self, per_user: int = 5, per_client: int = 50, window: float = 900.0, block: float = 900.0,
                 clock=time.monotonic):
        self.per_user, self.per_client, self.window, self.block = per_user, per_client, window, block
        self.clock = clock
        self._failures: dict[str, deque] = {}
        self._blocked: dict[str, float] = {}

    @staticmethod
    def _keys(username: str, client: str) -> tuple[str, str]:
        return "u:" + (username or "").strip().lower(), "c:" + (client or "")

    def retry_after(self, username: str, client: str) -> float:
        """Seconds until this name/address may try again (0: now)."""
        now = self.clock()
        left = 0.0
        for key in self._keys(username, client):
            until = self._blocked.get(key)
            if until is not None:
                if until <= now:
                    del self._blocked[key]
                    self._failures.pop(key, None)
                else:
                    left = max(left, until - now)
        return left

    def failed(self, username: str, client: str) -> None:
        now = self.clock()
        for key, limit in zip(self._keys(username, client), (self.per_user, self.per_client)):
            times = self._failures.setdefault(key, deque())
            times.append(now)
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= limit and key not in self._blocked:  # a block runs out; more tries do not extend it
                self._blocked[key] = now + self.block
        if len(self._failures) > 10000:  # forget the quiet ones
            for key in [k for k, t in self._failures.items() if not t or t[-1] <= now - self.window]:
                del self._failures[key]

    def succeeded(self, username: str, client: str) -> None:
        self._failures.pop(self._keys(username, client)[0], None)

"""The `MPR-Signature` header of a webhook delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256>`,
the HMAC keyed with the endpoint's secret over `f"{t}.{body}"` (the exact bytes of the body).

Receivers check the HMAC and that `t` is recent (a replayed old delivery fails the tolerance);
docs/webhooks.md has the receiver's side, which `verify` here mirrors.
"""
from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "MPR-Signature"
TOLERANCE = 300  # seconds a receiver should accept between `t` and its clock


def sign(secret: str, body: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: str, header: str, tolerance: int = TOLERANCE, now: float | None = None) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        t = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))

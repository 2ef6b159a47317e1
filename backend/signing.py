"""HMAC signing of job callbacks (stdlib only, so the Lambda can import it without the backend's deps).

Each job gets its own key derived from `MPR_CALLBACK_SECRET`, so a leaked signature for one job
cannot be replayed against another.
"""
from __future__ import annotations

import hashlib
import hmac

HEADER = "X-MPR-Signature"


def callback_key(secret: str, job_id: int | str) -> bytes:
    return hmac.new(secret.encode(), f"job:{job_id}".encode(), hashlib.sha256).digest()


def sign_body(secret: str, job_id: int | str, body: bytes) -> str:
    return hmac.new(callback_key(secret, job_id), body, hashlib.sha256).hexdigest()


def verify_body(secret: str | None, job_id: int | str, body: bytes, signature: str | None) -> bool:
    if not secret or not signature:
        return False
    expected = sign_body(secret, job_id, body)
    return hmac.compare_digest(expected, signature.strip().lower())

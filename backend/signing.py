"""HMAC signing of job callbacks (stdlib only, so the Lambda can import it without the backend's deps).

Each job gets its own key derived from `MPR_CALLBACK_SECRET`, so a leaked signature for one job
cannot be replayed against another. The signature covers, besides the raw body:

- a timestamp (unix seconds, header `X-MPR-Timestamp`): the server refuses a callback signed
  more than `tolerance` seconds away from its clock (`MPR_CALLBACK_TOLERANCE`, default 300 s),
  so a captured callback is worthless a few minutes later;
- the execution nonce (header `X-MPR-Nonce`): random, made when the attempt is dispatched,
  stored on the job row and carried in the Step Functions input; the server accepts only the
  current attempt's, so a callback captured from an earlier attempt (or an earlier job that had
  the same id) is refused even inside the time window.

    signature = hex HMAC-SHA256(job key, "mpr-callback-v2\\n<timestamp>\\n<nonce>\\n" + body)
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "X-MPR-Signature"
TIMESTAMP_HEADER = "X-MPR-Timestamp"
NONCE_HEADER = "X-MPR-Nonce"
DEFAULT_TOLERANCE_S = 300
_PREFIX = b"mpr-callback-v2\n"

# verdicts of `check`
OK = "ok"
BAD_SIGNATURE = "bad or missing signature"
STALE = "timestamp outside the tolerance window"


def new_nonce() -> str:
    """A fresh execution nonce (128 random bits, hex)."""
    return secrets.token_hex(16)


def callback_key(secret: str, job_id: int | str) -> bytes:
    return hmac.new(secret.encode(), f"job:{job_id}".encode(), hashlib.sha256).digest()


def sign(secret: str, job_id: int | str, timestamp: int | str, nonce: str, body: bytes) -> str:
    message = _PREFIX + f"{timestamp}\n{nonce}\n".encode() + body
    return hmac.new(callback_key(secret, job_id), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, job_id: int | str, nonce: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The three headers of one callback: timestamp (now), nonce and the signature over both and `body`."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), NONCE_HEADER: nonce,
            HEADER: sign(secret, job_id, timestamp, nonce, body)}


def check(secret: str | None, job_id: int | str, body: bytes, headers, *,
          tolerance: float = DEFAULT_TOLERANCE_S, now: float | None = None) -> str:
    """OK when `headers` (any mapping with .get) sign `body` for this job within the time window;
    else the reason (BAD_SIGNATURE or STALE). The nonce is authenticated here; whether it is the
    current attempt's is the caller's check (it needs the job row)."""
    signature, timestamp = headers.get(HEADER), headers.get(TIMESTAMP_HEADER)
    nonce = headers.get(NONCE_HEADER)
    if not secret or not signature or not timestamp or not nonce or not timestamp.strip().isdigit():
        return BAD_SIGNATURE
    expected = sign(secret, job_id, timestamp.strip(), nonce, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        return BAD_SIGNATURE
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        return STALE
    return OK

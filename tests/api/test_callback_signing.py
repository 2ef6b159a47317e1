"""backend.signing: what the callback signature covers (body, timestamp, nonce, job) and the window."""
from __future__ import annotations

from backend import signing

SECRET = "s3cret"


def test_the_signature_covers_body_timestamp_nonce_and_job():
    body = b'{"attempt": 1}'
    headers = signing.signed_headers(SECRET, 7, "n1", body, now=1_000_000)
    assert headers[signing.TIMESTAMP_HEADER] == "1000000" and headers[signing.NONCE_HEADER] == "n1"
    assert signing.check(SECRET, 7, body, headers, now=1_000_000) == signing.OK
    assert signing.check(SECRET, 8, body, headers, now=1_000_000) == signing.BAD_SIGNATURE  # another job
    assert signing.check("other", 7, body, headers, now=1_000_000) == signing.BAD_SIGNATURE
    assert signing.check(None, 7, body, headers, now=1_000_000) == signing.BAD_SIGNATURE
    assert signing.check(SECRET, 7, body + b" ", headers, now=1_000_000) == signing.BAD_SIGNATURE
    for name, value in ((signing.NONCE_HEADER, "n2"), (signing.TIMESTAMP_HEADER, "1000001"),
                        (signing.TIMESTAMP_HEADER, "-5"), (signing.HEADER, "")):
        assert signing.check(SECRET, 7, body, {**headers, name: value}, now=1_000_000) == signing.BAD_SIGNATURE
    for missing in (signing.NONCE_HEADER, signing.TIMESTAMP_HEADER, signing.HEADER):
        assert signing.check(SECRET, 7, body, {k: v for k, v in headers.items() if k != missing},
                             now=1_000_000) == signing.BAD_SIGNATURE


def test_the_time_window():
    body = b"{}"
    headers = signing.signed_headers(SECRET, 7, "n", body, now=1_000_000)
    assert signing.check(SECRET, 7, body, headers, now=1_000_000 + 300) == signing.OK
    assert signing.check(SECRET, 7, body, headers, now=1_000_000 - 300) == signing.OK
    assert signing.check(SECRET, 7, body, headers, now=1_000_000 + 301) == signing.STALE
    assert signing.check(SECRET, 7, body, headers, now=1_000_000 - 301) == signing.STALE
    assert signing.check(SECRET, 7, body, headers, now=1_000_000 + 50, tolerance=30) == signing.STALE
    assert signing.check(SECRET, 7, body, headers, now=1_000_000 + 50, tolerance=60) == signing.OK


def test_nonces_are_fresh():
    assert len({signing.new_nonce() for _ in range(100)}) == 100

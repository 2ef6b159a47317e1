"""When a playback link handed out by the API stops working, read from the link itself.

Local files come as `/media/…?exp=<unix>&sig=…` (backend.api.http.media_links), S3 files as presigned
URLs (SigV4: X-Amz-Date + X-Amz-Expires; SigV2: Expires). The queue poller uses this to fetch a
fresh link for the open asset before the player's one runs out.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit


def expires_at(url: str) -> float | None:
    """Unix time at which `url` stops working, or None when it does not say (a link that lasts)."""
    if not url:
        return None
    query = {k.lower(): v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    try:
        if "exp" in query:
            return float(query["exp"])
        if "x-amz-date" in query and "x-amz-expires" in query:
            signed = dt.datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
            return signed.timestamp() + float(query["x-amz-expires"])
        if "expires" in query:
            return float(query["expires"])
    except ValueError:
        return None
    return None


def expires_within(url: str, seconds: float, now: float) -> bool:
    end = expires_at(url)
    return end is not None and end - now < seconds

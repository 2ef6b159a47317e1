"""Readable text from a Step Functions error (stdlib only: the Lambda image copies this file).

A failed Task state reports an `Error` name and a `Cause`; when a Lambda raised, the Cause is
its JSON payload (`errorType`, `errorMessage`). MPR's own failures are raised as
TranscodeFailed, whose message is already a person's sentence and is shown without the type.
FFmpeg names its input in its errors, and a Lambda's input is a presigned URL: the text made
here never carries one's signature (a job's error is shown to people).
"""
from __future__ import annotations

import json
import re

OWN_ERROR = "TranscodeFailed"


def lambda_error(cause: str | None) -> tuple[str, str] | None:
    """(errorType, errorMessage) when `cause` is a Lambda's error payload, else None."""
    cause = (cause or "").strip()
    try:
        payload = json.loads(cause) if cause.startswith("{") else None
    except json.JSONDecodeError:
        return None
    if isinstance(payload, dict) and payload.get("errorMessage"):
        return str(payload.get("errorType") or ""), str(payload["errorMessage"])
    return None


# a query string's values are percent-encoded: a raw ":" after it is the message's, not the URL's
_SIGNED_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\":]*X-Amz-(?:Signature|Credential)[^\s'\":]*")


def without_signatures(message: str) -> str:
    """`message` with the query string of every presigned URL removed: the URL still names the
    object, its signature and credential are gone."""
    return _SIGNED_QUERY.sub(r"\1", message)


def error_message(error: str | None, cause: str | None) -> str:
    """"Kind: message" from an Error/Cause pair, presigned URLs stripped; "" when both are empty."""
    error, cause = (error or "").strip(), (cause or "").strip()
    raised = lambda_error(cause)
    if raised:
        kind = raised[0] or error
        text = f"{kind}: {raised[1]}" if kind and kind != OWN_ERROR else raised[1]
    elif error:
        text = f"{error}: {cause}" if cause else error
    else:
        text = cause
    return without_signatures(text)

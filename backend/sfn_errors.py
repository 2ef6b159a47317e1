"""Readable text from a Step Functions error (stdlib only: the Lambda image copies this file).

A failed Task state reports an `Error` name and a `Cause`; when a Lambda raised, the Cause is
its JSON payload (`errorType`, `errorMessage`). MPR's own failures are raised as
TranscodeFailed, whose message is already a person's sentence and is shown without the type.
"""
from __future__ import annotations

import json

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


def error_message(error: str | None, cause: str | None) -> str:
    """"Kind: message" from an Error/Cause pair; "" when both are empty."""
    error, cause = (error or "").strip(), (cause or "").strip()
    raised = lambda_error(cause)
    if raised:
        kind = raised[0] or error
        return f"{kind}: {raised[1]}" if kind and kind != OWN_ERROR else raised[1]
    if error:
        return f"{error}: {cause}" if cause else error
    return cause

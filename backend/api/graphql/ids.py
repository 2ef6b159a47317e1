"""GraphQL IDs are the rows' integer primary keys written as strings; this turns them back."""
from __future__ import annotations

from backend.jobs.errors import DomainError

MAX_ID = 2**63 - 1


def parse_id(value, what: str = "id") -> int:
    """int(value) for a positive row id, else DomainError INVALID_INPUT naming `what`."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError("INVALID_INPUT", f"{what} must be a numeric id, got {value!r}") from None
    if not 0 < number <= MAX_ID:
        raise DomainError("INVALID_INPUT", f"{what} must be a positive id, got {value!r}")
    return number

"""`DomainError`: a refusal a person can act on, with a stable machine-readable code."""
from __future__ import annotations


class DomainError(Exception):
    """Raised for expected refusals (bad trim, asset not ready, …); the API shows `message` and `code`."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r})"


def not_found(what: str, ident) -> DomainError:
    return DomainError("NOT_FOUND", f"{what} {ident} does not exist")

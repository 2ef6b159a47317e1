"""How failures reach a GraphQL client: domain refusals readable, everything else masked.

A `DomainError` (from `backend.jobs.errors`) becomes a GraphQL error with its message and
`extensions.code`. GraphQL's own errors (syntax, validation, limits) pass unchanged. Any other
exception is replaced by "Internal server error" with code INTERNAL_SERVER_ERROR; its stack
trace goes to the server log only.
"""
from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from backend.catalog.accounts import AccountError
from backend.jobs.errors import DomainError
from backend.storage import StorageError, StorageTooLarge

log = logging.getLogger("mpr.api")

MASKED_MESSAGE = "Internal server error"


def as_domain_error(exc: BaseException) -> DomainError | None:
    """The DomainError a client should see for `exc`, or None when it must be masked."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, AccountError):
        domain = DomainError(exc.code, exc.message)
        domain.field = exc.field
        return domain
    if isinstance(exc, StorageTooLarge):
        return DomainError("TOO_LARGE", str(exc))
    if isinstance(exc, StorageError):
        return DomainError("STORAGE_ERROR", str(exc))
    return None


def is_client_visible(error: GraphQLError) -> bool:
    """True (and the error gets its code) when `error` may be shown as is."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return True  # parse/validation/limit errors carry no server internals
    domain = as_domain_error(original)
    if domain is None:
        return False
    extensions = dict(error.extensions or {})
    extensions["code"] = domain.code
    field = getattr(domain, "field", None)
    if field:
        head, *rest = str(field).split("_")
        extensions["field"] = head + "".join(part.title() for part in rest)  # as the GraphQL input names it
    error.extensions = extensions
    error.message = domain.message
    return True


class DomainErrors(MaskErrors):
    """MaskErrors that lets DomainErrors through with their code and masks the rest."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_client_visible(e), error_message=MASKED_MESSAGE)

    def _process_result(self, result: object) -> None:
        # MaskErrors asks isinstance(result, <a runtime-checkable Protocol>) on every operation,
        # which walks the protocol's attributes each time; the attribute itself is all it needs
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked


def log_errors(errors: list[GraphQLError]) -> None:
    """Schema.process_errors replacement: expected refusals are not stack traces in the log."""
    for error in errors:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError) or as_domain_error(original) is not None:
            log.debug("graphql refusal: %s", error.message)
        else:
            log.error("graphql error at %s: %s", error.path, original, exc_info=original)

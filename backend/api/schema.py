"""The GraphQL schema: Query + Mutation + Subscription, with limits, caches and error masking.

Extensions are passed as factories (one instance per operation; instances are deprecated):
parser and validation caches (the big throughput win), depth/token/alias limits against
abusive documents, and `DomainErrors` (readable refusals, masked internals).

The depth and alias limits are validation rules. strawberry's QueryDepthLimiter/MaxAliasesLimiter
build a new rule class per instance, and ValidationCache keys on the rule classes, so a factory
of those would miss the cache on every request; `Limits` adds rule classes built once instead.
"""
from __future__ import annotations

import strawberry
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from backend.api.errors import DomainErrors, log_errors
from backend.api.mutations_assets import AssetMutations
from backend.api.mutations_jobs import JobMutations
from backend.api.mutations_presets import PresetMutations
from backend.api.queries import Query
from backend.api.subscriptions import Subscription

MAX_DEPTH = 8
MAX_TOKENS = 3000
MAX_ALIASES = 30
CACHE_SIZE = 512


LIMIT_RULES = (depth_rule(MAX_DEPTH, None), alias_rule(MAX_ALIASES))


class Limits(AddValidationRules):
    """Depth and alias limits with stable rule classes (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(list(LIMIT_RULES))


@strawberry.type
class Mutation(AssetMutations, JobMutations, PresetMutations):
    pass


class MprSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        log_errors(errors)


def build_schema() -> strawberry.Schema:
    return MprSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: DomainErrors(),
            Limits,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=CACHE_SIZE),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
        ],
    )


schema = build_schema()

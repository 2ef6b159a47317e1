"""The GraphQL schema: Query + Mutation + Subscription, with limits, caches and error masking.

Extensions are passed as factories (one instance per operation; instances are deprecated):
parser and validation caches (the big throughput win), depth/token/alias limits against
abusive documents, and `DomainErrors` (readable refusals, masked internals).
"""
from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter, ValidationCache

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
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: ParserCache(maxsize=CACHE_SIZE),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
        ],
    )


schema = build_schema()

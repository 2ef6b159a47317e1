"""The GraphQL schema: Query + Mutation + Subscription, with limits, caches and error masking.

Every root field carries `permissions.Guard` (who may call it, from one table; mutations are
audited); a root field missing from that table stops the schema from building.

Extensions are passed as factories (one instance per operation; instances are deprecated):
parser and validation caches (the big throughput win), depth/token/alias limits against
abusive documents, and `DomainErrors` (readable refusals, masked internals).

The depth and alias limits are validation rules. strawberry's QueryDepthLimiter/MaxAliasesLimiter
build a new rule class per instance, and ValidationCache keys on the rule classes, so a factory
of those would miss the cache on every request. `Guards` instead adds rule classes built once,
sets the token limit (what MaxTokensLimiter does) and masks errors, all in one extension: each
extension costs its hooks on every request.

After building, `lean.lean_resolvers` gives plain attributes and argument-less method fields (no
field extension) direct resolvers: a listing resolves hundreds of them per request.
"""
from __future__ import annotations

from typing import Iterator

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from backend.api.graphql.accounts import AccountMutations, AccountQueries
from backend.api.graphql.errors import DomainErrors, log_errors
from backend.api.graphql.lean import lean_resolvers
from backend.api.graphql.mutations_assets import AssetMutations
from backend.api.graphql.mutations_jobs import JobMutations
from backend.api.graphql.mutations_presets import PresetMutations
from backend.api.graphql.permissions import check_table, guard_type
from backend.api.graphql.queries import Query as CatalogQuery
from backend.api.graphql.rules import RuleMutations, RuleQueries
from backend.api.graphql.mutations_templates import TemplateMutations
from backend.api.graphql.mutations_sequences import SequenceMutations
from backend.api.graphql.subscriptions import Subscription
from backend.api.graphql.webhooks import WebhookMutations, WebhookQueries

MAX_DEPTH = 8
MAX_TOKENS = 3000
MAX_ALIASES = 30
CACHE_SIZE = 512


LIMIT_RULES = (depth_rule(MAX_DEPTH, None), alias_rule(MAX_ALIASES))


class Guards(DomainErrors):
    """Token, depth and alias limits plus error masking, as one extension (see the module docstring)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = context.validation_rules + LIMIT_RULES
        yield from super().on_operation()


@strawberry.type
class Query(CatalogQuery, RuleQueries, AccountQueries, WebhookQueries):
    pass


@strawberry.type
class Mutation(AssetMutations, JobMutations, PresetMutations, TemplateMutations, SequenceMutations, RuleMutations,
               AccountMutations, WebhookMutations):
    pass


# every root field is checked against permissions.PERMISSIONS (mutations are audited too)
guard_type(Query)
guard_type(Mutation, mutation=True)
guard_type(Subscription)


class MprSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        log_errors(errors)


def build_schema() -> strawberry.Schema:
    built = MprSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            Guards,
            lambda: ParserCache(maxsize=CACHE_SIZE),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
        ],
    )
    check_table(built)
    lean_resolvers(built)  # plain fields and argument-less methods skip strawberry's per-field wrappers
    return built


schema = build_schema()

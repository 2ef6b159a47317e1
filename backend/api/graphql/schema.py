"""The GraphQL schema: Query + Mutation + Subscription, with limits, caches and error masking.

Every root field carries `permissions.Guard` (who may call it, from one table; mutations are
audited); a root field missing from that table stops the schema from building.

One extension, `Guards`, passed as a factory (one instance per operation; instances are
deprecated): parser and validation caches (the big throughput win), depth/token/alias limits
against abusive documents, and `DomainErrors` (readable refusals, masked internals). One
extension rather than strawberry's ParserCache + ValidationCache beside it: each extension costs
its hooks on every request, and ValidationCache hashed the whole syntax tree of every request.

The depth and alias limits are validation rules. strawberry's QueryDepthLimiter/MaxAliasesLimiter
build a new rule class per instance, and ValidationCache keys on the rule classes, so a factory
of those would miss the cache on every request. `Guards` instead adds rule classes built once,
sets the token limit (what MaxTokensLimiter does) and masks errors, all in one extension: each
extension costs its hooks on every request.

After building, `lean.lean_resolvers` gives plain attributes and argument-less method fields (no
field extension) direct resolvers: a listing resolves hundreds of them per request.
"""
from __future__ import annotations

import functools
from typing import Iterator

import strawberry
from graphql.language.parser import parse
from strawberry.schema.schema import validate_document
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


_parse = functools.lru_cache(maxsize=CACHE_SIZE)(parse)  # keyed by the query text (and max_tokens)
_validated: dict[int, tuple] = {}  # id(document) -> (document, schema, rules, errors)


def _validation_errors(schema, document, rules) -> list:
    """validate_document, remembered per parsed document. The parse cache hands back the same
    document object for the same text, so the key is its identity (the entry keeps the document
    alive, so the id is not reused while it is here), checked against the schema and rule classes;
    strawberry's ValidationCache hashed the whole syntax tree of every request instead."""
    entry = _validated.get(id(document))
    if entry is not None and entry[0] is document and entry[1] is schema and entry[2] == rules:
        return entry[3]
    errors = validate_document(schema, document, rules)
    if len(_validated) >= CACHE_SIZE:
        _validated.clear()
    _validated[id(document)] = (document, schema, rules, errors)
    return errors


class Guards(DomainErrors):
    """Token, depth and alias limits, error masking and the parse and validation caches, as one
    extension (see the module docstring)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = context.validation_rules + LIMIT_RULES
        yield from super().on_operation()

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = _parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = _validation_errors(context.schema._schema, context.graphql_document,
                                                          tuple(context.validation_rules))
        yield


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
        extensions=[Guards],
    )
    check_table(built)
    lean_resolvers(built)  # plain fields and argument-less methods skip strawberry's per-field wrappers
    return built


schema = build_schema()

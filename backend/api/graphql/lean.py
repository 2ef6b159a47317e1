"""Leaner field resolvers for a built strawberry schema: the per-field cost of a listing.

A page of 50 jobs with their sources is ~650 resolved fields, and each one passes through
strawberry's generic wrappers: a plain attribute through `_get_basic_result` → `get_result` →
the default resolver; a method field (`source`, `posterUrl`) through an `Info`, argument
conversion, a chain of field extensions built with `functools.reduce` per call, and three more
frames. `lean_resolvers` replaces, after the schema is built, only the resolvers where that
machinery has nothing to do:

- a plain attribute with no field extension: `getattr(source, python_name)`;
- a synchronous method with no GraphQL arguments and no field extension (so no `Guard`: the
  root fields keep theirs): the method called with the source (as `self`/`root`/`parent`) and
  strawberry's `Info` when it asks for one.

What a client sees is the same (values, errors and their paths; tests/api cover both kinds of
field). Anything else (arguments, extensions, async resolvers, schema-level exception handlers)
keeps strawberry's resolver.
"""
from __future__ import annotations

from typing import Any


def _attribute(name: str):
    def resolve(source: Any, info: Any) -> Any:
        return getattr(source, name)

    resolve._is_default = True  # as strawberry marks its own default resolver
    return resolve


def _method(field, info_class):
    resolver = field.base_resolver
    func = resolver.wrapped_func
    pass_self = resolver.self_parameter is not None
    source_names = [p.name for p in (resolver.root_parameter, resolver.parent_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None

    if pass_self and not source_names and info_name:  # the common shape: def f(self, info)
        def resolve(source: Any, info: Any) -> Any:
            return func(source, **{info_name: info_class(_raw_info=info, _field=field)})
    else:
        def resolve(source: Any, info: Any) -> Any:
            kwargs = {name: source for name in source_names}
            if info_name:
                kwargs[info_name] = info_class(_raw_info=info, _field=field)
            return func(source, **kwargs) if pass_self else func(**kwargs)

    resolve._is_default = False
    return resolve


def lean_resolvers(schema) -> int:
    """Swap in the lean resolvers described above; how many fields got one."""
    converter = schema.schema_converter
    handlers = getattr(converter, "_get_field_exception_handlers", None)
    if handlers is None or schema.config.default_resolver is not getattr:  # not the strawberry this was written for
        return 0
    info_class = schema.config.info_class
    swapped = 0
    roots = {t.name for t in (schema._schema.query_type, schema._schema.mutation_type,
                              schema._schema.subscription_type) if t is not None}
    for name, concrete in converter.type_map.items():
        definition = getattr(concrete, "definition", None)
        graphql_type = getattr(concrete, "implementation", None)
        if name in roots or definition is None or not hasattr(definition, "fields") \
                or not hasattr(graphql_type, "fields") or getattr(definition, "is_input", False):
            continue
        for field in definition.fields:
            graphql_name = converter.config.name_converter.get_graphql_name(field)
            target = graphql_type.fields.get(graphql_name)
            if target is None or field.extensions or handlers(field):
                continue
            resolver = field.base_resolver
            if resolver is None:
                target.resolve = _attribute(field.python_name)
            elif not resolver.is_async and not resolver.arguments and callable(resolver.wrapped_func):
                target.resolve = _method(field, info_class)
            else:
                continue
            swapped += 1
    return swapped

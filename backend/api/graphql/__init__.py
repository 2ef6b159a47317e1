"""The GraphQL API (strawberry): `schema.schema` is composed from `queries`, `mutations_*` and
`subscriptions` over the object `types`; `view.make_controller` serves it on Litestar at /graphql
(with the offline GraphiQL page of `graphiql`). Resolvers reach settings, storages and the
per-request DataLoaders through `context.api(info)`.
"""

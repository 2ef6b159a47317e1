"""The web edge of MPR: a Litestar app serving the GraphQL API, the Piccolo admin, the signed job
callback, byte-range media playback for local storage, /healthz, /readyz and /metrics.

- `backend.api.graphql`: everything GraphQL — strawberry types, queries, mutations, subscriptions,
  DataLoaders, inputs, pagination, filters, error codes, the schema, its Litestar view and GraphiQL.
- `backend.api.http`: plain HTTP routes — the job callback, /media, /healthz, /readyz, /metrics,
  the admin mount.
- here: `app.create_app(settings)` composes both; `server.serve_api` runs it with uvicorn;
  `auth` (API token, admin user) and `system` (database kind, ffmpeg version) serve both halves.
"""

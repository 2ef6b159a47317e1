"""The web edge of MPR: a Litestar app serving the GraphQL API (strawberry), the Piccolo admin,
the signed job callback, byte-range media playback for local storage and /healthz.

`create_app(settings)` in `backend.api.app` builds it; `backend.api.server.serve_api` runs it.
"""

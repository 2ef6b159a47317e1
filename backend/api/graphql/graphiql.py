"""The GraphiQL explorer served from this app (no CDN): the page and its vendored, gzipped assets."""
from __future__ import annotations

import functools
import gzip
from pathlib import Path

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

STATIC = Path(__file__).parent / "static" / "graphiql"
ASSET_BASE = "/graphql/ide"
ASSETS = {
    "react.production.min.js": "application/javascript",
    "react-dom.production.min.js": "application/javascript",
    "graphiql.min.js": "application/javascript",
    "graphiql.min.css": "text/css",
}


@functools.cache
def page_html() -> str:
    return (STATIC / "index.html").read_text().replace("{base}", ASSET_BASE)


@functools.cache
def _gzipped(name: str) -> bytes:
    return (STATIC / f"{name}.gz").read_bytes()


@functools.cache
def _plain(name: str) -> bytes:
    return gzip.decompress(_gzipped(name))


@get(f"{ASSET_BASE}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def graphiql_asset(request: Request, name: FromPath[str]) -> Response:
    if name not in ASSETS:
        raise NotFoundException()
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(_gzipped(name), media_type=ASSETS[name], headers={**headers, "Content-Encoding": "gzip"})
    return Response(_plain(name), media_type=ASSETS[name], headers=headers)

"""GET/HEAD /media/<area>/<key>: local-storage files with HTTP byte ranges, so <video> can seek.

Single ranges (`bytes=a-b`, `bytes=a-`, `bytes=-n`) answer 206 with Content-Range; an
unsatisfiable range answers 416 with `Content-Range: bytes */size`; several ranges, or an
If-Range that no longer matches, get the whole file (200). Keys go through the storage's
`local_path`, which refuses anything outside its root. S3 media is played from presigned URLs.
A request needs the signature GraphQL put in the URL (backend.api.http.media_links) or the API token
as a bearer header; otherwise 403. A signed link opens only the version of the file it was made
for (size + mtime; on S3 the ETag, answered with a short presigned redirect) and only while its
asset still holds the file; a replaced file or a deleted asset answers 403. GET/HEAD /media/pkg/<exp>/<sig>/<area>/<key> serves the files of
a streaming package under one signature for its folder (backend.api.http.package_links); on S3
its playlists are served from here (relative URLs stay under the signed prefix) and its segments
redirect to presigned URLs. Files are served inertly (backend.api.inert).
"""
from __future__ import annotations

import asyncio
import email.utils
from pathlib import Path

from litestar import Request, Response, route
from litestar.exceptions import PermissionDeniedException, NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Stream

from backend.api.http import media_links, package_links
from backend.api.auth import token_matches
from backend.api.inert import inert_media
from backend.catalog.tables import MediaAsset
from backend.storage import StorageError, content_type_for
from backend.storage.base import safe_key
from backend.storage.local import file_version

CHUNK = 256 * 1024
AREAS = ("in", "out", "thumbs")


def parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """(start, end inclusive) for one satisfiable range; None to send everything; "bad" for 416."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # unknown unit or several ranges: ignore the header (allowed by RFC 9110)
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return "bad"
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0 or size == 0:
                return "bad"
            return max(size - suffix, 0), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return "bad"
    if start < 0 or end < start or start >= size:
        return "bad"
    return start, min(end, size - 1)


async def _file_chunks(path: Path, start: int, length: int):
    fh = await asyncio.to_thread(open, path, "rb")
    try:
        await asyncio.to_thread(fh.seek, start)
        remaining = length
        while remaining > 0:
            data = await asyncio.to_thread(fh.read, min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        await asyncio.to_thread(fh.close)


S3_REDIRECT_EXPIRES = 300  # seconds: the presigned URL a checked S3 link redirects to
CHANGED = ("this link was made for another version of the file (it was replaced since): "
           "take a fresh URL from the GraphQL API")
ASSET_GONE = "the asset this link was made for no longer holds this file: take a fresh URL from the GraphQL API"


async def _asset_holds(asset_id: str, area: str, key: str) -> bool:
    """Whether asset `asset_id` still exists and `key` in `area` is its file, poster, filmstrip or waveform."""
    row = await MediaAsset.select(MediaAsset.storage_area, MediaAsset.storage_key, MediaAsset.poster_key,
                                  MediaAsset.filmstrip_key, MediaAsset.waveform_key).where(
        MediaAsset.id == int(asset_id)).first()
    if row is None:
        return False
    if area == "thumbs":
        return key in (row["poster_key"], row["filmstrip_key"], row["waveform_key"])
    return (row["storage_area"], row["storage_key"]) == (area, key)


@route("/media/{area:str}/{key:path}", http_method=["GET", "HEAD"], include_in_schema=False)
async def media_file(request: Request, area: FromPath[str], key: FromPath[str]) -> Response:
    if area not in AREAS:
        raise NotFoundException()
    storage = request.app.state.storages.get(area)
    try:
        key = safe_key(key.lstrip("/"))
        path = storage.local_path(key)
    except StorageError:
        raise NotFoundException() from None
    state, query = request.app.state, request.query_params
    version, asset = query.get("v"), query.get("a")
    signed = bool(state.media_key) and media_links.verify(
        state.media_key, media_links.media_path(area, key), query.get("exp"), query.get("sig"),
        version=version, asset=asset)
    if not signed:
        if not token_matches(state.api_token, request.headers.get("authorization")):
            raise PermissionDeniedException("media links are signed: take this file's URL from the GraphQL API "
                                            "(mediaUrl, posterUrl, outputUrl) or send the API token")
        if path is None:
            raise NotFoundException()
        return await serve_file(request, path, key)
    if asset is not None and not await _asset_holds(asset, area, key):
        raise PermissionDeniedException(ASSET_GONE)
    if path is None:  # S3: the object must still be the version the link was made for
        obj = await storage.stat(key)
        if obj is None:
            raise NotFoundException()
        if obj.etag != version:
            raise PermissionDeniedException(CHANGED)
        return Redirect(storage.presigned_get(key, S3_REDIRECT_EXPIRES), status_code=302)
    if file_version(path) != version:
        if not path.is_file():
            raise NotFoundException()
        raise PermissionDeniedException(CHANGED)
    return await serve_file(request, path, key)


TEXT_SUFFIXES = (".m3u8", ".mpd", ".vtt")
MAX_TEXT = 4 * 1024 * 1024


@route("/media/pkg/{exp:str}/{sig:str}/{area:str}/{key:path}", http_method=["GET", "HEAD"], include_in_schema=False)
async def package_file(request: Request, exp: FromPath[str], sig: FromPath[str], area: FromPath[str],
                       key: FromPath[str]) -> Response:
    """A file of a streaming package, under the signature of its folder."""
    if area not in AREAS:
        raise NotFoundException()
    storage = request.app.state.storages.get(area)
    try:
        key = safe_key(key.lstrip("/"))  # no "..", no absolute paths: the key stays inside the signed folder
        path = storage.local_path(key)
    except StorageError:
        raise NotFoundException() from None
    if not package_links.covers(request.app.state.media_key, exp, sig, area, key):
        raise PermissionDeniedException("this package link is not valid (expired, or not for this folder): "
                                        "take the package's playbackUrl from the GraphQL API")
    if path is not None:
        return await serve_file(request, path, key)
    if key.endswith(TEXT_SUFFIXES):  # playlists through here: their relative URLs stay signed
        obj = await storage.stat(key)
        if obj is None or obj.size > MAX_TEXT:
            raise NotFoundException()
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            local = await storage.get_file(key, Path(tmp) / "f")
            body = await asyncio.to_thread(local.read_bytes)
        return Response(body, media_type=content_type_for(key), headers={"Cache-Control": "no-cache"})
    return Redirect(storage.playback_url(key), status_code=302)


async def serve_file(request: Request, path: Path, key: str) -> Response:
    """`path` with byte ranges, ETag and Last-Modified (404 when it is not a file)."""
    try:
        st = await asyncio.to_thread(path.stat)
    except OSError:
        raise NotFoundException() from None
    if not path.is_file():
        raise NotFoundException()

    size = st.st_size
    etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
    last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
    headers = {"Accept-Ranges": "bytes", "ETag": etag, "Last-Modified": last_modified,
               "Cache-Control": "no-cache"}
    media_type, inert = inert_media(content_type_for(key), key)  # never a page of this origin
    headers.update(inert)

    wanted = None
    range_header = request.headers.get("range")
    if range_header:
        if_range = request.headers.get("if-range")
        if if_range is None or if_range.strip() in (etag, last_modified):
            wanted = parse_range(range_header, size)
    if wanted == "bad":
        return Response(b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"},
                        media_type=media_type)
    start, end = wanted if wanted else (0, size - 1)
    length = max(end - start + 1, 0)
    status = 206 if wanted else 200
    headers["Content-Length"] = str(length)
    if wanted:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if request.method == "HEAD" or length == 0:
        return Response(b"", status_code=status, headers=headers, media_type=media_type)
    return Stream(_file_chunks(path, start, length), status_code=status, headers=headers, media_type=media_type)

"""The /graphql endpoint: strawberry's Litestar controller plus MPR's identity check and local GraphiQL.

HTTP: every operation needs a caller (`backend.api.identity.authenticate`): `Authorization:
Bearer <token>` (a personal token or the master token) or the `mpr_session` cookie of a signed-in
browser; 401 UNAUTHENTICATED otherwise. Only the explorer page (GET with Accept: text/html) is
open. What the caller may do is decided per field by `permissions.Guard`.
WebSocket (graphql-transport-ws only): the token comes in the connection_init payload
({"Authorization": "Bearer …"} or {"token": "…"}), the handshake's Authorization header, or the
session cookie; without one the socket closes with 4403. The socket is closed (4403) as soon as
its credential is revoked or its user deactivated (`live_sockets.watch`).
The HTTP handlers take the request alone and build the context themselves: strawberry's resolve
`custom_context`, `root_value` and `response` through Litestar's dependency injection, which runs
three sibling dependencies as anyio tasks on every request (about a tenth of a small query's CPU).
Only multipart uploads may send large bodies: any other request declaring more than
MAX_OPERATION_BYTES is refused with 413 before its body is read; one sent without a length
(chunked) is refused as soon as it has sent that much.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import msgspec
from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.background_tasks import BackgroundTasks
from strawberry.exceptions import ConnectionRejectionError
from litestar.exceptions import NotFoundException, ValidationException
from strawberry.litestar import make_graphql_controller
from strawberry.litestar.controller import GraphQLResource
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from backend.api import identity as who
from backend.api.graphql import live_sockets
from backend.api.graphql.context import CONTEXT_KEY
from backend.api.graphql.graphiql import page_html

UNAUTHENTICATED = {
    "data": None,
    "errors": [{
        "message": "not signed in, or a wrong, expired or revoked token: sign in, or send "
                   "'Authorization: Bearer <token>'",
        "extensions": {"code": "UNAUTHENTICATED"},
    }],
}


MAX_OPERATION_BYTES = 1 << 20  # a query with its variables; files come as multipart uploads
TOO_LARGE = {
    "data": None,
    "errors": [{
        "message": f"request body over {MAX_OPERATION_BYTES // 1024} KiB: only file uploads "
                   "(multipart/form-data) may be larger",
        "extensions": {"code": "TOO_LARGE"},
    }],
}

_encoder = msgspec.json.Encoder()


async def _oversized_operation(request: Request) -> bool:
    """True when a POST that is not a multipart upload carries more than MAX_OPERATION_BYTES.

    A declared length is judged without reading anything. A body sent without one (chunked
    transfer) is read here up to one byte past the limit; when it fits, it is kept as the
    request's body so strawberry parses it as usual."""
    if request.method != "POST" or request.headers.get("content-type", "").lower().startswith("multipart/"):
        return False
    length = request.headers.get("content-length")
    if length is not None:
        return not length.isdigit() or int(length) > MAX_OPERATION_BYTES
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_OPERATION_BYTES:
            return True
        chunks.append(chunk)
    # Request.body() reads the connection state before the stream: the body is read only once
    request._connection_state.body = b"".join(chunks)
    return False


def _response_getter() -> Response:
    return Response({}, background=BackgroundTasks([]))


def _ws_credential(context: Any) -> tuple[str | None, str | None]:
    """(Authorization value, Cookie header) a websocket offers, from connection_init or the handshake."""
    params = context.get("connection_params") or {}
    socket = context.get("socket")
    if isinstance(params, dict):
        headers = params.get("headers") if isinstance(params.get("headers"), dict) else {}
        for candidate in (params.get("Authorization"), params.get("authorization"),
                          headers.get("Authorization"), headers.get("authorization")):
            if isinstance(candidate, str) and candidate.strip():
                return candidate, None
        raw = params.get("token")
        if isinstance(raw, str) and raw.strip():
            return f"Bearer {raw.strip()}", None
    if socket is None:
        return None, None
    return socket.headers.get("authorization"), socket.headers.get("cookie")


def _peer(connection) -> str:
    client = getattr(connection, "client", None)
    return client.host if client else ""


_watchers: set[asyncio.Task] = set()


def make_controller(schema, *, token: str, context_getter, path: str = "/graphql",
                    allowed_origins: tuple[str, ...] = (), max_body: int | None = None,
                    trusted_proxies: tuple[str, ...] = ()):
    base = make_graphql_controller(
        schema,
        path=path,
        context_getter=context_getter,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        multipart_uploads_enabled=True,
        allowed_origins=allowed_origins,
    )

    class MprGraphQLController(base):
        dependencies: ClassVar = {**base.dependencies, "response": Provide(_response_getter, sync_to_thread=False)}
        request_max_body_size = max_body

        async def _handle(self, request: Request) -> Response:
            response = _response_getter()
            self.temporal_response = response  # strawberry's get_sub_response reads it before any await
            context = {"request": request, "response": response, **await context_getter()}
            return await self.execute_request(request, context, None)

        @get(raises=[ValidationException, NotFoundException])
        async def handle_http_get(self, request: Request) -> Response[GraphQLResource | str]:
            return await self._handle(request)

        @post(status_code=200)
        async def handle_http_post(self, request: Request) -> Response[GraphQLResource | str]:
            return await self._handle(request)

        async def execute_request(self, request: Request, context: Any, root_value: Any) -> Response:
            client = who.client_address(_peer(request), request.headers.get("x-forwarded-for"), trusted_proxies)
            identity = await who.authenticate(request.headers.get("authorization"), request.headers.get("cookie"),
                                              token, client)
            if identity is None:
                if request.method == "GET" and self.should_render_graphql_ide(self.request_adapter_class(request)):
                    return await self.render_graphql_ide(request)
                return Response(UNAUTHENTICATED, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            if await _oversized_operation(request):
                return Response(TOO_LARGE, status_code=413)
            context[CONTEXT_KEY].identity = identity
            return await super().execute_request(request, context, root_value)

        def encode_json(self, data: object) -> str:
            return _encoder.encode(data).decode()  # msgspec: several times faster than json.dumps

        def decode_json(self, data: str | bytes) -> object:
            try:
                return json.loads(data)
            except RecursionError:  # nested deeper than the stack: a bad body (400), not a server error
                raise json.JSONDecodeError("JSON nested too deeply", "", 0) from None

        async def render_graphql_ide(self, request: Request) -> Response:
            return Response(page_html(), media_type="text/html")

        async def on_ws_connect(self, context: Any):
            socket = context.get("socket")
            authorization, cookie = _ws_credential(context)
            client = who.client_address(_peer(socket), socket.headers.get("x-forwarded-for") if socket else None,
                                        trusted_proxies)
            identity = await who.authenticate(authorization, cookie, token, client)
            if identity is None:
                raise ConnectionRejectionError({"message": "missing, wrong or revoked credential"})
            context[CONTEXT_KEY].identity = identity
            if socket is not None and identity.kind != who.MASTER:
                async def still_valid() -> bool:
                    again = await who.authenticate(authorization, cookie, token, client)
                    return again is not None and again.role == identity.role

                async def close() -> None:
                    await socket.close(code=live_sockets.CLOSE_REVOKED)

                task = asyncio.create_task(live_sockets.watch(
                    identity, still_valid, close, lambda: socket.connection_state != "disconnect"))
                _watchers.add(task)
                task.add_done_callback(_watchers.discard)
            return await super().on_ws_connect(context)

    return MprGraphQLController

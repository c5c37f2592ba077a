"""The FastAPI application: the /api routes, /healthz, the widget, and how errors answer.

Status codes (SPEC §10): a bad parameter is 422 with the CLI's one-line message
in `detail` (a SegpipeError the library raised, or a text that is no integer);
an unknown segment 404; no published file yet 503; a missing or unknown token
401 (on any /api path, one that does not exist too), a workspace outside the
token's list 403; on loopback without tokens, a Host other than this machine's
403 (hosts.py); anything unexpected 500 with a
one-line `detail`, its traceback in the server log only.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from .. import __version__
from ..errors import NoPublishedFileError, SegpipeError, UnknownSegmentError
from .params import missing_argument, type_error
from .routes import is_stranger, router, unauthorized
from .hosts import ENV_LOOPBACK_HOST, LoopbackHosts
from .snapshots import Snapshots
from .tenancy import Tokens

log = logging.getLogger("segpipe.serve")
access_log = logging.getLogger("segpipe.serve.access")

STATIC = Path(__file__).parent / "static"
#: the widget loads nothing from another host (SPEC §10); uPlot sets inline styles from script
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                 b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
ENV_DB, ENV_TOKENS = "SEGPIPE_SERVE_DB", "SEGPIPE_SERVE_TOKENS"


def create_app(database: Path, tokens: Tokens | None = None, loopback_hosts: bool = False) -> FastAPI:
    """The app serving `database` read-only; with `tokens`, every /api request needs one;
    with `loopback_hosts`, only requests to localhost, *.localhost, 127.x.x.x or [::1] are answered."""
    snapshots = Snapshots(database)

    @asynccontextmanager
    async def lifespan(app):
        try:
            snapshots.refresh()  # attach now, not on the first request
        except NoPublishedFileError as exc:
            log.warning("%s", exc)
        yield
        snapshots.close()

    # redirect_slashes: '/api/x/' would be a 307 to '/api/x' built from the Host header, before any token check
    app = FastAPI(title="segpipe", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  redirect_slashes=False,
                  description="Segment performance from the published segpipe file (SPEC §10). "
                              "Query parameters are the CLI's options in snake_case, with its defaults and checks.")
    app.state.snapshots = snapshots
    app.state.tokens = tokens
    app.include_router(router)
    app.add_exception_handler(RequestValidationError, _bad_parameter)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(SegpipeError, _segpipe_error)
    app.add_api_route("/healthz", healthz, methods=["GET"], summary="Liveness and the published run's time")
    app.add_api_route("/", widget, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if loopback_hosts:
        app.add_middleware(LoopbackHosts)  # inside AccessLog: its 403 is logged and gets the security headers
    app.add_middleware(AccessLog)
    return app


def app_from_environment() -> FastAPI:
    """The app for `uvicorn --factory` (one per worker process of `segpipe serve --workers N`)."""
    tokens = os.environ.get(ENV_TOKENS)
    return create_app(Path(os.environ[ENV_DB]), Tokens.load(Path(tokens)) if tokens else None,
                      loopback_hosts=os.environ.get(ENV_LOOPBACK_HOST) == "1")


async def healthz(request: Request) -> JSONResponse:
    """`{"status": "ok", "published_at": …}`; 503 while there is no published file to serve.
    It needs no token, so with `--tokens` a request without a known one is not told the
    server's paths or the process holding a lock (the log and a known token are)."""
    try:
        with request.app.state.snapshots.reading() as snapshot:
            return JSONResponse({"status": "ok", "published_at": snapshot.published_at})
    except NoPublishedFileError as exc:
        detail = UNAVAILABLE if await is_stranger(request) else str(exc)
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)


UNAVAILABLE = "no published file can be served yet — the server log says why"


def widget() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def docs() -> FileResponse:
    """Swagger UI from the vendored copy: FastAPI's own /docs would load it from a CDN."""
    return FileResponse(STATIC / "docs.html", headers={"Cache-Control": "no-cache"})


def _bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI only checks that integers are integers; say so in the CLI's words."""
    command = getattr(request.scope.get("endpoint"), "cli_command", None)
    error = exc.errors()[0]
    name = str(error["loc"][-1])
    if error.get("type") == "missing":  # only compare's `a` and `b`, the CLI's arguments A and B
        detail = missing_argument(command, name)
    else:
        detail = type_error(command, name, error.get("input"))
    return JSONResponse({"detail": detail}, status_code=422)


async def _http_error(request: Request, exc: HTTPException):
    """A path or method under /api that does not exist is 401 to a request without a known
    token, as every /api request is (SPEC §10): a stranger does not learn which paths exist."""
    under_api = request.url.path == "/api" or request.url.path.startswith("/api/")
    if exc.status_code in (404, 405) and under_api and await is_stranger(request):
        exc = unauthorized()
    return await http_exception_handler(request, exc)


def _segpipe_error(request: Request, exc: SegpipeError) -> JSONResponse:
    status = 404 if isinstance(exc, UnknownSegmentError) else 503 if isinstance(exc, NoPublishedFileError) else 422
    return JSONResponse({"detail": str(exc)}, status_code=status)


class AccessLog:
    """One access-log line per request (client, request line, status, bytes, milliseconds);
    empty query parameters (`workspace_id=`) count as not given, as the seed's client sends them;
    HEAD is answered as GET without the body (uptime checks and caches send it; FastAPI's
    routes take GET only); an unexpected exception becomes a one-line 500, its traceback
    logged here only. The path is logged percent-encoded, as uvicorn's own access log does:
    a client's `%0A` never starts a forged line of the log."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
                 if v != ""]
        method = scope["method"]
        # a copy: the server keeps its own scope, so it still knows a HEAD needs no body
        scope = {**scope, "query_string": urlencode(query).encode("latin-1"),
                 "method": "GET" if method == "HEAD" else method}
        started, sent = time.perf_counter(), {"status": 0, "bytes": 0}

        async def send_logged(message):
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            elif message["type"] == "http.response.body":
                if method == "HEAD":
                    message = {**message, "body": b""}
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        except Exception as exc:
            log.exception("unexpected error answering %s %s", method, quote(scope["path"]))
            if sent["status"] == 0:
                response = JSONResponse({"detail": f"unexpected {type(exc).__name__} — the server log has the details"},
                                        status_code=500)
                await response(scope, receive, send_logged)
        finally:
            client = scope.get("client") or ("-", 0)
            query_text = scope["query_string"].decode("latin-1")
            target = quote(scope["path"]) + (f"?{query_text}" if query_text else "")
            access_log.info('%s:%s "%s %s HTTP/%s" %d %d %.1fms', client[0], client[1], method, target,
                            scope.get("http_version", "1.1"), sent["status"], sent["bytes"],
                            (time.perf_counter() - started) * 1000)

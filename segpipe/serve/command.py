"""`segpipe serve`: check the options, say what is served to whom, run uvicorn.

Every worker process (`--workers N`) builds its own app from the environment
(app.app_from_environment) and reads the published file read-only on its own.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

from ..errors import ConfigError
from .app import ENV_DB, ENV_TOKENS
from .hosts import ENV_LOOPBACK_HOST
from .tenancy import Tokens

LOOPBACK = "127.0.0.1"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_config() -> dict:
    """uvicorn's own lines plus segpipe's (access log and errors), all to stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": LOG_FORMAT}},
        "handlers": {"stderr": handler},
        "loggers": {name: {"handlers": ["stderr"], "level": "INFO", "propagate": False}
                    for name in ("uvicorn", "uvicorn.error", "segpipe.serve")},
    }


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen(host: str, port: int) -> None:
    """Bind (host, port) once, as uvicorn will, so a port in use or a host that does not
    resolve is segpipe's one-line usage error (exit 2), not uvicorn's log lines and exit 3."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve_command(echo, *, project_dir: Path | None = None, db: str | None = None, host: str | None = None,
                  port: int = 8000, tokens: Path | None = None, workers: int = 1) -> None:
    """Serve the project's published file over HTTP until stopped (Ctrl-C or SIGTERM)."""
    import uvicorn

    from ..project import load_project

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, got {port}")
    if not 1 <= workers <= 64:
        raise ConfigError(f"--workers must be from 1 to 64, got {workers}")
    if tokens is not None:
        Tokens.load(tokens)  # a bad tokens file is one line now, not one per worker
    database = load_project(project_dir, db=db).database
    host = host or LOOPBACK
    check_listen(host, port)
    echo(f"segpipe serve: {database} at http://{host if ':' not in host else f'[{host}]'}:{port}/ "
         f"(API docs at /docs), {workers} worker{'s' if workers != 1 else ''}")
    loopback_hosts = tokens is None and is_loopback(host)
    if loopback_hosts:
        echo("No --tokens: every request sees every workspace, so serve listens on this machine only "
             "(--host to change) and answers only requests to localhost, *.localhost, 127.x.x.x or [::1] "
             "(DNS rebinding).")
    elif tokens is None:
        echo(f"Warning: no --tokens: anyone who can reach {host}:{port} sees every workspace.")
    else:
        echo(f"Tokens from {tokens}: every /api request needs 'Authorization: Bearer <token>'.")
    if not database.exists():
        echo(f"Warning: no published database at {database} yet — the API answers 503 until `segpipe run` publishes one.")
    os.environ[ENV_DB] = str(database.resolve())
    if tokens is not None:
        os.environ[ENV_TOKENS] = str(Path(tokens).resolve())
    else:
        os.environ.pop(ENV_TOKENS, None)
    if loopback_hosts:
        os.environ[ENV_LOOPBACK_HOST] = "1"
    else:
        os.environ.pop(ENV_LOOPBACK_HOST, None)
    uvicorn.run("segpipe.serve.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_config=log_config(), access_log=False, server_header=False, proxy_headers=True,
                forwarded_allow_ips="127.0.0.1")

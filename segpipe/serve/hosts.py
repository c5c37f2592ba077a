"""Without --tokens, a loopback serve answers only requests addressed to this machine by name.

Listening on loopback keeps other machines out, not other web pages: a page on
evil.example can point its own name at 127.0.0.1 (DNS rebinding) and then read
the API from the user's browser as its own origin, every workspace included.
The browser still sends `Host: evil.example`, so such a serve answers only Host
`localhost`, `*.localhost`, `127.x.x.x` or `[::1]` (any port or none), and 403 to
any other. Names under `localhost` are loopback by RFC 6761 (browsers resolve
them without DNS), so no page elsewhere can take one.
With --tokens the token protects the API (a rebinding page has none), and on
another address serve has said at start that anyone who reaches it sees all.
"""

from __future__ import annotations

import ipaddress
import re

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

#: set (to 1) for the worker processes when serve listens on loopback without --tokens
ENV_LOOPBACK_HOST = "SEGPIPE_SERVE_LOOPBACK_HOST"
REFUSED = ("without --tokens, serve answers only requests to localhost, *.localhost, 127.x.x.x or [::1] (any port): "
           "another host name pointing here may be a web page's DNS rebinding; open it by one of those names, or "
           "start serve with --tokens")
#: a Host header: a name or a bracketed IPv6 address, then maybe a port
HOST = re.compile(r"(\[[^\]]*\]|[^:]*)(?::\d{1,5})?")


def is_local(host: str) -> bool:
    """Whether a Host header names this machine: localhost, *.localhost, 127.x.x.x or [::1]
    (starlette's TrustedHostMiddleware takes no 127.x.x.x pattern)."""
    match = HOST.fullmatch(host)
    name = match[1].lower().removesuffix(".") if match else ""
    if name in ("localhost", "[::1]") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.IPv4Address(name).is_loopback
    except ValueError:
        return False


class LoopbackHosts:
    """ASGI middleware answering 403 with a one-line `detail` to a request for another host name."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not is_local(Headers(scope=scope).get("host", "")):
            await JSONResponse({"detail": REFUSED}, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

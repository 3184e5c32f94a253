"""The dashboard's catch-all route, and 405 for a method no route of a path accepts.

The dashboard's files are served for any path (its pages are client-side routes), so a catch-all
is the last route. Starlette's router would let it answer ``GET /api/v1/query`` with a 404 (a
catch-all matches fully, where a route with other methods matches only partly), and answers a
wrong method with the first route's methods alone, while one path may have a route per method.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

_ALLOW = "openrum.allow"
_FILES = frozenset({"GET", "HEAD"})


class Fallback(Mount):
    """``app`` for every path no other route knows, last in the routes. A path that other
    routes know, asked with a method none of them accepts, gets 405 with every method they do
    accept in ``Allow``; the dashboard's files themselves accept GET and HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__("", app=app)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.FULL and scope["type"] == "http":
            # Reached only when no route matched fully: any route that matches is one whose
            # path matches and whose methods do not.
            allowed: set[str] = set()
            for route in scope["router"].routes:
                if isinstance(route, Route) and route.matches(scope)[0] is Match.PARTIAL:
                    allowed |= route.methods or set()
            child[_ALLOW] = allowed or (_FILES if scope["method"] not in _FILES else set())
        return match, child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = scope.get(_ALLOW)
        if allowed:
            response = PlainTextResponse(
                "method not allowed\n", 405, headers={"allow": ", ".join(sorted(allowed))}
            )
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, send)

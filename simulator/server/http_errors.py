"""No HTML and no tracebacks: every HTTP-level error of the app has a JSON body.

Without a middleware. aiohttp runs an application's middlewares around every route, and that
chain (ours, plus the current-app fixer aiohttp adds to any app that has one) cost a vendor
status query about 12 % of its CPU time (docs/speed.md), while the vendor handlers answer every
failure of theirs with a vendor envelope and never need it. So the simulator's own routes are
registered through `JsonRoutes`, which wraps each handler in `json_errors`, and one catch-all
route registered last (`add_fallback`) answers what no route takes: 405 with `Allow` where the
path has other methods, 404 otherwise, in the body of the vendor's Spring Boot errors.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from simulator.server.keys import SIM
from simulator.server.wire import http_error

log = logging.getLogger("segway_sim.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_errors(handler: Handler) -> Handler:
    """`handler`, answering an HTTP error it raises, or a crash, with a JSON error body."""

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            text = exc.text or ""
            message = text if text and not text.startswith(f"{exc.status}:") else exc.reason
            response = http_error(exc.status, request.path, message, request.app[SIM].clock.now)
            if exc.status == 405 and "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            return http_error(500, request.path, "internal simulator error",
                              request.app[SIM].clock.now)

    return answer


class JsonRoutes:
    """`app.router`'s `add_*` methods, each handler wrapped in `json_errors`."""

    def __init__(self, app: web.Application) -> None:
        self.router = app.router

    def add_get(self, path: str, handler: Handler, **kw: Any) -> web.AbstractRoute:
        return self.router.add_get(path, json_errors(handler), **kw)

    def add_post(self, path: str, handler: Handler, **kw: Any) -> web.AbstractRoute:
        return self.router.add_post(path, json_errors(handler), **kw)

    def add_put(self, path: str, handler: Handler, **kw: Any) -> web.AbstractRoute:
        return self.router.add_put(path, json_errors(handler), **kw)

    def add_patch(self, path: str, handler: Handler, **kw: Any) -> web.AbstractRoute:
        return self.router.add_patch(path, json_errors(handler), **kw)

    def add_delete(self, path: str, handler: Handler, **kw: Any) -> web.AbstractRoute:
        return self.router.add_delete(path, json_errors(handler), **kw)


FALLBACK = "/{path:.*}"


async def no_route(request: web.Request) -> web.StreamResponse:
    """What no route takes: 405 where some route has the path with other methods, else 404."""
    allowed: set[str] = set()
    fallback = request.match_info.route.resource
    for resource in request.app.router.resources():
        if resource is not fallback:
            _, methods = await resource.resolve(request)
            allowed |= methods
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


def add_fallback(app: web.Application) -> None:
    """The catch-all route: register it after every other (the router tries routes in order)."""
    app.router.add_route("*", FALLBACK, json_errors(no_route))

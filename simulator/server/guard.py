"""Safe on a developer's laptop: which Host, Origin, Content-Type and control token are let in.

A web page the developer opens must not be able to steer the simulator: a cross-site form or
fetch cannot send `Content-Type: application/json` without a CORS preflight (which the server
never answers with permission), and the browser names the page in `Origin`; a DNS-rebinding page
reaches the server under its own name in `Host`. So:

- `Host` must name this server (a loopback name, the address the connection came in on, the
  `--host` given, or a name given with `--allow-host`), on every route, the vendor's too;
- a state-changing control-plane request (`POST/PUT/PATCH/DELETE /_sim/...`) must come without
  `Origin` or from this server's own origin, and a body must be declared `application/json`;
- the live channel refuses a foreign `Origin` too (it streams the whole world; no other site's
  page is the dashboard);
- with a control token, `/_sim/...`, `/metrics` and the dashboard need it, as a bearer header or
  the cookie a browser gets from opening `/?token=TOKEN` once. The vendor surface keeps its OAuth.

Checked without a middleware (http_errors.py says why): `install` wraps each route's handler once
the app's routes are all registered, so a vendor request pays for one Host lookup and nothing
else. The wrapping sets `AbstractRoute._handler` (aiohttp 3.14; the router offers no public way
to wrap a registered handler); tests/test_exposure.py sends a foreign Host to every route, so it
fails should that attribute ever stop taking effect.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field

from aiohttp import hdrs, web

from simulator.core.control_token import CONTROL_TOKEN_ENV as CONTROL_TOKEN_ENV
from simulator.server.http_errors import Handler
from simulator.server.wire import json_response

COOKIE = "segway_sim_token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CURL_HINT = "curl: --json or -H 'Content-Type: application/json'"
_SEEN_MAX = 64  # Host values already accepted, remembered so that most requests do one lookup


@dataclass
class Guard:
    """What the server lets in: the names `Host` may carry, and the control token if any."""

    token: str | None = None
    allow_hosts: Iterable[str] = ()  # --allow-host NAME (and the --host given); "*": any
    names: frozenset[str] = field(init=False)
    any_host: bool = field(init=False)
    _seen: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        given = {_name(host) for host in self.allow_hosts}
        self.any_host = "*" in given
        self.names = LOOPBACK_NAMES | given

    def host_refusal(self, request: web.BaseRequest) -> web.Response | None:
        host = request.headers.get(hdrs.HOST)
        if host is None or host in self._seen or self.any_host:
            return None  # no Host at all is HTTP/1.0: no browser sends that
        name = _name(host)
        if name in self.names or name == _local_address(request):
            if len(self._seen) < _SEEN_MAX:
                self._seen.add(host)
            return None
        return _refuse(403, f"Host '{_shown(name)}' is not this server's name: a page under "
                            "another name may not steer it (serve --allow-host NAME lets a name "
                            "in)", "Host")

    def token_refusal(self, request: web.BaseRequest) -> web.Response | None:
        if self.token is None:
            return None
        scheme, _, given = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        if scheme.lower() == "bearer" and _same(given.strip(), self.token):
            return None
        if _same(request.cookies.get(COOKIE, ""), self.token):
            return None
        response = _refuse(401, "this server needs its control token: 'Authorization: Bearer "
                                "TOKEN', or open /?token=TOKEN once in a browser",
                           "Authorization")
        response.headers[hdrs.WWW_AUTHENTICATE] = 'Bearer realm="segway-sim"'
        return response


GUARD = web.AppKey("guard", Guard)


def loopback(host: str) -> bool:
    """Whether binding `host` keeps the server to this machine (every address it names is a
    loopback one). A name that does not resolve counts as loopback: binding it fails anyway, and
    says why better than a refusal would."""
    if not host.strip():
        return False  # aiohttp binds every interface for an empty host
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return True
    return all(ipaddress.ip_address(str(info[4][0]).partition("%")[0]).is_loopback
               for info in infos)


def _name(host: str) -> str:
    """The name in a Host value, lower case, without port or brackets: `[::1]:80` -> `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _local_address(request: web.BaseRequest) -> str | None:
    """The address this connection came in on: the name a client uses for a LAN bind."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    return str(sockname[0]).lower() if isinstance(sockname, tuple) and sockname else None


def _same(given: str, token: str) -> bool:
    # surrogatepass: aiohttp hands undecodable header bytes on as lone surrogates
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               token.encode("utf-8", "surrogatepass"))


def _shown(text: str, limit: int = 80) -> str:
    """At most `limit` characters of what the client sent: a refusal names it, never echoes
    kilobytes of it back. Bytes that are not UTF-8 (aiohttp keeps them as surrogates, which no
    JSON can carry) are shown as escapes."""
    text = text if len(text) <= limit else text[:limit] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _refuse(status: int, error: str, field_name: str) -> web.Response:
    return json_response({"error": error, "field": field_name}, status)


def _own_origin(request: web.BaseRequest, origin: str) -> bool:
    host = request.headers.get(hdrs.HOST)
    return host is not None and origin.lower() in (f"http://{host}".lower(),
                                                   f"https://{host}".lower())


def _origin_refusal(request: web.BaseRequest) -> web.Response | None:
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None or _own_origin(request, origin):
        return None
    return _refuse(403, f"Origin '{_shown(origin)}' is another site's: only this server's own "
                        "pages (or clients that send no Origin) may change the simulator",
                   "Origin")


def _content_type_refusal(request: web.BaseRequest) -> web.Response | None:
    if not request.body_exists or request.content_type == "application/json":
        return None
    declared = request.headers.get(hdrs.CONTENT_TYPE)
    what = f"Content-Type '{_shown(declared)}'" if declared else "no Content-Type"
    return _refuse(415, f"a control-plane body must be sent as application/json, not {what} "
                        f"({CURL_HINT})", "Content-Type")


def _login(request: web.BaseRequest, guard: Guard) -> web.Response | None:
    """`/?token=TOKEN`: the browser's way in. The token goes into an HttpOnly, SameSite=Strict
    cookie (no script reads it, no other site's request carries it) and out of the address bar."""
    given = request.query.get("token")
    if given is None or guard.token is None or not _same(given, guard.token):
        return None
    response = web.Response(status=303, headers={hdrs.LOCATION: request.path})
    response.set_cookie(COOKIE, guard.token, httponly=True, samesite="Strict", path="/")
    return response


def _is_control(path: str) -> bool:
    """Routes of ours (the token guards them) rather than the vendor's (its OAuth does)."""
    return (path.startswith("/_sim/") or path in ("/_sim", "/metrics", "/")
            or path.startswith("/dashboard"))


def _control_refusal(request: web.BaseRequest, guard: Guard) -> web.Response | None:
    """Everything but the Host check, for one of our own routes."""
    if request.path in ("/", "/dashboard/") and "token" in request.query:
        login = _login(request, guard)
        if login is not None:
            return login
    refusal = guard.token_refusal(request)
    if refusal is not None:
        return refusal
    if request.path.startswith("/_sim/"):
        if request.method not in SAFE_METHODS:
            return _origin_refusal(request) or _content_type_refusal(request)
        if request.path == "/_sim/live":
            return _origin_refusal(request)
    return None


def _guarded(handler: Handler, guard: Guard, control: bool | None) -> Handler:
    """`handler` behind the checks; `control` None: decided per request (the catch-all route)."""
    if control is False:  # the vendor's routes: the Host check alone
        # A plain function handing back the handler's own coroutine: no frame of ours stays on
        # the vendor's hot path while it runs (aiohttp only awaits what a handler returns).
        def vendor(request: web.Request) -> Awaitable[web.StreamResponse]:
            refusal = guard.host_refusal(request)
            return handler(request) if refusal is None else _answer(_closing(request, refusal))
        return vendor

    async def ours(request: web.Request) -> web.StreamResponse:
        refusal = guard.host_refusal(request)
        if refusal is None and (control or _is_control(request.path)):
            refusal = _control_refusal(request, guard)
        return await handler(request) if refusal is None else _closing(request, refusal)

    return ours


async def _answer(response: web.StreamResponse) -> web.StreamResponse:
    return response


def _closing(request: web.Request, refusal: web.StreamResponse) -> web.StreamResponse:
    if request.body_exists:  # a refused body is not read: the connection cannot carry on
        refusal.force_close()
    return refusal


def install(app: web.Application, guard: Guard) -> None:
    """Put every route registered so far behind `guard` (call it after the last route)."""
    app[GUARD] = guard
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else "/{"
        # A first segment that is a variable (the catch-all route) may be ours or the vendor's.
        control = None if path.startswith("/{") else _is_control(path)
        route._handler = _guarded(route.handler, guard, control)  # type: ignore[assignment]

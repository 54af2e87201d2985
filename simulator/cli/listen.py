"""`segway-sim listen`: a push receiver for partners and demos, in the manner of `stripe listen`.

It answers POST {anything}/v2/vehicle/{status,location,alert,fault,components} (and the first
generation's {anything}/vehicle/status, whose pushes name no platform: any known secret that
verifies one will do), verifies every signature with the platform's client secret, prints one
line per push, and answers 200 with the reference's response body, or 401 to a bad signature
(as a partner's receiver should; --accept-bad-signatures answers 200 anyway). --fail-rate and
--delay make it misbehave so the retry can be seen; --forward-to relays verified pushes (the
same body) to {URL}/v2/vehicle/{type} and answers with whatever that receiver answered.
--capture FILE appends every POST received (bad signatures and unknown paths too) as a JSON
line, the input of `segway-sim contract --push-capture FILE`. Partners verify in their own
receiver with `from simulator.push.signing import verify_signature` (standard library only).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import parse_qsl

import aiohttp
import click
import numpy as np
from aiohttp import web

from simulator.cli.checks import PORT, URL, FiniteRange, bind_errors
from simulator.core.alerts import ALERT_NAMES
from simulator.core.events import KINDS
from simulator.push.signing import verify_signature
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

__all__ = ["Listener", "listen", "parse_secrets", "verify_signature"]

OK_BODY = {"message": "success", "code": 0}  # the reference's response example
BAD_SIGNATURE_BODY = {"message": "signature verification failed", "code": 401}
MAX_BODY = 64 * 1024


def parse_secrets(values: tuple[str, ...] | list[str]) -> dict[str | None, str]:
    """`PLATFORM=SECRET`, or a bare `SECRET` for any platform; none given: the demo platform's."""
    out: dict[str | None, str] = {}
    for value in values:
        code, sep, secret = value.partition("=")
        if not sep:
            code, secret = "", value
        if not secret or (sep and not code):
            raise click.BadParameter(f"{value!r}: expected PLATFORM=SECRET (or a bare SECRET "
                                     "for any platform)")
        out[code or None] = secret
    return out or {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}


def _stamp(form: dict[str, str]) -> str:
    raw = form.get("statusUtcTime") or form.get("gpsUtcTime") or ""
    try:
        return datetime.fromtimestamp(int(raw), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return "-" * 20


def _appearing(status: str | None) -> str:
    return {"0": "appearing", "1": "disappeared"}.get(status or "", f"status={status}")


def describe(kind: str, form: dict[str, str]) -> str:
    """The fields worth a glance, per push type."""
    g = form.get
    if kind == "status":
        return (f"online={g('online')} locked={g('locked')} charging={g('charging')} "
                f"power={g('powerPercent')}% speed={g('speed')} mode={g('speedMode')}")
    if kind == "location":
        return (f"{g('locationStatus')} {g('latitude')},{g('longitude')} "
                f"sats={g('satelliteNumber')} hdop={g('hdop')}")
    if kind == "alert":
        code = g("code") or ""
        name = ALERT_NAMES.get(int(code), "?") if code.isdigit() else "?"
        return f"{_appearing(g('alertStatus'))} code={code} ({name})"
    if kind == "fault":
        return f"{_appearing(g('faultStatus'))} code={g('code')}"
    return f"type={g('type')} status={g('status')}"


@dataclass
class Listener:
    secrets: dict[str | None, str] = field(default_factory=lambda: parse_secrets(()))
    fail_rate: float = 0.0
    delay: float = 0.0  # wall seconds before each answer
    forward_to: str | None = None
    seed: int | None = None
    accept_bad_signatures: bool = False
    echo: Callable[[str], None] = click.echo
    capture: TextIO | None = None  # --capture: one JSON line per POST received
    _session: aiohttp.ClientSession | None = None

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def secret_for(self, platform: str | None) -> str | None:
        return self.secrets.get(platform) or self.secrets.get(None)

    async def handle(self, request: web.Request) -> web.Response:
        kind = request.path.rstrip("/").rsplit("/", 1)[-1]
        raw = await request.read()  # at most MAX_BODY: the app refuses more with 413
        if request.method == "POST":
            self.keep(request, raw)
        v1 = request.path.rstrip("/").endswith("/vehicle/status") and "/v2/" not in request.path
        if not v1 and ("/v2/vehicle/" not in request.path or kind not in KINDS):
            self.echo(f"{'-' * 20} {'?':<10} {request.method} {request.path}  -> 404")
            return web.json_response({"message": "not a push path", "code": 404}, status=404)
        try:
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            form = {}
        secret = self.secret_for(form.get("platformCode"))
        if v1 and "platformCode" not in form:  # a v1 push names no platform
            secret = next((s for s in self.secrets.values() if verify_signature(raw, s)), secret)
        ok = secret is not None and verify_signature(raw, secret)
        sig = "sig ok" if ok else "sig BAD"
        if secret is None:
            sig += f" (no secret for {form.get('platformCode')})"
        status: int = 200
        body: object = OK_BODY
        note = ""
        if self.delay:
            await asyncio.sleep(self.delay)
        if not ok and not self.accept_bad_signatures:
            status, body = 401, BAD_SIGNATURE_BODY
            note = " (not forwarded: bad signature)" if self.forward_to else ""
        elif self.fail_rate and self.rng.random() < self.fail_rate:
            status, note = 500, " (--fail-rate)"
            body = {"message": "failing on purpose (--fail-rate)", "code": 1}
        elif self.forward_to and ok:
            status, body, note = await self._forward(kind, raw, request.content_type)
        elif self.forward_to:
            note = " (not forwarded: bad signature)"
        self.echo(f"{_stamp(form)} {kind:<10} {form.get('iotCode', '?'):<15} "
                  f"{describe(kind, form)}  {sig}  -> {status}{note}")
        return web.json_response(body, status=status)

    def keep(self, request: web.Request, raw: bytes) -> None:
        """--capture: the push as received, one line, flushed (a partner can stop at any time).
        Bytes that are not UTF-8 travel as surrogate escapes, so the body is kept exactly."""
        if self.capture is None:
            return
        line = {"path": request.path_qs, "headers": dict(request.headers),
                "body": raw.decode("utf-8", "surrogateescape"),
                "receivedAt": datetime.now(UTC).isoformat(timespec="milliseconds")}
        self.capture.write(json.dumps(line) + "\n")
        self.capture.flush()

    async def _forward(self, kind: str, raw: bytes, content_type: str) -> tuple[int, object, str]:
        assert self.forward_to is not None
        url = f"{self.forward_to.rstrip('/')}/v2/vehicle/{kind}"
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._session.post(url, data=raw,
                                          headers={"Content-Type": content_type}) as resp:
                text = (await resp.content.read(MAX_BODY)).decode(errors="replace")
                return resp.status, {"forwarded": url, "answer": text}, f" (forwarded: {url})"
        except (aiohttp.ClientError, TimeoutError) as exc:
            why = str(exc) or type(exc).__name__
            return (502, {"message": f"forward failed: {why}", "code": 1},
                    f" (forward failed: {why})")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self.handle)

        async def session(app: web.Application) -> AsyncIterator[None]:
            yield
            if self._session is not None:
                await self._session.close()

        app.cleanup_ctx.append(session)
        return app


@click.command(short_help="Receive, verify and print the simulator's pushes.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8090, show_default=True, type=PORT,
              help="Port; 0 picks a free one.")
@click.option("--secret", "secrets", multiple=True, metavar="PLATFORM=SECRET",
              callback=lambda _ctx, _param, values: parse_secrets(values),
              help=f"Client secret to verify a platform's pushes with; repeat for several "
                   f"platforms (a bare SECRET serves any platform). Default: the demo platform's, "
                   f"{DEMO_CLIENT_ID}={DEMO_CLIENT_SECRET}.")
@click.option("--accept-bad-signatures", is_flag=True,
              help="Answer 200 to a push whose signature does not verify (default: 401).")
@click.option("--fail-rate", default=0.0, show_default=True, type=FiniteRange(0, 1),
              help="Answer this share of pushes with 500, to see the simulator retry.")
@click.option("--delay", default=0.0, show_default=True, type=FiniteRange(0, 600),
              help="Wall seconds to wait before answering each push.")
@click.option("--forward-to", default=None, type=URL,
              help="Relay verified pushes to URL/v2/vehicle/{type} and answer with its status.")
@click.option("--seed", default=None, type=int, help="Seed of the --fail-rate draws.")
@click.option("--capture", type=click.File("a", encoding="utf-8", lazy=False), default=None,
              metavar="FILE",
              help="Append every push received (bad signatures too) to FILE as a JSON line "
                   "{path, headers, body, receivedAt}: the input of `segway-sim contract "
                   "--push-capture FILE`.")
def listen(host: str, port: int, secrets: dict[str | None, str], accept_bad_signatures: bool,
           fail_rate: float, delay: float, forward_to: str | None, seed: int | None,
           capture: TextIO | None) -> None:
    """Receive, verify and print the simulator's pushes (point serve's --callback here).

    Answers 200 to a push that verifies and 401 to one that does not, so the simulator's
    journal shows the failure as a partner's receiver would cause it.
    """
    listener = Listener(secrets, fail_rate, delay, forward_to, seed,
                        accept_bad_signatures=accept_bad_signatures, capture=capture)
    with bind_errors():
        asyncio.run(_run(listener, host, port))


async def _run(listener: Listener, host: str, port: int) -> None:
    from simulator.server.runner import serve_app, until_signalled

    running = await serve_app(listener.app(), host, port)
    platforms = ", ".join(code or "any platform" for code in listener.secrets)
    bad = "answered 200 (--accept-bad-signatures)" if listener.accept_bad_signatures else "401"
    kept = f"; capturing to {listener.capture.name}" if listener.capture is not None else ""
    click.echo(f"listening on {running.url}  (segway-sim serve --callback {running.url})  "
               f"verifying for: {platforms}; a bad signature: {bad}{kept}")
    await until_signalled()
    await running.stop()

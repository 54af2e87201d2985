"""`segway-sim listen`: a push receiver for partners and demos, in the manner of `stripe listen`.

It answers POST {anything}/v2/vehicle/{status,location,alert,fault,components}, verifies every
signature with the platform's client secret, prints one line per push, and answers 200 with the
reference's response body. --fail-rate and --delay make it misbehave so the retry can be seen;
--forward-to relays verified pushes (the same body) to {URL}/v2/vehicle/{type} and answers with
whatever that receiver answered. Partners verify in their own receiver with
`from simulator.signing import verify_signature` (standard library only).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import aiohttp
import click
import numpy as np
from aiohttp import web

from simulator.core.alerts import ALERT_NAMES
from simulator.core.events import KINDS
from simulator.push.signing import verify_signature
from simulator.server.runner import until_signalled
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

__all__ = ["Listener", "listen", "parse_secrets", "verify_signature"]

OK_BODY = {"message": "success", "code": 0}  # the reference's response example
MAX_BODY = 64 * 1024


def parse_secrets(values: tuple[str, ...] | list[str]) -> dict[str | None, str]:
    """`SECRET` (any platform) or `PLATFORM=SECRET`; none given: the demo platform's."""
    out: dict[str | None, str] = {}
    for value in values:
        code, sep, secret = value.partition("=")
        if not sep:
            code, secret = "", value
        if not secret:
            raise click.BadParameter(f"{value!r}: expected SECRET or PLATFORM=SECRET")
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
    echo: Callable[[str], None] = click.echo
    _session: aiohttp.ClientSession | None = None

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def secret_for(self, platform: str | None) -> str | None:
        return self.secrets.get(platform) or self.secrets.get(None)

    async def handle(self, request: web.Request) -> web.Response:
        kind = request.path.rstrip("/").rsplit("/", 1)[-1]
        if "/v2/vehicle/" not in request.path or kind not in KINDS:
            self.echo(f"{'-' * 20} {'?':<10} {request.method} {request.path}  -> 404")
            return web.json_response({"message": "not a push path", "code": 404}, status=404)
        raw = await request.read()  # at most MAX_BODY: the app refuses more with 413
        try:
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            form = {}
        secret = self.secret_for(form.get("platformCode"))
        ok = secret is not None and verify_signature(raw, secret)
        sig = "sig ok" if ok else "sig BAD"
        if secret is None:
            sig += f" (no secret for {form.get('platformCode')})"
        status: int = 200
        body: object = OK_BODY
        note = ""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_rate and self.rng.random() < self.fail_rate:
            status, note = 500, " (--fail-rate)"
            body = {"message": "failing on purpose (--fail-rate)", "code": 1}
        elif self.forward_to and ok:
            status, body, note = await self._forward(kind, raw, request.content_type)
        elif self.forward_to:
            note = " (not forwarded: bad signature)"
        self.echo(f"{_stamp(form)} {kind:<10} {form.get('iotCode', '?'):<15} "
                  f"{describe(kind, form)}  {sig}  -> {status}{note}")
        return web.json_response(body, status=status)

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


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8090, show_default=True, type=click.IntRange(0, 65535),
              help="Port; 0 picks a free one.")
@click.option("--secret", "secrets", multiple=True, metavar="[PLATFORM=]SECRET",
              help="Client secret to verify with, for one platform or (bare) for any; repeat "
                   "for several platforms. Default: the demo platform A20081's.")
@click.option("--fail-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Answer this share of pushes with 500, to see the simulator retry.")
@click.option("--delay", default=0.0, show_default=True, type=click.FloatRange(0, 600),
              help="Wall seconds to wait before answering each push.")
@click.option("--forward-to", default=None, metavar="URL",
              help="Relay verified pushes to URL/v2/vehicle/{type} and answer with its status.")
@click.option("--seed", default=None, type=int, help="Seed of the --fail-rate draws.")
def listen(host: str, port: int, secrets: tuple[str, ...], fail_rate: float, delay: float,
           forward_to: str | None, seed: int | None) -> None:
    """Receive, verify and print the simulator's pushes (point --callback here)."""
    listener = Listener(parse_secrets(secrets), fail_rate, delay, forward_to, seed)
    asyncio.run(_run(listener, host, port))


async def _run(listener: Listener, host: str, port: int) -> None:
    runner = web.AppRunner(listener.app(), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = runner.addresses[0]
    platforms = ", ".join(code or "any platform" for code in listener.secrets)
    click.echo(f"listening on http://{bound[0]}:{bound[1]}  (segway-sim serve --callback "
               f"http://{bound[0]}:{bound[1]})  verifying for: {platforms}")
    await until_signalled()
    await runner.cleanup()

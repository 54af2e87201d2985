"""A partner's push receiver for the push tests, checking signatures its own way.

The signature check here is written from the reference's four steps, independently of
simulator/push/signing.py, over the raw body exactly as received.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from simulator.push.dispatcher import Dispatcher
from simulator.server.keys import DISPATCHER
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Simulator

PUSH_PATH = "/hook/v2/vehicle/"


def reference_signature(raw: str, secret: str) -> str:
    """The reference's steps: split on & and =, drop `signature`, order by ASCII, join, append
    the secret, MD5 as 32 hex digits."""
    pairs = [tuple(part.split("=", 1)) for part in raw.split("&")]
    kept = sorted((p for p in pairs if p[0] != "signature"), key=lambda p: p[0].encode("ascii"))
    text = "&".join(f"{k}={v}" for k, v in kept) + "&client_secret=" + secret
    return hashlib.md5(text.encode()).hexdigest()


@dataclass
class Got:
    kind: str  # last path segment: status, location, alert, fault, components
    path: str
    content_type: str
    raw: str
    form: dict[str, str]
    t: float  # virtual time of arrival

    def signed_by(self, secret: str = DEMO_CLIENT_SECRET) -> bool:
        return self.form.get("signature") == reference_signature(self.raw, secret)


Behaviour = Callable[[Got], Awaitable[int]]  # -> HTTP status to answer


async def answer_200(got: Got) -> int:
    return 200


@dataclass
class Receiver:
    sim: Simulator
    behaviour: Behaviour = answer_200
    answer: dict[str, Any] = field(default_factory=lambda: {"message": "success", "code": 0})
    got: list[Got] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        raw = (await request.read()).decode()
        pairs = [part.split("=", 1) for part in raw.split("&")] if raw else []
        got = Got(request.path.rsplit("/", 1)[-1], request.path, request.content_type, raw,
                  {k: v for k, v in pairs}, self.sim.clock.now)
        self.got.append(got)
        async with self._changed:
            self._changed.notify_all()
        status = await self.behaviour(got)
        headers = {"Location": self.url + "/elsewhere"} if 300 <= status < 400 else None
        return web.json_response(self.answer, status=status, headers=headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/hook"))

    async def wait_for(self, n: int, timeout: float = 10.0) -> None:
        """Until `n` pushes have arrived (signalled by the handler, not polled)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.got) >= n), timeout)

    def of(self, kind: str | None = None, imei: str | None = None) -> list[Got]:
        return [g for g in self.got if (kind is None or g.kind == kind)
                and (imei is None or g.form.get("iotCode") == imei)]


@dataclass
class Rig:
    """The simulator over loopback, its demo platform pushing to a real receiver."""

    client: TestClient
    sim: Simulator
    receiver: Receiver

    @property
    def dispatcher(self) -> Dispatcher:
        return self.client.app[DISPATCHER]

    async def settle(self) -> None:
        """Until every queued push has been attempted (the dispatcher signals it)."""
        await asyncio.wait_for(self.dispatcher.drain(), 10)

    async def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)
        await self.settle()

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        return self.sim.pushes.select(filters)

    def delivered(self, kind: str, imei: str) -> list[dict[str, Any]]:
        """Delivered pushes in the order they were made (deliveries run concurrently, so arrival
        order is not theirs)."""
        records = self.journal(type=kind, iotCode=imei, outcome="delivered")
        return sorted(records, key=lambda r: r["pushId"])


def point_demo_platform(sim: Simulator, url: str) -> None:
    sim.platforms[DEMO_CLIENT_ID].callback_url = url

"""The pytest plugin's push receiver: a partner's push endpoint, for tests.

It listens on a free loopback port on the plugin's server thread, checks every push's signature
with its own implementation of the reference's four steps (not the simulator's signer, so a
signing bug shows), keeps what arrives, and lets tests assert on it or await it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from simulator.sim import Simulator
from simulator.testing.server_thread import ServerThread


def push_signature(fields: dict[str, str], secret: str) -> str:
    """The reference's four steps: sort by key (ASCII), join k=v with &, add the secret, MD5."""
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "signature")
    return hashlib.md5(f"{text}&client_secret={secret}".encode()).hexdigest()


@dataclass
class Push:
    type: str  # status | location | alert | fault | components (the last path segment)
    fields: dict[str, str]  # the form as received, every value a string
    verified: bool  # the signature matches the platform's client secret

    @property
    def iotCode(self) -> str | None:  # noqa: N802 - the wire name
        return self.fields.get("iotCode")

    def matches(self, type: str | None, iotCode: str | None,  # noqa: A002, N803
                fields: dict[str, Any]) -> bool:
        return ((type is None or self.type == type)
                and (iotCode is None or self.iotCode == str(iotCode))
                and all(self.fields.get(k) == _wire(v) for k, v in fields.items()))


def _wire(value: Any) -> str:
    """How a push carries a value: booleans as true/false, everything as a string."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass
class PushReceiver:
    """A partner's push endpoint, for tests: `{url}/v2/vehicle/{status,location,...}`."""

    server: ServerThread
    secrets: dict[str, str]  # platformCode -> client secret, to verify signatures
    received: list[Push] = field(default_factory=list)
    url: str = ""
    _failures: list[int] = field(default_factory=list)  # statuses to answer next, in order
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None

    async def _start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/v2/vehicle/{type}", self._receive)
        app.router.add_post("/vehicle/{type:status}", self._receive)  # pushFormat v1
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.server.host, 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        given = fields.pop("signature", "").lower()
        if "platformCode" in fields:
            secret = self.secrets.get(fields["platformCode"])
            verified = secret is not None and given == push_signature(fields, secret)
        else:  # a v1 push names no platform: any secret that verifies it
            verified = any(given == push_signature(fields, s) for s in self.secrets.values())
        status = self._failures.pop(0) if self._failures else 200
        if 200 <= status < 300:
            self.received.append(Push(request.match_info["type"], fields, verified))
            assert self._changed is not None
            async with self._changed:
                self._changed.notify_all()
        return web.json_response({"message": "success", "code": 0}, status=status)

    def clear(self) -> None:
        def clear_all(_: Simulator) -> None:
            self.received.clear()
            self._failures.clear()

        self.server.call(clear_all)

    def fail_next(self, times: int = 1, status: int = 500) -> None:
        """Answer the next `times` pushes with `status` (not collected), to exercise retries."""
        self.server.call(lambda _: self._failures.extend([status] * times))

    def select(self, type: str | None = None, iotCode: str | None = None,  # noqa: A002, N803
               verified: bool = True, **fields: Any) -> list[Push]:
        pushes = list(self.received)
        return [p for p in pushes if p.verified == verified and p.matches(type, iotCode, fields)]

    def assert_pushed(self, type: str | None = None, iotCode: str | None = None,  # noqa: A002,N803
                      count: int | None = None, **fields: Any) -> list[Push]:
        """The verified pushes that match; exactly `count` of them, or at least one."""
        found = self.select(type, iotCode, **fields)
        ok = len(found) >= 1 if count is None else len(found) == count
        if not ok:
            want = "at least 1" if count is None else str(count)
            raise AssertionError(
                f"expected {want} verified push(es) type={type} iotCode={iotCode} {fields}, "
                f"got {len(found)}; received: {self._summary()}")
        return found

    def _summary(self) -> str:
        seen = [f"{p.type}/{p.iotCode}{'' if p.verified else ' (BAD SIGNATURE)'}"
                for p in list(self.received)]
        return ", ".join(seen[-20:]) or "nothing"

    async def _wait(self, want: Callable[[list[Push]], bool], timeout: float) -> None:
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: want(self.received)), timeout)

    def _waiter(self, predicate: Callable[[Push], bool] | None, type: str | None,  # noqa: A002
                iotCode: str | None, count: int, fields: dict[str, Any],  # noqa: N803
                ) -> tuple[Callable[[list[Push]], bool], Callable[[], list[Push]]]:
        def found() -> list[Push]:
            return [p for p in list(self.received) if p.verified
                    and p.matches(type, iotCode, fields) and (predicate is None or predicate(p))]

        return (lambda _: len(found()) >= count), found

    def wait_for(self, predicate: Callable[[Push], bool] | None = None, *,
                 type: str | None = None, iotCode: str | None = None,  # noqa: A002, N803
                 count: int = 1, timeout: float = 10.0, **fields: Any) -> Awaitable[list[Push]]:
        """Await until `count` verified pushes match (wakes on each arrival; no polling)."""
        want, found = self._waiter(predicate, type, iotCode, count, fields)
        future = self.server.submit(self._wait(want, timeout))

        async def done() -> list[Push]:
            try:
                await asyncio.wrap_future(future)
            except TimeoutError:
                raise AssertionError(f"no {count} matching push(es) within {timeout}s; "
                                     f"received: {self._summary()}") from None
            return found()

        return done()

    def wait(self, predicate: Callable[[Push], bool] | None = None, *,
             type: str | None = None, iotCode: str | None = None,  # noqa: A002, N803
             count: int = 1, timeout: float = 10.0, **fields: Any) -> list[Push]:
        """`wait_for` for synchronous tests: blocks until the pushes arrive or `timeout`."""
        want, found = self._waiter(predicate, type, iotCode, count, fields)
        try:
            self.server.submit(self._wait(want, timeout)).result(timeout + 5)
        except TimeoutError:
            raise AssertionError(f"no {count} matching push(es) within {timeout}s; "
                                 f"received: {self._summary()}") from None
        return found()

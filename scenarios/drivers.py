"""How a scenario reaches the world: one interface, over HTTP, in two flavours.

`HttpDriver` drives a running simulator at a base URL as a partner would: the vendor API for
rentals, commands and queries, and the control plane for everything else (events, state,
fault rules, the clock, the push journal). `LocalDriver` is the same over a simulator served in
this process: it moves the clock itself and reads the push journal directly, waiting after
every step until the pushes it caused have been delivered, so an in-process run is exactly
reproducible. Either can `follow` a clock that someone else moves instead of moving it.

This is the partner's side of the wire (an HTTP client that awaits): it knows the server only by
its URLs (the vendor paths of the reference, the control plane's routes), never by its modules.
A LocalDriver also holds the in-process Simulator and the push dispatcher that serves it; whoever
starts that server (server/scenario_session.py, server/scenario_routes.py) hands them over.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp

from simulator.core.control_token import control_headers

if TYPE_CHECKING:
    from simulator.push.dispatcher import Dispatcher
    from simulator.sim import Simulator

# The longest clock advance asked of the control plane in one request: its own limit (a week,
# server/control_models.py MAX_ADVANCE_S; a test holds the two together).
ADVANCE_STEP_S = 7 * 86_400
SETTLE_TIMEOUT_S = 30.0  # wall seconds a remote simulator gets to deliver what is queued
FOLLOW_POLL_S = 0.1  # how often a run that follows someone else's clock looks at it
PAGE = 100_000

_Q, _C, _S = "/api/v2/vehicle/query/current", "/api/v2/vehicle/control", "/api/v2/vehicle/setting"
# Each vendor operation's path, as the reference gives it (battery-info: the documented mopeds
# path); a test holds this to the server's route table (server/vendor.py ROUTES).
VENDOR_PATHS: dict[str, str] = {
    "token": "/oauth/token",
    "status": f"{_Q}/status",
    "location": f"{_Q}/location",
    "battery-info": "/api/v2/mopeds/query/current/battery-info",
    "bluetooth-key": f"{_Q}/bluetooth-key",
    "unlock": f"{_C}/unlock",
    "lock": f"{_C}/lock",  # the scooter's (core/models/scooter.py)
    "light": f"{_C}/light",
    "battery-cover": f"{_C}/battery-cover",
    "sound": f"{_C}/sound",
    "mech-lock": f"{_C}/mech-lock",
    "anti-theft": f"{_C}/anti-theft",
    "ambient": f"{_C}/ambient",
    "wireless-charging": f"{_C}/wireless-charging",
    "whole-shutdown": f"{_C}/whole-shutdown",
    "setting/switch": "/api/v2/ebike/setting/switch",
    "setting/ambient": f"{_S}/ambient",
    "setting/sound": f"{_S}/sound",
    "setting/speed-mode": f"{_S}/speed-mode",
    "setting/scooter": f"{_S}/scooter",
    "setting/bluetooth-key": f"{_S}/bluetooth-key",
    "setting/interval": f"{_S}/interval",
}


class Driver(Protocol):
    """What a run needs of the world (HttpDriver, LocalDriver, record.Recording)."""

    kind: str
    unread: int  # push journal records that fell off its ring before the run read them

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def now(self) -> float: ...
    async def token(self, client_id: str, secret: str) -> str: ...
    async def vendor(self, method: str, path: str, token: str, body: Any = None,
                     query: dict[str, str] | None = None) -> dict[str, Any]: ...
    async def add_platform(self, body: dict[str, Any]) -> tuple[int, Any]: ...
    async def imeis(self, code: str) -> list[str]: ...
    async def vehicle(self, imei: str) -> dict[str, Any]: ...
    async def event(self, imei: str, body: dict[str, Any]) -> int: ...
    async def patch(self, imei: str, body: dict[str, Any]) -> None: ...
    async def add_fault(self, body: dict[str, Any]) -> int: ...
    async def delete_fault(self, rule_id: int) -> None: ...
    async def advance_to(self, t: float) -> None: ...
    async def pushes(self, platform: str) -> list[dict[str, Any]]: ...
    async def settle(self) -> None: ...


class ControlError(Exception):
    """The control plane refused a call the story needs (the run cannot go on)."""

    def __init__(self, what: str, status: int, body: Any) -> None:
        detail = body.get("error") if isinstance(body, dict) else body
        super().__init__(f"{what}: HTTP {status} {detail}")
        self.status = status
        self.body = body


class HttpDriver:
    kind = "remote"

    def __init__(self, base_url: str, follow: bool = False) -> None:
        self.base_url = base_url.rstrip("/")
        self.follow = follow
        self.session: aiohttp.ClientSession | None = None
        self._seq = 0  # the push journal's last record seen
        self.unread = 0
        self._clock: dict[str, Any] | None = None  # how the clock was before the run

    # -- lifecycle ----------------------------------------------------------------------------

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))
        try:
            _, clock = await self._call("GET", "/_sim/clock")
            self._clock = clock
            if not self.follow:  # the story moves the clock: nobody else may meanwhile
                await self._control("POST", "/_sim/clock", {"paused": True})
            _, journal = await self._call("GET", "/_sim/pushes", query={"limit": "1"})
            self._seq = int(journal.get("seq", 0))
        except BaseException:  # not open after all (unreachable, refused): nothing stays open
            await self.session.close()
            self.session = None
            raise

    async def close(self) -> None:
        try:
            if self._clock is not None and not self.follow and self.session is not None:
                await self._call("POST", "/_sim/clock", {"paused": self._clock["paused"]})
        finally:
            if self.session is not None:
                await self.session.close()
            self.session = None

    # -- plumbing -----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, body: Any = None,
                    query: dict[str, str] | None = None) -> tuple[int, Any]:
        assert self.session is not None, "driver not open"
        async with self.session.request(method, self.base_url + path, json=body, params=query,
                                        headers=control_headers()) as resp:
            payload = await resp.json(content_type=None)
            return resp.status, payload

    async def _control(self, method: str, path: str, body: Any = None,
                       ok: tuple[int, ...] = (200, 201)) -> tuple[int, Any]:
        status, payload = await self._call(method, path, body)
        if status not in ok:
            raise ControlError(f"{method} {path}", status, payload)
        return status, payload

    # -- the vendor API -------------------------------------------------------------------------

    async def token(self, client_id: str, secret: str) -> str:
        assert self.session is not None
        form = {"client_id": client_id, "client_secret": secret,
                "grant_type": "client_credentials"}
        async with self.session.post(self.base_url + "/oauth/token", data=form) as resp:
            payload = await resp.json(content_type=None)
            if resp.status != 200:
                raise ControlError("POST /oauth/token", resp.status, payload)
            return str(payload["access_token"])

    async def vendor(self, method: str, path: str, token: str, body: Any = None,
                     query: dict[str, str] | None = None) -> dict[str, Any]:
        """One vendor call; its envelope (every vendor answer is HTTP 200 JSON)."""
        assert self.session is not None
        headers = {"Authorization": f"bearer {token}"}
        async with self.session.request(method, self.base_url + path, json=body, params=query,
                                        headers=headers) as resp:
            payload = await resp.json(content_type=None)
            if resp.status != 200 or not isinstance(payload, dict):
                raise ControlError(f"{method} {path}", resp.status, payload)
            return payload

    # -- the control plane ----------------------------------------------------------------------

    async def add_platform(self, body: dict[str, Any]) -> tuple[int, Any]:
        """201 and the platform, or 409 if the client id is taken."""
        return await self._control("POST", "/_sim/platforms", body, ok=(201, 409))

    async def imeis(self, code: str) -> list[str]:
        out: list[str] = []
        while True:
            query = {"platformCode": code, "limit": "1000", "offset": str(len(out))}
            status, page = await self._call("GET", "/_sim/vehicles", query=query)
            if status != 200:
                raise ControlError("GET /_sim/vehicles", status, page)
            out += [item["iotCode"] for item in page["items"]]
            if len(out) >= page["total"] or not page["items"]:
                return out

    async def vehicle(self, imei: str) -> dict[str, Any]:
        _, state = await self._control("GET", f"/_sim/vehicles/{imei}", ok=(200,))
        return dict(state)

    async def event(self, imei: str, body: dict[str, Any]) -> int:
        """200, or 409 when the vehicle's state does not allow the event."""
        status, _ = await self._control("POST", f"/_sim/vehicles/{imei}/events", body,
                                        ok=(200, 409))
        return status

    async def patch(self, imei: str, body: dict[str, Any]) -> None:
        await self._control("PATCH", f"/_sim/vehicles/{imei}", body, ok=(200,))

    async def add_fault(self, body: dict[str, Any]) -> int:
        _, rule = await self._control("POST", "/_sim/faults", body, ok=(201,))
        return int(rule["id"])

    async def delete_fault(self, rule_id: int) -> None:
        # 404: the rule fired its `times` and is gone already.
        await self._control("DELETE", f"/_sim/faults/{rule_id}", ok=(200, 404))

    # -- time and pushes --------------------------------------------------------------------------

    async def now(self) -> float:
        _, clock = await self._control("GET", "/_sim/clock", ok=(200,))
        return float(clock["now"])

    async def advance_to(self, t: float) -> None:
        if self.follow:
            await self._follow(t)
            return
        now = await self.now()
        while now < t:
            step = min(t - now, float(ADVANCE_STEP_S))
            _, clock = await self._control("POST", "/_sim/clock", {"advance": step}, ok=(200,))
            now = float(clock["now"])

    async def _follow(self, t: float) -> None:
        """Wait until whoever moves the clock has moved it to `t` (a live server's pacer)."""
        while await self.now() < t:
            await asyncio.sleep(FOLLOW_POLL_S)

    async def pushes(self, platform: str) -> list[dict[str, Any]]:
        """Push journal records of `platform` since the last call, oldest first."""
        out: list[dict[str, Any]] = []
        while True:
            query = {"platformCode": platform, "since": str(self._seq), "limit": str(PAGE)}
            status, page = await self._call("GET", "/_sim/pushes", query=query)
            if status != 200:
                raise ControlError("GET /_sim/pushes", status, page)
            items = page["items"]
            # The ring's oldest record is younger than the next one this run wanted: those
            # between fell off unread (of any platform: the journal is the server's).
            oldest = int(page["seq"]) - int(page["retained"]) + 1
            self.unread += max(0, oldest - 1 - self._seq)
            self._seq = max(self._seq, oldest - 1)
            out += items
            if len(items) < PAGE:
                # Nothing newer matched up to the journal's seq: no need to look there again.
                self._seq = max([self._seq, int(page["seq"]), *(r["seq"] for r in items)])
                return out
            self._seq = items[-1]["seq"]

    async def settle(self) -> None:
        """Until the simulator has attempted every push it queued (bounded: it is remote)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            _, journal = await self._call("GET", "/_sim/pushes", query={"limit": "1"})
            c = journal["counters"]
            if c["queued"] <= c["delivered"] + c["retry"] + c["failed"]:
                return
            await asyncio.sleep(0.05)


class LocalDriver(HttpDriver):
    """A simulator in this process, served on a loopback port: vendor and control calls go over
    HTTP like any partner's; the clock and the push journal are read and moved directly."""

    kind = "in-process"

    def __init__(self, sim: Simulator, base_url: str, dispatcher: Dispatcher,
                 follow: bool = False) -> None:
        super().__init__(base_url, follow)
        self.sim = sim
        self.dispatcher = dispatcher
        self._heard: list[dict[str, Any]] = []  # journal records since the last pushes()

    def _hear(self, record: dict[str, Any]) -> None:
        self._heard.append(record)

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))
        self._paused = self.sim.clock.paused
        if not self.follow:
            self.sim.clock.paused = True
        # Told of every record as it is journaled, so none is lost to the ring however many
        # come between two reads (a run hosted by a busy server, a fleet of 100,000).
        self.sim.pushes.listeners.append(self._hear)

    async def close(self) -> None:
        if self._hear in self.sim.pushes.listeners:
            self.sim.pushes.listeners.remove(self._hear)
        if not self.follow:
            self.sim.clock.paused = self._paused
        if self.session is not None:
            await self.session.close()
        self.session = None

    async def now(self) -> float:
        return self.sim.clock.now

    async def advance_to(self, t: float) -> None:
        if self.follow:
            while self.sim.clock.now < t:
                await asyncio.sleep(FOLLOW_POLL_S)
            return
        self.sim.advance_to(t)
        await self.settle()

    async def pushes(self, platform: str) -> list[dict[str, Any]]:
        heard, self._heard = self._heard, []
        return [r for r in heard if r["platformCode"] == platform]

    async def settle(self) -> None:
        await self.dispatcher.drain()

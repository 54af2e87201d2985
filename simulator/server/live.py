"""The live channel: server-sent events from the simulator to the dashboard, `GET /_sim/live`.

One hub per app turns the world into batched messages a few times a second: the fleet as compact
frames (positions and display states of changed rows only, or a full frame), the clock, summary
figures, and events (vehicle changes from `sim.bus`, API calls from `sim.requests`, push attempts
from the push journal). Every message carries `id: <stream>:<seq>`, the last event it includes.

Memory stays bounded however slow or dead a browser is. Events live once, in one ring shared by
all clients; a client is a cursor into it and the number of the last fleet frame it got.
A client that falls behind skips fleet frames (it gets the newest full frame, never a backlog of
old positions) but not events, until the ring wraps under it; then it is told how many it missed
(`gap`). A write that does not drain within WRITE_TIMEOUT_S drops the client.

Reconnection: a `Last-Event-ID` of this stream still in the ring resumes right after it; any
other (a restart, a reset after a long idle spell) gets `resync: true`: the page starts afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from simulator.core.events import STATUS, Event
from simulator.core.journal import Journal
from simulator.server import live_frames as lf
from simulator.server.http_errors import JsonRoutes
from simulator.server.keys import SIM
from simulator.server.rides import Rides
from simulator.server.wire import json_response
from simulator.sim import Simulator

log = logging.getLogger("segway_sim.live")

FRAME_INTERVAL_S = 0.25  # 4 frames a second: smooth enough on a map, cheap for the server
RING_SIZE = 20_000  # events kept for resuming clients (each a few hundred bytes)
BACKLOG = 200  # events a fresh page gets, so its feed does not start empty
MAX_EVENTS_PER_MESSAGE = 2_000
MAX_CLIENTS = 64
HEARTBEAT_S = 10.0
WRITE_TIMEOUT_S = 20.0
IDLE_GRACE_S = 60.0  # keep listening this long after the last page left, for its reconnect
RETRY_MS = 1000
# What an API call or a push attempt says on the live channel: enough for the feed and the
# charts. The whole record (form fields, signature, URL) stays in its journal, for the panel.
API_FIELDS = ("endpoint", "method", "iotCode", "platformCode", "detail", "latencyMs")
PUSH_FIELDS = ("pushId", "type", "iotCode", "platformCode", "attempt", "httpStatus", "error",
               "reason", "chaos", "latencyMs")
# Control-plane routes the page uses when the app has them (others may add them later).
FEATURES = {
    "vehicleEvents": "/_sim/vehicles/{iotCode}/events",
    "faults": "/_sim/faults",
    "pushChaos": "/_sim/push-chaos",
    "platforms": "/_sim/platforms/{clientId}",
    "scenarios": "/_sim/scenarios",
}
Where = tuple[int, float, float, float]  # a vehicle's row, lat, lon and ride end at an event


@dataclass(eq=False)  # clients are told apart by identity
class Client:
    cursor: int  # seq of the last event sent
    frame: int = -1  # number of the last fleet frame sent
    roster: int = -1  # roster version the client has
    version: int = -1  # hub version (clock, figures) last sent
    gap: int = 0  # events this client missed and has not been told about
    resync: bool = False


class LiveHub:
    def __init__(self, sim: Simulator, interval: float = FRAME_INTERVAL_S,
                 ring_size: int = RING_SIZE) -> None:
        self.sim = sim
        self.interval = interval
        self.stream = uuid.uuid4().hex[:12]
        self.ring: deque[tuple[int, bytes]] = deque(maxlen=ring_size)
        self.seq = 0
        # (t, iotCode, kind, data, where an unlock or lock happened: (row, lat, lon, ride end))
        self.pending: deque[tuple[float, str | None, str, dict[str, Any], Where | None]] = deque(
            maxlen=ring_size)
        self.rides = Rides()
        self.lost = 0  # vehicle events that overflowed `pending` between two frames
        self.framer = lf.Framer()
        self.frame: lf.Frame | None = None
        self._full: tuple[int, bytes] = (0, b"")
        self._delta: tuple[int, bytes | None] = (0, None)
        self.version = 0
        self.head = b"{}"  # clock and figures of the current version, as JSON object members
        self._clock: tuple[float, float, bool] | None = None
        self.api = lf.Tally()
        self.pushes = lf.Tally()
        # name -> (the journal's clears, seq): a reset clears the journals in place.
        self._cursors: dict[str, tuple[int, int]] = {}
        self._generation = sim.generation  # the world the ring's minutes belong to
        self.clients: set[Client] = set()
        self.subscribed = False
        self.closing = False
        # Handlers mid-write: a stop cancels them (one writing to a page that stopped reading
        # would hold the shutdown for WRITE_TIMEOUT_S); the others see `closing` and end.
        self.writing: set[asyncio.Task[Any]] = set()
        self._tick: asyncio.Event | None = None
        self._idle_since: float | None = None
        self._empty: asyncio.Event | None = None

    # -- listening ------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        fleet = self.sim.fleet
        imei = fleet.imeis[event.row] if 0 <= event.row < len(fleet.imeis) else None
        if len(self.pending) == self.pending.maxlen:
            self.lost += 1
        where = None
        # Where a ride begins or ends, now: the names are looked up later, off the world's step.
        if event.kind == STATUS and event.data.get("reason") in ("unlock", "lock") and imei:
            row = event.row
            where = (row, float(fleet.lat[row]), float(fleet.lon[row]), float(fleet.ride_end[row]))
        self.pending.append((event.t, imei, event.kind, event.data, where))

    def activate(self) -> None:
        if not self.subscribed:
            self.sim.bus.subscribe(self._on_event)
            self.subscribed = True
        self._idle_since = None

    def deactivate(self) -> None:
        """Nobody watching: stop listening. Ids of the old stream no longer resume."""
        if self.subscribed:
            self.sim.bus.unsubscribe(self._on_event)
            self.subscribed = False
        self.pending.clear()
        self.ring.clear()
        self.stream = uuid.uuid4().hex[:12]

    # -- building -------------------------------------------------------------------------------

    def _append(self, record: dict[str, Any]) -> None:
        self.seq += 1
        record["seq"] = self.seq
        self.ring.append((self.seq, orjson.dumps(record, default=str)))

    def _ingest(self) -> bool:
        """Move what happened since the last frame into the ring and the tallies."""
        before = self.seq
        if self._generation != self.sim.generation:  # a reset or a load: another world
            self._generation = self.sim.generation
            self.api.clear()
            self.pushes.clear()
            self.rides.clear()
            self._append({"kind": "reset", "t": self.sim.clock.now})
        while self.pending:
            t, imei, kind, data, where = self.pending.popleft()
            record = {"kind": "vehicle", "t": t, "iotCode": imei, "type": kind, "data": data}
            if where is not None and imei is not None:
                row, lat, lon, end = where
                record.update(self.rides.note(self.sim, t, row, imei, data["reason"], lat, lon,
                                              end))
            self._append(record)
        now = self.sim.clock.now
        for record in self._journal("requests"):
            t = lf.record_time_s(record, now)
            code = record.get("code", record.get("httpStatus"))
            self.api.add(t, f"{record.get('endpoint')} {code}")
            event = {k: record[k] for k in API_FIELDS if k in record}
            event.update(kind="api", t=t, journalSeq=record["seq"], code=code)
            self._append(event)
        for record in self._journal("pushes"):
            t = lf.record_time_s(record, now)
            outcome = record.get("outcome", record.get("status"))
            self.pushes.add(t, f"{record.get('type')} {outcome}")
            event = {k: record[k] for k in PUSH_FIELDS if k in record}
            event.update(kind="push", t=t, journalSeq=record["seq"], outcome=outcome)
            self._append(event)
        return self.seq != before

    def _journal(self, name: str) -> list[dict[str, Any]]:
        journal: Journal | None = getattr(self.sim, name, None)
        if journal is None:
            return []
        clears, since = self._cursors.get(name, (journal.clears, 0))
        if clears != journal.clears:  # cleared by a reset: everything in it now is new
            since = 0
        records, _ = lf.new_records(journal, since)
        self._cursors[name] = (journal.clears, int(journal.seq))
        return records

    def build(self) -> bool:
        """Bring the hub up to date with the world; True if clients have something new."""
        news = self._ingest()
        frame, moved = self.framer.next(self.sim)
        clock = self.sim.clock
        key = (clock.now, clock.speed, clock.paused)
        if not (news or moved or key != self._clock or self.frame is None):
            return False
        self.frame = frame
        self._clock = key
        self.version += 1
        fleet = self.sim.fleet
        stats = {
            "vehicles": len(fleet),
            "byState": lf.state_counts(frame.state),
            "battery": lf.battery_histogram(fleet),
            "api": self.api.series(clock.now),
            "pushes": self.pushes.series(clock.now),
            "lostEvents": self.lost,
            "clients": len(self.clients),
        }
        self.head = orjson.dumps({"clock": clock.to_json(), "stats": stats})
        if self._tick is not None:
            self._tick.set()
        self._tick = asyncio.Event()
        return True

    def _fleet_json(self, client: Client) -> bytes | None:
        frame = self.frame
        if frame is None or client.frame == frame.number:
            return None
        if client.frame == frame.number - 1 and client.roster == frame.roster:
            if self._delta[0] != frame.number:
                self._delta = (frame.number, frame.delta_json())
            if self._delta[1] is not None:
                return self._delta[1]
        if self._full[0] != frame.number:
            self._full = (frame.number, frame.full_json())
        return self._full[1]

    # -- clients --------------------------------------------------------------------------------

    def connect(self, last_event_id: str | None) -> Client:
        stream, _, seq = (last_event_id or "").partition(":")
        resumes = stream == self.stream and seq.isdigit() and int(seq) <= self.seq
        self.activate()
        self.build()  # a fresh frame, and what the journals hold, before choosing the cursor
        client = Client(cursor=max(self._oldest() - 1, self.seq - BACKLOG))
        if resumes:
            client.cursor = int(seq)
        elif last_event_id:
            client.resync = True
        self.clients.add(client)
        return client

    def disconnect(self, client: Client) -> None:
        self.clients.discard(client)
        if not self.clients and self._empty is not None:
            self._empty.set()

    async def until_empty(self) -> None:
        """Until no page is connected (a test's way to see a dropped page noticed)."""
        while self.clients:
            self._empty = asyncio.Event()
            await self._empty.wait()

    def _oldest(self) -> int:
        return self.ring[0][0] if self.ring else self.seq + 1

    def message_for(self, client: Client) -> bytes | None:
        """The next SSE message for `client`, or None if it has everything."""
        oldest = self._oldest()
        if client.cursor < oldest - 1:  # the ring wrapped under this client
            client.gap += oldest - 1 - client.cursor
            client.cursor = oldest - 1
        start = client.cursor - (oldest - 1)
        events = list(itertools.islice(self.ring, start, start + MAX_EVENTS_PER_MESSAGE))
        fleet = self._fleet_json(client)
        if not events and fleet is None and client.version == self.version:
            return None
        parts = [b'"stream":', orjson.dumps(self.stream),
                 b',"version":', str(self.version).encode()]
        if self.frame is not None:
            parts += [b',"frame":', str(self.frame.number).encode()]
            if client.roster != self.frame.roster:
                parts += [b',"roster":', self.framer.roster_json]
                client.roster = self.frame.roster
            client.frame = self.frame.number
        if fleet is not None:
            parts += [b',"fleet":', fleet]
        if client.version != self.version:
            parts += [b",", self.head[1:-1]]
            client.version = self.version
        if client.gap or client.resync:
            parts += [b',"gap":', str(client.gap).encode(),
                      b',"resync":', b"true" if client.resync else b"false"]
            client.gap, client.resync = 0, False
        parts += [b',"events":', lf.join_json(e for _, e in events)]
        if events:
            client.cursor = events[-1][0]
        head = f"id: {self.stream}:{client.cursor}\nevent: frame\ndata: ".encode()
        return head + b"{" + b"".join(parts) + b"}\n\n"

    async def wait(self, timeout: float) -> bool:
        """Until the next build (True) or `timeout` (False)."""
        if self._tick is None:
            self._tick = asyncio.Event()
        try:
            await asyncio.wait_for(self._tick.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- the loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.closing:
            await asyncio.sleep(self.interval)
            if self.clients:
                try:
                    self.build()
                except Exception:  # a bad frame must not stop the channel for good
                    log.exception("live frame failed")
            elif self.subscribed:
                if self._idle_since is None:
                    self._idle_since = loop.time()
                elif loop.time() - self._idle_since > IDLE_GRACE_S:
                    self.deactivate()

    async def on_shutdown(self, app: web.Application) -> None:
        self.closing = True
        for writer in self.writing:
            writer.cancel()
        if self._tick is not None:
            self._tick.set()


HUB = web.AppKey("live_hub", LiveHub)


async def live(request: web.Request) -> web.StreamResponse:
    """`GET /_sim/live`: the event stream (text/event-stream)."""
    hub = request.app[HUB]
    if len(hub.clients) >= MAX_CLIENTS:
        return json_response({"error": f"at most {MAX_CLIENTS} live clients", "field": None}, 503)
    last_id = request.headers.get("Last-Event-ID") or request.query.get("lastEventId")
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    })
    client = hub.connect(last_id)  # before the headers go out: a failure here is still a 500
    try:
        await response.prepare(request)
        await _send(hub, response, f"retry: {RETRY_MS}\n\n".encode())
        while not hub.closing:
            message = hub.message_for(client)
            if message is None:
                ticked = await hub.wait(HEARTBEAT_S)
                if hub.closing or request.transport is None or request.transport.is_closing():
                    break
                if ticked:
                    continue
                message = b": ping\n\n"
            await _send(hub, response, message)
    except (ConnectionError, TimeoutError):
        pass  # the page went away or stopped reading; it reconnects with Last-Event-ID
    finally:
        hub.disconnect(client)
    return response


async def _send(hub: LiveHub, response: web.StreamResponse, data: bytes) -> None:
    """One write: TimeoutError if the page does not take it in time, cancelled at a stop."""
    writer = asyncio.current_task()
    assert writer is not None  # aiohttp runs every handler in a task
    hub.writing.add(writer)
    try:
        await asyncio.wait_for(response.write(data), WRITE_TIMEOUT_S)
    finally:
        hub.writing.discard(writer)


def setup(app: web.Application) -> None:
    sim = app[SIM]
    hub = LiveHub(sim, interval=float(sim.config.extra.get("live_interval", FRAME_INTERVAL_S)))
    app[HUB] = hub
    JsonRoutes(app).add_get("/_sim/live", live)

    async def running(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(hub.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        hub.deactivate()

    async def started(app: web.Application) -> None:
        paths = {resource.canonical for resource in app.router.resources()}
        hub.framer.features = {name: path in paths for name, path in FEATURES.items()}

    app.on_startup.append(started)
    app.cleanup_ctx.append(running)
    app.on_shutdown.append(hub.on_shutdown)

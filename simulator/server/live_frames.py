"""What the live channel sends: each vehicle's display state, compact fleet frames, tallies.

Pure functions and small classes over the fleet arrays and the journals, no I/O: the live channel
(live.py) decides when to call them and who gets what. Positions travel as little-endian int32
micro-degrees and states as uint8, base64 in JSON, so a frame of 10,000 vehicles is a few hundred
kilobytes at most and a delta of the riding ones a few tens.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from simulator.core.alerts import ALERT_NAMES, FAULT_CODES
from simulator.core.errors import MESSAGES
from simulator.core.events import KINDS
from simulator.core.fleet import ALERT_BITS, Fleet
from simulator.core.geo import City
from simulator.core.models import PROFILES
from simulator.core.vehicle import OPERATIONS
from simulator.push.chaos import ACTIONS
from simulator.sim import Simulator
from simulator.world import names, places

# Display states, in legend order; a vehicle's code is its index here.
STATES = ("locked", "unlocked", "riding", "low-battery", "charging", "dormant",
          "offline", "upgrading", "fault", "alert", "inactive")
CODE = {name: n for n, name in enumerate(STATES)}
# A vehicle in several states shows the most pressing one: later entries win.
PRECEDENCE = ("unlocked", "dormant", "low-battery", "charging", "riding", "alert", "fault",
              "upgrading", "offline", "inactive")
# The vehicle's own low-power alert fires at lowPowerValue (default 5 %), too late for an operator
# looking at a map; the dashboard flags a battery that a swap crew should visit.
LOW_BATTERY_PERCENT = 20.0
_LOW_POWER_BIT = np.uint32(ALERT_BITS[12])
BATTERY_BINS = 10  # 0-9 %, 10-19 %, ..., 90-100 %
TALLY_MINUTES = 30  # per-minute series span the last 30 virtual minutes


def classify(fleet: Fleet, rows: slice | None = None) -> np.ndarray:
    """The display state code of every vehicle (uint8), vectorised; `rows` for a part."""
    sel = slice(None) if rows is None else rows

    def col(name: str) -> np.ndarray:
        return fleet.column(name)[sel]

    alerts = col("alerts")
    masks = {
        "unlocked": ~col("locked"),
        "dormant": col("dormant"),
        "low-battery": (col("power") < LOW_BATTERY_PERCENT) | ((alerts & _LOW_POWER_BIT) != 0),
        "charging": col("charging"),
        "riding": col("riding"),
        "alert": (alerts & ~_LOW_POWER_BIT) != 0,
        "fault": col("faults") != 0,
        "upgrading": col("upgrading"),
        "offline": ~col("online") | col("transport"),
        "inactive": ~col("activated"),
    }
    state = np.zeros(len(alerts), dtype=np.uint8)
    for name in PRECEDENCE:
        state[masks[name]] = CODE[name]
    return state


def state_name(fleet: Fleet, row: int) -> str:
    """One row through the same rule as the whole fleet: the panel and the map never disagree."""
    return STATES[int(classify(fleet, slice(row, row + 1))[0])]


def b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def micro_degrees(values: np.ndarray) -> np.ndarray:
    return np.round(values * 1e6).astype("<i4")


def battery_histogram(fleet: Fleet) -> list[int]:
    bins = np.clip((fleet.power // (100 / BATTERY_BINS)).astype(np.int64), 0, BATTERY_BINS - 1)
    return [int(c) for c in np.bincount(bins, minlength=BATTERY_BINS)]


@dataclass
class Frame:
    """One moment of the fleet as the page draws it; `number` increases by one per frame."""

    number: int
    roster: int  # version of the vehicle list; a delta only applies within one roster
    lat: np.ndarray
    lon: np.ndarray
    state: np.ndarray
    changed: np.ndarray | None  # rows changed since the previous frame; None: all (new roster)

    def full_json(self) -> bytes:
        return orjson.dumps({"full": True, "n": len(self.state), "lat": b64(self.lat),
                             "lon": b64(self.lon), "st": b64(self.state)})

    def delta_json(self) -> bytes | None:
        if self.changed is None:
            return None
        rows = self.changed
        return orjson.dumps({"full": False, "n": len(self.state), "idx": b64(rows.astype("<u4")),
                             "lat": b64(self.lat[rows]), "lon": b64(self.lon[rows]),
                             "st": b64(self.state[rows])})


class Framer:
    """Turns the fleet into successive frames, remembering the last one to find what changed."""

    def __init__(self) -> None:
        # Which optional control-plane routes this app serves ({"scenarios": True, ...}): the page
        # offers only what exists.
        self.features: dict[str, bool] = {}
        self.frame: Frame | None = None
        self._generation: int | None = None  # the simulator's world the roster was drawn for
        self.roster_key: tuple[Any, ...] | None = None
        self.roster_version = 0
        self.roster_json = b"null"

    def roster_changed(self, sim: Simulator) -> bool:
        same_world = self._generation == sim.generation
        return not same_world or self._roster_key(sim) != self.roster_key

    @staticmethod
    def _roster_key(sim: Simulator) -> tuple[Any, ...]:
        platforms = tuple((p.code, p.secret, p.callback_url) for p in sim.platform_list)
        return len(sim.fleet), platforms

    def next(self, sim: Simulator) -> tuple[Frame, bool]:
        """The fleet now as a frame, and whether anything the page draws has changed."""
        fleet = sim.fleet
        lat, lon, state = micro_degrees(fleet.lat), micro_degrees(fleet.lon), classify(fleet)
        number = self.frame.number + 1 if self.frame else 1
        prev = self.frame
        if self.roster_changed(sim) or prev is None:
            self._generation = sim.generation
            self.roster_key = self._roster_key(sim)
            self.roster_version += 1
            self.roster_json = roster_json(sim, self.roster_version, self.features)
            self.frame = Frame(number, self.roster_version, lat, lon, state, None)
            return self.frame, True
        changed = np.flatnonzero((lat != prev.lat) | (lon != prev.lon) | (state != prev.state))
        if not changed.size:
            return prev, False
        self.frame = Frame(number, self.roster_version, lat, lon, state, changed)
        return self.frame, True


# What the page's forms offer: codes and names the simulator knows (it never guesses them).
META = {
    "vendorCodes": {str(code): msg for code, msg in MESSAGES.items()},
    "operations": OPERATIONS,
    "alertNames": {str(code): name for code, name in ALERT_NAMES.items()},
    "faultCodes": FAULT_CODES,
    "pushTypes": KINDS,
    "chaosActions": ACTIONS,
}


def street_grid(seed: int, city: City) -> dict[str, Any]:
    """The city's street grid as the map draws it: block and bearing (places.Streets), the
    names of its lines of constant u and v (from -lines to +lines), its parking hubs (i, j)."""
    streets = places.STREETS.get(city.name, places.DEFAULT_STREETS)
    along_u, along_v = names.grid_streets(seed, city)
    return {"blockM": streets.block_m, "bearingDeg": streets.bearing_deg,
            "lines": places.grid_lines(city), "u": along_u, "v": along_v,
            "hubs": places.hubs(seed, city)}


def roster_json(sim: Simulator, version: int, features: dict[str, bool] | None = None) -> bytes:
    """Who is on the map: IMEIs by row, each row's platform and model, the platforms, their
    cities and street grids, the model names.

    The client secret is there so the page can get a token like a partner app (POST /oauth/token);
    the control plane shows it too: this is a local test double, not a vault.
    """
    platforms = []
    for p in sim.platform_list:
        city = p.city
        platforms.append({"code": p.code, "clientSecret": p.secret, "callbackUrl": p.callback_url,
                          "city": city.name, "lat": city.lat, "lon": city.lon,
                          "radiusM": city.radius_m, "streets": street_grid(sim.streams.seed, city)})
    return orjson.dumps({
        "version": version,
        "imeis": ",".join(sim.fleet.imeis),
        "platform": b64(sim.fleet.platform.astype("<u2")),
        "platforms": platforms,
        # A vehicle's model never changes; a new vehicle changes the roster anyway.
        "models": [p.name for p in PROFILES],
        "model": b64(sim.fleet.model.astype("u1")),
        "states": STATES,
        "meta": META,
        "features": features or {},
    })


class Tally:
    """Counts per virtual minute and key ("unlock 0", "status delivered"), last minutes only."""

    def __init__(self, minutes: int = TALLY_MINUTES) -> None:
        self.minutes = minutes
        self.counts: dict[int, Counter[str]] = {}

    def add(self, t_s: float, key: str) -> None:
        minute = int(t_s // 60)
        bucket = self.counts.get(minute)
        if bucket is None:
            bucket = self.counts[minute] = Counter()
            # Keep memory bounded however far the clock jumps: drop minutes out of the window.
            newest = max(self.counts)
            for old in [m for m in self.counts if m <= newest - self.minutes]:
                del self.counts[old]
        bucket[key] += 1

    def clear(self) -> None:
        self.counts.clear()

    def series(self, now_s: float) -> dict[str, Any]:
        """{"start": first minute (epoch s), "keys": [...], "counts": [[per key] per minute]}"""
        last = int(now_s // 60)
        first = last - self.minutes + 1
        minutes = range(first, last + 1)
        keys = sorted({k for m in minutes for k in self.counts.get(m, ())})
        counts = [[self.counts.get(m, Counter())[k] for k in keys] for m in minutes]
        return {"start": first * 60, "keys": keys, "counts": counts}


def record_time_s(record: dict[str, Any], fallback: float) -> float:
    """Journal records carry `t` in epoch ms (the vendor envelope's unit) or seconds."""
    t = record.get("t")
    if not isinstance(t, int | float) or isinstance(t, bool):
        return fallback
    return t / 1000.0 if t > 1e11 else float(t)


def new_records(journal: Any, since: int) -> tuple[list[dict[str, Any]], int]:
    """Records with seq > since, oldest first, and how many of those fell off the ring already."""
    out: list[dict[str, Any]] = []
    for record in reversed(journal.records):
        if record["seq"] <= since:
            break
        out.append(record)
    out.reverse()
    first = out[0]["seq"] if out else journal.seq + 1
    return out, max(0, first - since - 1)


def state_counts(state: np.ndarray) -> list[int]:
    return [int(c) for c in np.bincount(state, minlength=len(STATES))]


def join_json(parts: Iterable[bytes]) -> bytes:
    return b"[" + b",".join(parts) + b"]"

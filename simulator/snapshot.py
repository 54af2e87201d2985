"""The whole simulated world to and from JSON-able dicts (the control plane's /_sim/snapshot).

A snapshot holds everything that decides the world's future, so that loading it and advancing
the clock gives exactly the world that advancing the saved one gives: the seed, the clock, the
platforms with their secrets and callbacks, the issued tokens (and their lifetime), every fleet
column of `fleet.COLUMNS` (generic, so columns added later travel too; a ride in progress lives
in them), the sparse `fleet.extras`, the fault rules, the pending data timers in firing order
(`core/timers.py`: a ride's exact-time end), the states of the seeded random streams (token
values, fault and push-chaos draws), and the parts components register in
`sim.snapshot_parts`: the world's cursor, riders and chance rates, and the push cadence's
schedule and chaos rules. What happened (the request and push journals) is not state and stays
as it is; the pushes waiting in the outbox (queued, delayed, held, retrying) are saved apart from
the snapshot, with the state directory (interface13.md), and a load drops them with the
outbox's closure timers.

`load` is all-or-nothing: everything is read and checked (types, finite numbers, ranges, and
cross-references: a token's platform, a vehicle's platform, a timer's row, a schedule's rows)
into new objects first, and only a snapshot that reads completely is installed, into the
simulator's own components (they keep their identity: see sim.py). A bad one raises SimError
naming the first bad field and changes nothing. Version 1 snapshots from before timers, token
lifetimes and the world's knobs travelled still load: what they lack keeps this simulator's
setting (and a ride without its timer ends at the world's next whole second).

The JSON forms of values (columns, random generators) and SnapshotPart live in core/serial.py,
where components that add parts of their own (the world, the push cadence) find them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import numpy as np

from simulator.core.errors import SimError
from simulator.core.faults import FaultRules
from simulator.core.fleet import COLUMNS, Fleet
from simulator.core.geo import city_for
from simulator.core.models import PROFILES
from simulator.core.platforms import (
    MAX_TOKEN_LIFETIME_S,
    PUSH_FORMATS,
    TOKEN_CLOCKS,
    Platform,
    Token,
    Tokens,
)
from simulator.core.serial import (
    Loading,
    SnapshotPart,
    column_from_json,
    column_json,
    rng_from_json,
    rng_json,
)
from simulator.sim import Simulator

__all__ = ["FORMAT", "VERSION", "Loading", "SnapshotPart", "column_from_json", "column_json",
           "dump", "load", "rng_from_json", "rng_json"]

FORMAT = "segway-sim/snapshot"
VERSION = 1

# -- values ------------------------------------------------------------------------------------


def _int(name: str, value: Any, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise SimError(name, f"must be an integer >= {lo}")
    return value


def _num(name: str, value: Any, lo: float = -math.inf, hi: float = math.inf) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            or not lo <= value <= hi):
        raise SimError(name, "must be a finite number" + (f" within {lo:g} to {hi:g}"
                                                          if math.isfinite(lo + hi) else ""))
    return float(value)


def _obj(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SimError(name, "must be an object")
    return value


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise SimError(name, "must be a list")
    return value


# What a number column may hold. Every float is finite (NaN or ±Infinity would be served as
# 15001 on every later read of the vehicle) and within ±MAGNITUDE (a value beyond 64-bit
# integers cannot be rendered either), `offline_until` alone may be +Infinity ("until powered",
# battery.py). Columns used as indices or shown in a field table keep their own range: the
# control plane's for what PATCH sets (docs/control-plane.md), the reference's for settings,
# and what the simulator itself writes for the rest (hdop 99.99 is a fix it reports).
MAGNITUDE = 1e15
LAST_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z: the clock must stay a date
MAX_SPEED = 1_000_000.0  # as the control plane's clock allows
UNBOUNDED_ABOVE = {"offline_until"}
RANGES: dict[str, tuple[float, float]] = {
    "model": (0, len(PROFILES) - 1),  # indexes the vehicle models (core/models)
    "head_light": (0, 2),
    "tail_light": (0, 2),
    "mode_limit": (0, 25),  # 6-25 as set; 0 means the mode's own top speed
    "speed_mode": (0, 3),  # indexes the modes' speed caps; 0 reads as Eco (FIDELITY.md)
    "heading": (-1, 3),  # a street-grid direction, -1 before the route is chosen
    "battery_count": (1, 3),  # batteryCount 1~3: the packs' columns are 3 wide
    "power": (0, 100),
    "pack_percent": (0, 100),
    "iot_percent": (0, 100),
    "lat": (-90, 90),
    "lon": (-180, 180),
    "hdop": (0, 99.99),
    "satellites": (0, 99),
    "firmware": (0, 999_999),  # major*10000 + minor*100 + patch, each 0-99
    "network_signal": (0, 32),
    "speed_limit": (0, 32),  # 6-32 as set; 0 means no limit
    "low_power_value": (0, 30),
    "loc_unlock_interval": (0, 65535),
    "loc_lock_interval": (0, 65535),
    "status_riding_interval": (0, 65535),
    "status_nonriding_interval": (0, 65535),
    "status_lock_interval": (0, 65535),
}


def _check_range(name: str, arr: np.ndarray) -> None:
    """Numbers within the column's range, or a SimError naming the first bad row."""
    column = name.rsplit(".", 1)[-1]
    if not arr.size or (arr.dtype.kind != "f" and column not in RANGES):
        return  # booleans, text, and integers that fit their dtype are all servable
    lo, hi = RANGES.get(column, (-MAGNITUDE, MAGNITUDE))
    values = arr.reshape(len(arr), -1)
    with np.errstate(invalid="ignore"):  # NaN compares false: it fails the check below
        ok = (values >= lo) & ((values <= hi) | (column in UNBOUNDED_ABOVE and values == math.inf))
    if not ok.all():
        row = int(np.argwhere(~ok)[0][0])
        raise SimError(f"{name}[{row}]", f"must be a finite number within {lo:g} to {hi:g}")


# -- dump --------------------------------------------------------------------------------------


def dump(sim: Simulator) -> dict[str, Any]:
    f = sim.fleet
    return {
        "format": FORMAT,
        "version": VERSION,
        "seed": sim.config.seed,
        "clock": {"now": sim.clock.now, "speed": sim.clock.speed, "paused": sim.clock.paused,
                  "stepCount": sim.step_count},
        "platforms": [{fl.name: getattr(p, fl.name) for fl in fields(p) if fl.name != "index"}
                      for p in sim.platform_list],
        "tokens": {
            "items": [{"value": t.value, "clientId": t.platform.code, "expiresAt": t.expires_at}
                      for t in sim.tokens.by_value.values()],
            "newest": {code: t.value for code, t in sim.tokens.newest.items()},
            "rng": rng_json(sim.tokens.rng),
            "lifetime": sim.tokens.lifetime,
            "clock": sim.tokens.clock,
        },
        "fleet": {
            "nextUid": f.next_uid,
            "imeis": list(f.imeis),
            "columns": {name: column_json(f.column(name)) for name in COLUMNS},
            "extras": {str(row): extra for row, extra in sorted(f.extras.items()) if extra},
        },
        "faults": {**sim.faults.to_json(), "rng": rng_json(sim.faults.rng)},
        "timers": sim.timers.dump(),
        "parts": {name: part.dump() for name, part in sim.snapshot_parts.items()},
    }


# -- load --------------------------------------------------------------------------------------


def _platforms(data: Any) -> list[Platform]:
    out: list[Platform] = []
    known = {fl.name for fl in fields(Platform)} - {"index"}
    for n, raw in enumerate(_list("platforms", data)):
        name = f"platforms[{n}]"
        raw = _obj(name, raw)
        if set(raw) - known:
            raise SimError(name, f"must be a platform with fields {sorted(known)}")
        if not isinstance(raw.get("code"), str):
            raise SimError(f"{name}.code", "must be a string")
        if not isinstance(raw.get("secret"), str):
            raise SimError(f"{name}.secret", "must be a string")
        if raw.get("callback_url") is not None and not isinstance(raw["callback_url"], str):
            raise SimError(f"{name}.callback_url", "must be a string or null")
        if raw.get("push_format", "v2") not in PUSH_FORMATS:
            raise SimError(f"{name}.push_format", f"must be one of {', '.join(PUSH_FORMATS)}")
        try:
            city_for(raw["code"])
            platform = Platform(**raw, index=n)
        except (TypeError, ValueError) as exc:
            raise SimError(f"{name}.code", str(exc)) from exc
        if any(p.code == platform.code for p in out):
            raise SimError(f"{name}.code", f"duplicate platform {platform.code}")
        out.append(platform)
    if not out:
        raise SimError("platforms", "at least one platform is needed")
    return out


def _tokens(data: Any, platforms: dict[str, Platform], lifetime: int) -> Tokens:
    data = _obj("tokens", data)
    lifetime = _int("tokens.lifetime", data.get("lifetime", lifetime), 1)
    if lifetime > MAX_TOKEN_LIFETIME_S:
        raise SimError("tokens.lifetime", f"must be at most {MAX_TOKEN_LIFETIME_S} s")
    clock = data.get("clock", "virtual")  # before tokenClock travelled: the virtual clock
    if clock not in TOKEN_CLOCKS:
        raise SimError("tokens.clock", f"must be one of {', '.join(TOKEN_CLOCKS)}")
    tokens = Tokens(rng_from_json("tokens.rng", data.get("rng")), lifetime=lifetime, clock=clock)
    for n, raw in enumerate(_list("tokens.items", data.get("items"))):
        raw = _obj(f"tokens.items[{n}]", raw)
        value, code = raw.get("value"), raw.get("clientId")
        if not isinstance(value, str) or not value or value in tokens.by_value:
            raise SimError(f"tokens.items[{n}].value", "must be a unique non-empty string")
        if not isinstance(code, str) or code not in platforms:
            raise SimError(f"tokens.items[{n}].clientId", "must name a platform of the snapshot")
        expires = _num(f"tokens.items[{n}].expiresAt", raw.get("expiresAt"), 0, LAST_TIME)
        tokens.by_value[value] = Token(value, platforms[code], expires)
    for code, value in _obj("tokens.newest", data.get("newest")).items():
        if code not in platforms or not isinstance(value, str) or value not in tokens.by_value:
            raise SimError(f"tokens.newest.{code}", "must map a platform to one of its tokens")
        if tokens.by_value[value].platform.code != code:
            raise SimError(f"tokens.newest.{code}", "that token belongs to another platform")
        tokens.newest[code] = tokens.by_value[value]
    return tokens


def _fleet(data: Any, n_platforms: int) -> Fleet:
    data = _obj("fleet", data)
    imeis = _list("fleet.imeis", data.get("imeis"))
    if not all(isinstance(m, str) and m.isdigit() and len(m) <= 20 for m in imeis):
        raise SimError("fleet.imeis", "every IMEI must be a string of 1-20 digits")
    if len(set(imeis)) != len(imeis):
        raise SimError("fleet.imeis", "duplicate IMEI")
    n = len(imeis)
    columns = _obj("fleet.columns", data.get("columns"))
    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise SimError(f"fleet.columns.{sorted(unknown)[0]}", "not a column of this simulator")
    fleet = Fleet()
    for name, col in COLUMNS.items():
        if name in columns:
            arr = column_from_json(f"fleet.columns.{name}", col, columns[name], n)
        else:  # a snapshot from before this column existed: the column's default
            arr = np.full((n, col.width) if col.width else (n,), col.default, dtype=col.dtype)
        _check_range(f"fleet.columns.{name}", arr)
        setattr(fleet, name, arr)
    if n and (int(fleet.platform.min()) < 0 or int(fleet.platform.max()) >= n_platforms):
        raise SimError("fleet.columns.platform", "every value must index a platform")
    uids = fleet.uid
    fleet.next_uid = _int("fleet.nextUid", data.get("nextUid"))
    if n and (len(np.unique(uids)) != n or int(uids.min()) < 0
              or int(uids.max()) >= fleet.next_uid):
        raise SimError("fleet.columns.uid", "uids must be unique, within 0 to nextUid - 1")
    for key, extra in _obj("fleet.extras", data.get("extras", {})).items():
        if not key.isdigit() or int(key) >= n:
            raise SimError(f"fleet.extras.{key}", "keys must be row numbers of the fleet")
        extra = _obj(f"fleet.extras.{key}", extra)
        for name, value in extra.items():  # each one a settings object the vendor calls update
            _obj(f"fleet.extras.{key}.{name}", value)
        code = extra.get("binding", {}).get("vehicleCode", "")
        if "binding" in extra and not (isinstance(code, str) and code):
            raise SimError(f"fleet.extras.{key}.binding.vehicleCode", "must be a vehicle code")
        fleet.extras[int(key)] = extra
    fleet.imeis = list(imeis)
    fleet.index = {imei: row for row, imei in enumerate(imeis)}
    return fleet


def _parts(sim: Simulator, data: Any, loading: Loading) -> list[Callable[[], None]]:
    data = _obj("parts", data if data is not None else {})
    unknown = set(data) - set(sim.snapshot_parts)
    if unknown:
        raise SimError(f"parts.{sorted(unknown)[0]}", "no such component in this simulator")
    return [part.prepare(data.get(name), loading) for name, part in sim.snapshot_parts.items()]


def load(sim: Simulator, data: Any) -> None:
    """Replace the world with snapshot `data` (as `dump` makes it), or raise SimError."""
    data = _obj("body", data)
    if data.get("format") != FORMAT:
        raise SimError("format", f'must be "{FORMAT}"')
    if data.get("version") != VERSION:
        raise SimError("version", f"must be {VERSION}")
    seed = _int("seed", data.get("seed"))
    clock = _obj("clock", data.get("clock"))
    now = _num("clock.now", clock.get("now"), 0, LAST_TIME)
    speed = _num("clock.speed", clock.get("speed"), 0, MAX_SPEED)
    if speed <= 0:
        raise SimError("clock.speed", "must be > 0")
    if not isinstance(clock.get("paused"), bool):
        raise SimError("clock.paused", "must be true or false")
    steps = _int("clock.stepCount", clock.get("stepCount"))
    platforms = _platforms(data.get("platforms"))
    by_code = {p.code: p for p in platforms}
    tokens = _tokens(data.get("tokens"), by_code, sim.tokens.lifetime)
    fleet = _fleet(data.get("fleet"), len(platforms))
    faults_data = _obj("faults", data.get("faults"))
    faults = FaultRules.from_json(faults_data, rng_from_json("faults.rng", faults_data.get("rng")))
    timers = sim.timers.read("timers", data.get("timers", []), len(fleet))
    installs = _parts(sim, data.get("parts"), Loading(now, len(fleet)))

    # Everything read: install into the simulator's components (nothing below can fail on input).
    sim.config.seed = seed
    sim.streams.reseed(seed)
    sim.clock.reset(now, speed, clock["paused"])
    sim.step_count = steps
    sim.generation += 1
    sim.platform_list[:] = platforms
    sim.platforms.clear()
    sim.platforms.update(by_code)
    sim.tokens.copy_from(tokens)
    sim.fleet.copy_from(fleet)
    sim.faults.copy_from(faults)
    sim.inflight.clear()
    sim.timers.install(timers)  # the outbox's closure timers go with the world they were for
    sim.outbox.drop_waiting()  # ... and so do the pushes those timers would have queued
    # What was derived from the old fleet goes; the parts below restore what they carry.
    sim.cadence.reset()
    sim.world.invalidate()
    for install in installs:
        install()

"""The whole simulated world to and from JSON-able dicts (the control plane's /_sim/snapshot).

A snapshot holds what makes the world: the seed, the clock, the platforms with their secrets and
callbacks, the issued tokens, every fleet column of `fleet.COLUMNS` (generic, so columns added
later travel too), the sparse `fleet.extras`, the fault rules, and the states of the seeded
random streams that decide the future (token values, fault draws). What happened (the request
and push journals) is not state and stays as it is; pending timers are closures and cannot
travel, so loading drops them (components that need to survive a load keep their state in
columns or register a part in `sim.snapshot_parts`).

`load` is all-or-nothing: everything is read and checked into new objects first, and only a
snapshot that reads completely replaces the world. A bad one raises SimError naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from simulator.core.errors import SimError
from simulator.core.faults import FaultRules
from simulator.core.fleet import COLUMNS, Column, Fleet
from simulator.core.geo import city_for
from simulator.core.platforms import Platform, Token, Tokens
from simulator.core.rng import Streams
from simulator.sim import Simulator

FORMAT = "segway-sim/snapshot"
VERSION = 1

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


# -- values ------------------------------------------------------------------------------------


def _float_text(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def column_json(values: np.ndarray) -> Any:
    """A column (or one row of it) as JSON values: bytes as text, non-finite floats as text."""
    if values.dtype.kind == "S":
        return np.char.decode(values, "ascii").tolist()
    out = values.tolist()
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        return _map_nested(out, _float_text)
    return out


def _map_nested(value: Any, fn: Callable[[Any], Any]) -> Any:
    return [_map_nested(v, fn) for v in value] if isinstance(value, list) else fn(value)


def _flatten(name: str, values: Any, n: int, width: int) -> list[Any]:
    if not isinstance(values, list) or len(values) != n:
        raise SimError(name, f"must be a list of {n} values")
    if not width:
        return values
    flat: list[Any] = []
    for row in values:
        if not isinstance(row, list) or len(row) != width:
            raise SimError(name, f"every row must be a list of {width} values")
        flat.extend(row)
    return flat


def column_from_json(name: str, col: Column, values: Any, n: int) -> np.ndarray:
    """Read a column of `column_json`, checking JSON types strictly (no silent coercion)."""
    flat = _flatten(name, values, n, col.width)
    dtype = np.dtype(col.dtype)
    kinds = {type(v) for v in flat}
    try:
        if dtype.kind == "b":
            ok = kinds <= {bool}
        elif dtype.kind in "iu":
            ok = kinds <= {int}
        elif dtype.kind == "f":
            if str in kinds:
                if any(isinstance(v, str) and v not in _NON_FINITE for v in flat):
                    raise SimError(name, "text in a number column must be NaN or ±Infinity")
                flat = [_NON_FINITE[v] if isinstance(v, str) else v for v in flat]
                kinds = {type(v) for v in flat}
            ok = kinds <= {int, float}
        elif dtype.kind == "S":
            ok = kinds <= {str} and all(len(v.encode()) == len(v) <= dtype.itemsize for v in flat)
        else:  # a dtype this reader does not know cannot be checked, so is not accepted
            ok = False
        if not ok:
            raise SimError(name, f"values do not fit the column's type {dtype}")
        arr = np.array(flat, dtype=dtype)
    except (OverflowError, ValueError, TypeError, UnicodeError) as exc:
        raise SimError(name, f"values do not fit the column's type {dtype}") from exc
    return arr.reshape((n, col.width) if col.width else (n,))


def rng_json(gen: np.random.Generator) -> dict[str, Any]:
    """A PCG64 generator's state; its 128-bit integers as decimal text (JSON numbers are 64-bit)."""
    state = gen.bit_generator.state
    return {
        "bitGenerator": state["bit_generator"],
        "state": str(state["state"]["state"]),
        "inc": str(state["state"]["inc"]),
        "hasUint32": state["has_uint32"],
        "uinteger": state["uinteger"],
    }


def rng_from_json(name: str, data: Any) -> np.random.Generator:
    gen = np.random.Generator(np.random.PCG64())
    try:
        if data["bitGenerator"] != "PCG64":
            raise ValueError("only PCG64")
        gen.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int(data["state"]), "inc": int(data["inc"])},
            "has_uint32": int(data["hasUint32"]),
            "uinteger": int(data["uinteger"]),
        }
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise SimError(name, f"not a random generator state: {exc}") from exc
    return gen


def _int(name: str, value: Any, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise SimError(name, f"must be an integer >= {lo}")
    return value


def _num(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SimError(name, "must be a finite number")
    return float(value)


def _obj(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SimError(name, "must be an object")
    return value


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise SimError(name, "must be a list")
    return value


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
        },
        "fleet": {
            "nextUid": f.next_uid,
            "imeis": list(f.imeis),
            "columns": {name: column_json(f.column(name)) for name in COLUMNS},
            "extras": {str(row): extra for row, extra in sorted(f.extras.items()) if extra},
        },
        "faults": {**sim.faults.to_json(), "rng": rng_json(sim.faults.rng)},
        "parts": {name: part.dump() for name, part in sim.snapshot_parts.items()},
    }


# -- load --------------------------------------------------------------------------------------


@dataclass
class SnapshotPart:
    """A component's own state in a snapshot: `prepare` reads and checks (raising SimError)
    without touching anything, and returns the function that installs it."""

    dump: Callable[[], Any]
    prepare: Callable[[Any], Callable[[], None]]


def _platforms(data: Any) -> list[Platform]:
    out: list[Platform] = []
    known = {fl.name for fl in fields(Platform)} - {"index"}
    for n, raw in enumerate(_list("platforms", data)):
        name = f"platforms[{n}]"
        raw = _obj(name, raw)
        if set(raw) - known or not isinstance(raw.get("code"), str):
            raise SimError(name, f"must be a platform with fields {sorted(known)}")
        if not isinstance(raw.get("secret"), str):
            raise SimError(f"{name}.secret", "must be a string")
        if raw.get("callback_url") is not None and not isinstance(raw["callback_url"], str):
            raise SimError(f"{name}.callback_url", "must be a string or null")
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
    tokens = Tokens(rng_from_json("tokens.rng", data.get("rng")), lifetime=lifetime)
    for n, raw in enumerate(_list("tokens.items", data.get("items"))):
        raw = _obj(f"tokens.items[{n}]", raw)
        value, code = raw.get("value"), raw.get("clientId")
        if not isinstance(value, str) or not value or value in tokens.by_value:
            raise SimError(f"tokens.items[{n}].value", "must be a unique non-empty string")
        if code not in platforms:
            raise SimError(f"tokens.items[{n}].clientId", "must name a platform of the snapshot")
        expires = _num(f"tokens.items[{n}].expiresAt", raw.get("expiresAt"))
        tokens.by_value[value] = Token(value, platforms[code], expires)
    for code, value in _obj("tokens.newest", data.get("newest")).items():
        if code not in platforms or value not in tokens.by_value:
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
        fleet.extras[int(key)] = _obj(f"fleet.extras.{key}", extra)
    fleet.imeis = list(imeis)
    fleet.index = {imei: row for row, imei in enumerate(imeis)}
    return fleet


def _parts(sim: Simulator, data: Any) -> list[Callable[[], None]]:
    data = _obj("parts", data if data is not None else {})
    unknown = set(data) - set(sim.snapshot_parts)
    if unknown:
        raise SimError(f"parts.{sorted(unknown)[0]}", "no such component in this simulator")
    return [part.prepare(data[name]) for name, part in sim.snapshot_parts.items()
            if name in data]


def load(sim: Simulator, data: Any) -> None:
    """Replace the world with snapshot `data` (as `dump` makes it), or raise SimError."""
    data = _obj("body", data)
    if data.get("format") != FORMAT:
        raise SimError("format", f'must be "{FORMAT}"')
    if data.get("version") != VERSION:
        raise SimError("version", f"must be {VERSION}")
    seed = _int("seed", data.get("seed"))
    clock = _obj("clock", data.get("clock"))
    now = _num("clock.now", clock.get("now"))
    speed = _num("clock.speed", clock.get("speed"))
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
    installs = _parts(sim, data.get("parts"))

    # Everything read: install (nothing below can fail on input).
    sim.config.seed = seed
    sim.streams = Streams(seed)
    sim.clock.now, sim.clock.speed, sim.clock.paused = now, speed, clock["paused"]
    sim.step_count = steps
    sim.platform_list = platforms
    sim.platforms = by_code
    sim.tokens = tokens
    sim.fleet = fleet
    sim.faults = faults
    sim.inflight.clear()
    sim.clear_timers()
    for install in installs:
        install()

"""State values as JSON, for snapshots: fleet columns, random generator states, and the
`SnapshotPart` a component with state of its own offers (simulator/snapshot.py composes them).

Readers check JSON types strictly (no silent coercion) and raise SimError naming the field, so a
snapshot is validated completely before anything of it is installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.core.errors import SimError
from simulator.core.fleet import Column

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


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
        with np.errstate(over="raise"):  # 1e308 into a float32 column is not silently inf
            arr = np.array(flat, dtype=dtype)
    except (OverflowError, FloatingPointError, ValueError, TypeError, UnicodeError) as exc:
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


@dataclass(frozen=True)
class Loading:
    """What a part's checks may need of the snapshot being loaded (nothing of it is installed
    while parts are prepared)."""

    now: float  # its clock
    rows: int  # its fleet's size


@dataclass
class SnapshotPart:
    """A component's own state in a snapshot: `prepare(data, loading)` reads and checks (raising
    SimError) without touching anything, and returns the function that installs it. `data` is
    None for a snapshot without the part (from before it existed): the part starts afresh."""

    dump: Callable[[], Any]
    prepare: Callable[[Any, Loading], Callable[[], None]]

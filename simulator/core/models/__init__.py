"""Vehicle models as data: which vendor operations a vehicle answers, with what parameters, what
its readings call their fields, and how fast and far it goes.

A profile is a module of this package that defines `PROFILE`; `NAMES` lists them in the order of
the fleet's `model` column (a vehicle's model is an index into `PROFILES`, so the order is part
of every snapshot: a new profile is appended). Adding a model is a new module and its name here.

What a profile does not name, a vehicle of that model does not support: the vendor answers 15705
"This feature is not supported on the vehicle" (operations.py). Paths belong to the server's
route tables (server/vendor.py, server/vendor_v1.py); profiles speak of operations by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.core.errors import SimError
from simulator.core.params import Obj

Prepare = Callable[[Any, npt.NDArray[np.intp]], None]  # (fleet, rows): the model's own facts


@dataclass(frozen=True)
class Profile:
    name: str  # as the command line and the control plane spell it
    title: str
    queries: frozenset[str]  # GET operations it answers
    bodies: Mapping[str, Obj]  # commands it obeys: operation -> body parameters
    # Readings whose fields it spells otherwise: operation -> {field: its spelling}.
    renames: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Top speed (km/h) by speed mode 0-3 (0, "unification status", rides as the middle mode).
    mode_caps_kmh: tuple[float, float, float, float] = (25.0, 20.0, 25.0, 32.0)
    top_kmh: float = 32.0  # no per-mode speed limit setting goes beyond it
    unpowered_kmh: float = 14.0  # how fast a rider gets on with an empty battery
    # Full-charge range (m) by speed mode 0-3: remainingRange and the battery's drain.
    full_range_m: tuple[int, int, int, int] = (60_000, 70_000, 60_000, 45_000)
    prepare: Prepare | None = None  # sets a new vehicle's model-specific state
    evidence: str = ""  # where the profile comes from (GET /_sim/models shows it)

    def supports(self, op: str) -> bool:
        return op in self.queries or op in self.bodies

    @property
    def operations(self) -> tuple[str, ...]:
        return (*sorted(self.queries), *sorted(self.bodies))


NAMES = ("a200", "scooter")  # the order of the fleet's `model` column: append only
PROFILES: tuple[Profile, ...] = tuple(
    importlib.import_module(f"{__name__}.{name}").PROFILE for name in NAMES
)
BY_NAME: dict[str, Profile] = {p.name: p for p in PROFILES}
INDEX: dict[str, int] = {p.name: n for n, p in enumerate(PROFILES)}
DEFAULT = "a200"

# Physics as tables indexed [model, speed mode], for the world's vectorised steps.
MODE_CAPS_KMH = np.array([p.mode_caps_kmh for p in PROFILES], dtype=np.float64)
TOP_KMH = np.array([p.top_kmh for p in PROFILES], dtype=np.float64)
UNPOWERED_KMH = np.array([p.unpowered_kmh for p in PROFILES], dtype=np.float64)
FULL_RANGE_M = np.array([p.full_range_m for p in PROFILES], dtype=np.float64)

Mix = tuple[tuple[str, float], ...]  # (model name, share), in the order named


def parse_mix(text: str) -> Mix:
    """`scooter` (a whole fleet) or `a200=70,scooter=30` (shares, any positive numbers)."""
    mix: list[tuple[str, float]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, share_text = part.partition("=")
        name = name.strip()
        if name not in BY_NAME:
            raise SimError("models", f"{name!r} is not a model: one of {', '.join(NAMES)}")
        try:
            share = float(share_text) if sep else 1.0
        except ValueError:
            raise SimError("models", f"{part!r}: the share must be a number") from None
        if not (share > 0 and np.isfinite(share)):
            raise SimError("models", f"{part!r}: the share must be a number > 0")
        if any(name == named for named, _ in mix):
            raise SimError("models", f"{name} is named twice")
        mix.append((name, share))
    if not mix:
        raise SimError("models", f"name at least one model: {', '.join(NAMES)}")
    return tuple(mix)


def check_mix(mix: Any) -> Mix:
    """A mix given as Python data (Config.models, the plugin), checked as parse_mix checks."""
    try:
        return parse_mix(",".join(f"{name}={share}" for name, share in mix))
    except (TypeError, ValueError):
        raise SimError("models", "must be (name, share) pairs") from None


def allot(mix: Mix, total: int, first: int, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """The model of each of `total` new vehicles: the first `first` (the reference's example
    IMEIs) take the first model named, the others are shuffled so that the whole fleet's counts
    follow the shares as closely as whole vehicles can (largest remainders)."""
    shares = np.array([share for _, share in mix], dtype=np.float64)
    exact = shares / shares.sum() * total
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]] += 1
    first = min(first, total)
    take = min(first, int(counts[0]))
    counts[0] -= take
    if take < first:  # fewer first-model vehicles than examples: the examples win
        over = first - take
        for k in range(len(counts) - 1, 0, -1):
            cut = min(over, int(counts[k]))
            counts[k] -= cut
            over -= cut
    codes = np.repeat(np.array([INDEX[name] for name, _ in mix], dtype=np.uint8), counts)
    rng.shuffle(codes)
    return np.concatenate([np.full(first, INDEX[mix[0][0]], dtype=np.uint8), codes])


def profile_of(model: int) -> Profile:
    return PROFILES[model]


def model_name(fleet: Any, row: int) -> str:
    name: str = PROFILES[fleet.model.item(row)].name
    return name


def prepare(fleet: Any, rows: npt.NDArray[np.intp]) -> None:
    """Each profile's own facts on its new vehicles (after the common, seeded population)."""
    models = fleet.model[rows]
    for n, profile in enumerate(PROFILES):
        mine = rows[models == n]
        if mine.size and profile.prepare is not None:
            profile.prepare(fleet, mine)

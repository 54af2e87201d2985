"""A scenario as data: a seeded fleet story told as a timeline of actions on the virtual clock.

A scenario module declares a `Scenario`: its seed, its fleet (size, platform, hence city), how
long the story lasts and a `story(s)` function that fills a `Story` with timed actions and the
outcomes it expects. `plan()` runs that function for a seed and a fleet size and returns a
`Plan`: pure data, the same for the same seed, which the runner plays against a simulator.

Vehicles are named by their index in the scenario's own fleet (0..size-1); the runner maps the
indices to IMEIs once the fleet exists. Times are virtual seconds from the start of the story.
Nothing here performs anything: the runner does (runner.py), so plans are cheap to build and to
check in property tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.core import models
from simulator.core.geo import city_for
from simulator.core.rng import Streams
from simulator.scenarios.outcomes import Outcome

MIN, HOUR = 60.0, 3600.0
Vehicles = tuple[int, ...]

# A vehicle the story needs to behave: activated, online, awake, locked, with a GPS fix (the
# fleet starts with the seed's variety of awkward states, as a real fleet does).
HEALTHY: dict[str, Any] = {"activated": True, "online": True, "dormant": False,
                           "upgrading": False, "transport": False, "hasFix": True,
                           "locked": True}


# -- actions: what happens at a moment of the story ------------------------------------------


@dataclass(frozen=True)
class Rent:
    """A partner app rents the vehicle: unlock through the vendor API; if it opens, a rider
    rides it for `ride_s` virtual seconds, then parks and locks."""

    vehicle: int
    ride_s: float


@dataclass(frozen=True)
class Command:
    """A vendor command from the partner app (`op` as in vehicle.COMMANDS), `body` besides
    iotCode; the answer code is observed."""

    vehicles: Vehicles
    op: str
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Query:
    """A vendor query (`status`, `location`, `battery-info`, `bluetooth-key`)."""

    vehicles: Vehicles
    op: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Happen:
    """Something happens to the vehicles: a control-plane event (`rider-lock`, `alert`,
    `fault`, `charger`, `power-on`, `offline`, `upgrade-start`, ...) with its fields."""

    vehicles: Vehicles
    type: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Patch:
    """Set state fields through the control plane (the vehicle reacts as it would)."""

    vehicles: Vehicles
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Carry:
    """Someone carries the vehicle off: it moves `east_m`/`north_m` from where it is now."""

    vehicle: int
    east_m: float
    north_m: float


@dataclass(frozen=True)
class FaultRule:
    """A vendor fault injection rule (the control plane's POST /_sim/faults body, without
    iotCode/platformCode: it applies to the scenario's platform, or to `vehicles`)."""

    rule: Mapping[str, Any]
    vehicles: Vehicles = ()


@dataclass(frozen=True)
class ClearFaults:
    """Remove the fault rules this story added."""


@dataclass(frozen=True)
class Tell:
    """Nothing happens: the step's note tells the user where the story is."""


Action = Rent | Command | Query | Happen | Patch | Carry | FaultRule | ClearFaults | Tell


@dataclass(frozen=True)
class Step:
    t: float  # virtual seconds from the start
    action: Action
    note: str | None = None  # told to the user when it happens


# -- the scenario ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetSpec:
    size: int
    platform: str  # client_id of the scenario's platform; its first letter picks the city
    minimum: int = 1  # the smallest fleet the story can be told with (--vehicles)
    model: str = models.DEFAULT  # the vehicle model of the whole fleet (GET /_sim/models)

    def __post_init__(self) -> None:
        if self.model not in models.BY_NAME:
            raise ValueError(f"model {self.model!r} is not a model: one of "
                             f"{', '.join(models.NAMES)}")

    @property
    def city(self) -> str:
        return city_for(self.platform).name

    @property
    def noun(self) -> str:
        """What the fleet is, for people: `vehicles`, or `vehicles (scooter)` for another model."""
        return "vehicles" if self.model == models.DEFAULT else f"vehicles ({self.model})"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    fleet: FleetSpec
    duration: float  # virtual seconds
    story: Callable[[Story], None]
    physics: str = "quiet"  # PhysicsConfig.parse text: the living fleet's chance rates
    step_s: float = 10.0  # how often progress is reported (virtual seconds)


class Story:
    """What a scenario's `story` function fills: timed actions and expected outcomes."""

    def __init__(self, scenario: Scenario, seed: int, size: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.size = size
        self.duration = scenario.duration
        self.rng = Streams(seed).generator("scenario", scenario.name)
        self.steps: list[Step] = []
        self.outcomes: list[Outcome] = []

    @property
    def fleet(self) -> Vehicles:
        return tuple(range(self.size))

    def at(self, t: float, action: Action, note: str | None = None) -> None:
        if not 0 <= t <= self.duration:
            raise ValueError(f"{self.scenario.name}: t={t} outside the story (0-{self.duration})")
        self.steps.append(Step(float(t), action, note))

    def tell(self, t: float, note: str) -> None:
        self.at(t, Tell(), note)

    def expect(self, *outcomes: Outcome) -> None:
        self.outcomes.extend(outcomes)

    def pick(self, n: int, among: Iterable[int] | None = None) -> Vehicles:
        """`n` distinct vehicles chosen by the seed (in fleet order), from `among` or all."""
        pool = np.array(sorted(set(self.fleet if among is None else among)), dtype=np.int64)
        n = min(n, len(pool))
        return tuple(int(v) for v in np.sort(self.rng.choice(pool, size=n, replace=False)))

    def rest(self, *taken: Iterable[int]) -> Vehicles:
        """The fleet without the vehicles in `taken`."""
        used = {v for group in taken for v in group}
        return tuple(v for v in self.fleet if v not in used)


@dataclass(frozen=True)
class Plan:
    scenario: Scenario
    seed: int
    size: int
    steps: tuple[Step, ...]  # in time order (stable for equal times)
    outcomes: tuple[Outcome, ...]

    @property
    def secret(self) -> str:
        """The platform's client secret: a UUID drawn from the seed."""
        bits = Streams(self.seed).generator("scenario-secret", self.scenario.name)
        value = bits.integers(0, 2**63, size=2)
        return str(uuid.UUID(int=int(value[0]) << 64 | int(value[1]), version=4))


def plan(scenario: Scenario, seed: int | None = None, vehicles: int | None = None) -> Plan:
    """The scenario's story for `seed` (default its own) and a fleet of `vehicles`."""
    seed = scenario.seed if seed is None else int(seed)
    size = scenario.fleet.size if vehicles is None else int(vehicles)
    if size < scenario.fleet.minimum:
        raise ValueError(f"{scenario.name} needs at least {scenario.fleet.minimum} vehicles")
    story = Story(scenario, seed, size)
    scenario.story(story)
    for step in story.steps:
        for v in vehicles_of(step.action):
            if not 0 <= v < size:
                raise ValueError(f"{scenario.name}: vehicle {v} is not in a fleet of {size}")
    steps = sorted(story.steps, key=lambda s: s.t)  # stable: equal times keep story order
    return Plan(scenario, seed, size, tuple(steps), tuple(story.outcomes))


def vehicles_of(action: Action) -> Vehicles:
    if isinstance(action, Rent | Carry):
        return (action.vehicle,)
    if isinstance(action, ClearFaults | Tell):
        return ()
    return action.vehicles

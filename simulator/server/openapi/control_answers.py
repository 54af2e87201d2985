"""What the control plane answers, as models: their JSON Schemas are control.json's response
components. Nothing validates an answer with them at run time (the handlers render dicts); the
tests and Schemathesis hold each answer to its schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from simulator.scenarios import NAMES as SCENARIO_NAMES
from simulator.server.control_wire import choice


def _opt(**kw: Any) -> Any:
    """A field an answer may leave out."""
    return Field(default=None, **kw)


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """An answer that may grow fields (clients must ignore what they do not know)."""

    model_config = ConfigDict(extra="allow")


class SimError(Closed):
    """the control plane's own error: what is wrong, and with which field"""

    error: str
    field: str | None


class HttpError(Closed):
    timestamp: str
    status: int
    error: str
    message: str
    path: str
    code: int = Field(description="the HTTP status, for strict {code, msg} decoders")
    msg: str = Field(description="the message")


class Clock(Closed):
    now: float
    now_ms: int = Field(alias="nowMs")
    speed: float
    paused: bool
    token_clock: Literal["virtual", "wall"] = Field(
        alias="tokenClock", description="the clock tokens expire on (serve --token-clock)")


class Health(Open):
    status: Literal["ok"]
    vehicles: int
    platforms: int = _opt()
    clock: Clock


class Deleted(Closed):
    deleted: int = Field(ge=0)


class Saved(Closed):
    """the state directory written (serve --state-dir)"""

    saved: str = Field(description="the state file's path")
    bytes: int = Field(ge=0)
    vehicles: int = Field(ge=0)
    pushes: int = Field(ge=0, description="undelivered pushes saved with the world")


class Platform(Open):
    client_id: str = Field(alias="clientId")
    client_secret: str = Field(alias="clientSecret")
    callback_url: str | None = Field(alias="callbackUrl")
    push_format: Literal["v1", "v2"] = _opt(alias="pushFormat")
    region: str = _opt()
    city: str = _opt()
    vehicles: int


if TYPE_CHECKING:
    ScenarioName: TypeAlias = str
    ScenarioStatus: TypeAlias = str
else:
    ScenarioName = choice(SCENARIO_NAMES)
    ScenarioStatus = choice(("idle", "running", "passed", "failed", "error", "cancelled"))


class ScenarioSummary(Closed):
    name: ScenarioName
    description: str
    status: ScenarioStatus
    progress: float = Field(ge=0, le=1)


class Note(Closed):
    t: float
    text: str


class Outcome(Closed):
    what: str
    ok: bool
    expected: str
    observed: str


class ScenarioRun(Closed):
    """a scenario's latest run on this simulator"""

    name: str
    description: str = _opt()
    status: ScenarioStatus
    progress: float = Field(ge=0, le=1)
    seed: int
    vehicles: int
    duration: float
    mode: Literal["drive", "follow"] | None = _opt()
    platform_code: str | None = _opt(alias="platformCode")
    started_at: float | None = _opt(alias="startedAt")
    elapsed: float = _opt()
    counters: dict[str, int]
    notes: list[Note]
    outcomes: list[Outcome]
    error: str | None = _opt()


class VehicleSummary(Open):
    iot_code: str = Field(alias="iotCode")
    platform_code: str = Field(alias="platformCode")
    model: str = Field(description="the vehicle model (GET /_sim/models)")
    activated: bool = _opt()
    online: bool
    locked: bool
    riding: bool = _opt()
    charging: bool = _opt()
    dormant: bool = _opt()
    upgrading: bool = _opt()
    transport: bool = _opt()
    power_percent: float = _opt(alias="powerPercent")
    latitude: float = _opt()
    longitude: float = _opt()
    alerts: list[int] = _opt()
    faults: list[str] = _opt()


class VehicleList(Closed):
    total: int
    offset: int
    limit: int
    items: list[VehicleSummary]


class Vehicle(Open):
    """full state: flags, readings (as the vendor queries answer them), settings, raw columns"""

    iot_code: str = Field(alias="iotCode")
    platform_code: str = Field(alias="platformCode")
    model: str = Field(description="the vehicle model (GET /_sim/models)")
    vehicle_code: str = Field(alias="vehicleCode", description="the v1 vehicle code")
    firmware: str
    activated: bool
    online: bool
    locked: bool
    riding: bool
    upgrading: bool
    dormant: bool
    transport: bool
    charging: bool
    plugged: bool
    has_mech_lock: bool = Field(alias="hasMechLock")
    mech_lock_open: bool = Field(alias="mechLockOpen")
    cover_open: bool = Field(alias="coverOpen")
    anti_theft: bool = Field(alias="antiTheft")
    wireless_charging: bool = Field(alias="wirelessCharging")
    has_fix: bool = Field(alias="hasFix")
    location_valid: bool = Field(alias="locationValid")
    command_in_flight: bool = _opt(alias="commandInFlight")
    alerts: list[int]
    faults: list[str]
    status: dict[str, Any]
    location: dict[str, Any]
    battery: dict[str, Any]
    settings: dict[str, Any]
    last_active: float = _opt(alias="lastActive")
    columns: dict[str, Any] = _opt()
    extras: dict[str, Any] = _opt()


class Journal(Open):
    items: list[dict[str, Any]]
    seq: int
    retained: int
    capacity: int


class PushJournal(Journal):
    counters: dict[str, Any]
    pending: int


class Settled(BaseModel):
    """Every push due has been attempted (`pending`: queued since, not yet attempted; retries not
    yet due are not queued)."""

    counters: dict[str, Any]
    pending: int


class ModelOperation(Closed):
    operation: str
    method: Literal["GET", "POST"]
    path: str
    kind: Literal["query", "control", "setting"]
    surface: Literal["v1", "v2"]
    parameters: dict[str, Any] = Field(
        description="name -> its rule: type, required, and minimum/maximum, enum or pattern")


class VehicleModel(Open):
    """a vehicle model profile: which vendor operations its vehicles answer"""

    name: str
    title: str
    evidence: str
    renames: dict[str, dict[str, str]]
    speed_modes_kmh: dict[str, float] = Field(alias="speedModesKmh")
    full_range_m: dict[str, int] = Field(alias="fullRangeM")
    vehicles: int = Field(ge=0, description="vehicles of this model in the simulator")
    operations: list[ModelOperation]


class Models(Closed):
    default: str
    items: list[VehicleModel]


ANSWERS: tuple[type[BaseModel], ...] = (
    SimError, HttpError, Clock, Health, Deleted, Saved, Platform, ScenarioSummary, ScenarioRun,
    VehicleSummary, VehicleList, Vehicle, Journal, PushJournal, Settled, Models)

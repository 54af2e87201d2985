"""Every body and query string of the control plane, as strict declarative models.

Field names are python's (fleet column names where a field sets a column); the wire names
(camelCase, docs/control-plane.md) are aliases, so the domain never sees them. The same models
write control.json (openapi/control.py), so the description is the validation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from simulator.core.alerts import FAULT_CODES
from simulator.core.errors import MESSAGES
from simulator.core.events import KINDS
from simulator.core.faults import MAX_DELAY_MS, MAX_TIMES
from simulator.core.fleet import ALERT_CODES, firmware_code
from simulator.core.models import NAMES
from simulator.core.platforms import PUSH_FORMATS, TOKEN_CLOCKS
from simulator.core.vehicle import OPERATIONS
from simulator.push.chaos import ACTIONS, MAX_DELAY_S
from simulator.push.outbox import OUTCOMES
from simulator.server.control_wire import (
    QueryBool,
    QueryInt,
    QueryModel,
    WireModel,
    choice,
    optional,
    text,
)

MAX_ADVANCE_S = 7 * 86_400  # one request lives through at most a week (it holds the server)
MAX_SPEED = 1_000_000.0
MAX_NEW_VEHICLES = 1_000_000
MAX_LIST = 1000
MAX_JOURNAL = 1_000_000

# Patterns that Python's re (text() checks them) and JSON Schema (ECMA 262) read alike.
IMEI = r"^[0-9]{1,20}$"  # what the vendor surface accepts as an iotCode
PLATFORM_CODE = r"^[A-Za-z0-9_.-]{1,64}$"
# The region letter picks the vendor's domain (the reference's Note1) and the simulated city.
NEW_PLATFORM_CODE = r"^[AEUC][A-Za-z0-9_.-]{0,63}$"
SECRET = r"^[\x21-\x7e]{1,256}$"
URL = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+[^\s]*$"
FIRMWARE = r"^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}$"
BT_KEY = r"^[A-Za-z0-9]{8}$"


def _firmware(value: Any) -> int:
    try:
        if not isinstance(value, str) or not value.isascii():
            raise ValueError(value)
        return firmware_code(value)
    except ValueError:
        raise PydanticCustomError("firmware", 'must be a version "major.minor.patch", each '
                                  "0-99") from None


def _fault_code(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # the numeric codes may come as JSON numbers
    if not isinstance(value, str) or value not in FAULT_CODES:
        raise PydanticCustomError("fault_code", "must be an Appendix-2 fault code (E0-E9, 10-44, "
                                  "60, 61)")
    return value


# A firmware version on the wire, its fleet code (major*10000 + minor*100 + patch) inside.
Firmware = Annotated[int, PlainValidator(_firmware),
                     WithJsonSchema({"type": "string", "pattern": FIRMWARE})]
FaultCode = Annotated[str, PlainValidator(_fault_code), WithJsonSchema({"anyOf": [
    {"type": "string", "enum": list(FAULT_CODES)},
    {"type": "integer", "enum": [int(c) for c in FAULT_CODES if c.isdigit()]}]})]
if TYPE_CHECKING:  # what the validators hand over
    AlertCode: TypeAlias = int
    VendorCode: TypeAlias = int
    Endpoint: TypeAlias = str
    Action: TypeAlias = str
    PushType: TypeAlias = str
    Outcome: TypeAlias = str
    Attempt: TypeAlias = str
    Imei: TypeAlias = str
    PlatformCode: TypeAlias = str
    NewPlatformCode: TypeAlias = str
    Secret: TypeAlias = str
    Url: TypeAlias = str
    BtKey: TypeAlias = str
    ModelName: TypeAlias = str
    PushFormat: TypeAlias = str
    TokenClock: TypeAlias = str
else:
    Imei = text(IMEI, "an IMEI of 1-20 digits")
    PlatformCode = text(PLATFORM_CODE, "a platform code")
    NewPlatformCode = text(NEW_PLATFORM_CODE, "a platform code starting with its region letter "
                                              "A, E, U or C")
    Secret = text(SECRET, "1-256 printable characters")
    Url = text(URL, "an http(s) URL")
    BtKey = text(BT_KEY, "8 letters and digits")
    AlertCode = choice(ALERT_CODES)
    VendorCode = choice(sorted(MESSAGES), "a vendor code (Appendix 1)")
    Endpoint = choice(OPERATIONS)
    Action = choice(ACTIONS)
    PushType = choice(KINDS)
    Outcome = choice(OUTCOMES)
    Attempt = choice(("1", "2"))
    ModelName = choice(NAMES)
    PushFormat = choice(PUSH_FORMATS)
    TokenClock = choice(TOKEN_CLOCKS)


# -- vehicles ----------------------------------------------------------------------------------


class VehiclePatch(WireModel):
    """PATCH /_sim/vehicles/{iotCode}: state fields (`riding` is not one: a ride is an event)."""

    activated: bool = optional()
    online: bool = optional()
    locked: bool = optional()
    upgrading: bool = optional()
    dormant: bool = optional()
    transport: bool = optional()
    charging: bool = optional()
    plugged: bool = optional()
    has_mech_lock: bool = optional(alias="hasMechLock")
    mech_lock_open: bool = optional(alias="mechLockOpen")
    cover_open: bool = optional(alias="coverOpen")
    anti_theft: bool = optional(alias="antiTheft")
    wireless_charging: bool = optional(alias="wirelessCharging")
    has_fix: bool = optional(alias="hasFix")
    location_valid: bool = optional(alias="locationValid")
    power: float = optional(alias="powerPercent", ge=0, le=100)
    lat: float = optional(alias="latitude", ge=-90, le=90)
    lon: float = optional(alias="longitude", ge=-180, le=180)
    altitude: float = optional(ge=-500, le=9000, description="metres")
    satellites: int = optional(alias="satelliteNumber", ge=0, le=99)
    hdop: float = optional(ge=0, le=99)
    speed_mode: int = optional(alias="speedMode", ge=1, le=3)
    network_signal: int = optional(alias="networkSignal", ge=2, le=32)
    lock_voltage: int = optional(alias="lockVoltage", ge=0, le=9999,
                             description="10 mV units, as the vendor reports it")
    iot_percent: float = optional(alias="iotPercent", ge=0, le=100)
    odometer: float = optional(ge=0, le=1e12, description="metres")
    riding_secs: float = optional(alias="totalRidingSecs", ge=0, le=1e12)
    firmware: Firmware = optional()
    bt_key: BtKey = optional(alias="bluetoothKey")


class VehicleCreate(VehiclePatch):
    """POST /_sim/vehicles: where, which IMEI (generated when absent), then any PATCH field."""

    platform_code: PlatformCode = optional(alias="platformCode", examples=["A20081"])
    iot_code: Imei = optional(alias="iotCode")
    model: ModelName = optional(description="the vehicle model (GET /_sim/models); default a200")


class VehicleListQuery(QueryModel):
    platform_code: str = optional(alias="platformCode")
    model: ModelName = optional()
    limit: QueryInt = Field(100, ge=1, le=MAX_LIST)
    offset: QueryInt = Field(0, ge=0, le=10**12)
    online: QueryBool = optional()
    locked: QueryBool = optional()
    riding: QueryBool = optional()
    charging: QueryBool = optional()
    activated: QueryBool = optional()
    dormant: QueryBool = optional()
    upgrading: QueryBool = optional()
    transport: QueryBool = optional()
    has_alerts: QueryBool = optional(alias="hasAlerts")
    has_faults: QueryBool = optional(alias="hasFaults")


# -- events: {"type": ..., fields}, one model per type -------------------------------------------


class RiderLock(WireModel):
    """the rider locks by hand"""
    type: Literal["rider-lock"]


class Ride(WireModel):
    """a rider rides the unlocked vehicle, then parks and locks"""
    type: Literal["ride"]
    seconds: float = optional(gt=0, le=86_400, description="default: drawn by the rider model")


class AlertRaised(WireModel):
    type: Literal["alert"]
    code: AlertCode


class AlertCleared(WireModel):
    type: Literal["alert-cleared"]
    code: AlertCode


class FaultRaised(WireModel):
    type: Literal["fault"]
    code: FaultCode


class FaultCleared(WireModel):
    type: Literal["fault-cleared"]
    code: FaultCode


class Charger(WireModel):
    """a charger is plugged in / pulled"""
    type: Literal["charger"]
    plugged: bool


class PowerOn(WireModel):
    type: Literal["power-on"]


class Offline(WireModel):
    type: Literal["offline"]


class Online(WireModel):
    type: Literal["online"]


class BatteryCoverClosed(WireModel):
    type: Literal["battery-cover-closed"]


class UpgradeStart(WireModel):
    type: Literal["upgrade-start"]


class UpgradeEnd(WireModel):
    type: Literal["upgrade-end"]
    firmware: Firmware = optional()


VehicleEvent = Annotated[
    RiderLock | Ride | AlertRaised | AlertCleared | FaultRaised | FaultCleared | Charger
    | PowerOn | Offline | Online | BatteryCoverClosed | UpgradeStart | UpgradeEnd,
    Field(discriminator="type")]


# -- the clock, reset --------------------------------------------------------------------------


class ClockChange(WireModel):
    """at least one field; applied in the order paused, speed, advance or to"""

    advance: float = optional(ge=0, le=MAX_ADVANCE_S, description="virtual seconds to live through "
                                                              "now")
    # Absolute, so a partner's script names the same instant in every run of a seed, whatever
    # the wall time it took to get there; the range depends on the clock, checked in the handler.
    to: float = optional(ge=0, description="virtual epoch seconds to live through to: not before "
                                           "now, at most a week after it; not with advance")
    speed: float = optional(gt=0, le=MAX_SPEED, description="virtual seconds per wall second")
    paused: bool = optional()
    token_clock: TokenClock = optional(alias="tokenClock", description=(
        "the clock tokens expire on: virtual, or wall for clients that cache a token by their "
        "own clock; a switch keeps every token's seconds left"))

    @model_validator(mode="after")
    def _something(self) -> ClockChange:
        if not self.model_fields_set:
            raise ValueError(f"give one of {', '.join(type(self).model_fields)}")
        return self


class Reset(WireModel):
    """an empty object (or no body)"""


# -- platforms ---------------------------------------------------------------------------------


class PlatformCreate(WireModel):
    client_id: NewPlatformCode = Field(alias="clientId",
                           description="its region letter A, E, U or C first")
    client_secret: Secret = optional(alias="clientSecret",
                              description="default: a UUID seeded by the client id")
    callback_url: Url | None = optional(alias="callbackUrl",
                                    description="null: no pushes")
    push_format: PushFormat = optional(alias="pushFormat", description=(
        "v2 (default, the reference) or v1: status pushes at {callback}/vehicle/status with "
        "vehicleCode"))
    vehicles: int = optional(ge=0, le=MAX_NEW_VEHICLES)
    model: ModelName = optional(description="the model of its new vehicles; default a200")


class PlatformPatch(WireModel):
    client_secret: Secret = optional(alias="clientSecret")
    callback_url: Url | None = optional(alias="callbackUrl")
    push_format: PushFormat = optional(alias="pushFormat")


# -- rules: fault injection and push chaos -------------------------------------------------------


class FaultRuleIn(WireModel):
    """a vendor code, a delay (wall ms), or both, for the matching vendor requests"""

    # A rule needs a code, a delay or both (the core's Rule says so, and names `code`).
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["code"], "properties": {"code": {"type": "integer"}}},
        {"required": ["delayMs"], "properties": {"delayMs": {"minimum": 1}}}]})

    code: VendorCode | None = optional()
    iot_code: str | None = optional(alias="iotCode", min_length=1,
                                description="a vehicle the simulator has")
    endpoint: Endpoint | None = optional()
    platform_code: str | None = optional(alias="platformCode", min_length=1,
                                     description="a platform the simulator has")
    probability: float = optional(ge=0, le=1)
    times: int | None = optional(ge=1, le=MAX_TIMES)
    delay_ms: int = optional(alias="delayMs", ge=0, le=MAX_DELAY_MS)


class ChaosRuleIn(WireModel):
    """what happens to matching pushes on their way out"""

    action: Action
    platform_code: str | None = optional(alias="platformCode", min_length=1)
    iot_code: str | None = optional(alias="iotCode", min_length=1)
    type: PushType | None = optional()
    probability: float = optional(ge=0, le=1)
    times: int | None = optional(ge=1)
    delay_seconds: float = optional(alias="delaySeconds", gt=0, le=MAX_DELAY_S)


# -- journals ----------------------------------------------------------------------------------


class RequestsQuery(QueryModel):
    endpoint: str = optional()
    iot_code: str = optional(alias="iotCode")
    platform_code: str = optional(alias="platformCode")
    code: str = optional()
    method: str = optional()
    http_status: str = optional(alias="httpStatus")
    since: QueryInt = Field(0, ge=0, le=10**15, description="records after this seq, oldest "
                                                             "first")
    limit: QueryInt = Field(1000, ge=1, le=MAX_JOURNAL)


class PushesQuery(QueryModel):
    type: PushType = optional()
    iot_code: str = optional(alias="iotCode")
    platform_code: str = optional(alias="platformCode")
    outcome: Outcome = optional()
    attempt: Attempt = optional()
    http_status: str = optional(alias="httpStatus")
    chaos: str = optional()
    since: QueryInt = Field(0, ge=0, le=10**15, description="records after this seq, oldest "
                                                             "first")
    limit: QueryInt = Field(1000, ge=1, le=MAX_JOURNAL)


class SettleQuery(QueryModel):
    timeout: QueryInt = Field(30, ge=1, le=600, description="wall seconds to wait at most")


def filters(query: QueryModel, *, exclude: tuple[str, ...] = ("since", "limit")) -> dict[str, Any]:
    """A journal query's filters by wire name (the journals' records carry wire names)."""
    return query.model_dump(by_alias=True, exclude=set(exclude))


# -- scenarios ---------------------------------------------------------------------------------


class ScenarioStart(WireModel):
    seed: int = optional(ge=0, le=2**63 - 1)
    vehicles: int = optional(ge=1, le=100_000, description="fleet size (default: the story's own)")
    speed: float | None = optional(gt=0, le=1_000_000, description=(
        "virtual s per wall s while the run moves a paused clock (default: as fast as possible)"))
    callback_url: Url = optional(alias="callbackUrl", description=(
        "default: the demo platform's, else a receiver of the run's own"))



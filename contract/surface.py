"""The vendor surface as the reference describes it, written down for the suite (not imported from
the simulator: the suite must hold the simulator to the reference, not to itself).

By vehicle model: ENDPOINTS are the A200's (the reference); SCOOTER_ENDPOINTS the Segway-Ninebot
sharing kick scooter's, v2 and the first generation's v1 paths, written from public partner
clients (the simulator's reference/real-clients.md; FIDELITY.md, "Vehicle models").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

QUERY, CONTROL, SETTING = "query", "control", "setting"

# Appendix 1, verbatim; 15707 comes from the interval setting's own error table.
MESSAGES: dict[int, str] = {
    15101: "token verification failed", 15100: "incorrect platform info",
    15004: "parameter error", 15001: "server error", 15102: "device not found",
    15103: "iot not unmatched platform",
    15104: "please wait until the last request has it's response",
    15300: "inactive device", 15301: "offline device", 15302: "device response timeout",
    15303: "command send failed", 15305: "device update message is invalid",
    15304: "IoT is not binding to the vehicle", 15400: "latest location not found via device",
    15500: "device upgrading: command can not be executed",
    15600: "lock failed: vehicle is riding", 15601: "device lock command failed",
    15602: "device lock failed: network error", 15603: "bike has been used",
    15611: "device unlock command failed", 15612: "device unlock failed: network error",
    15614: "Mech-Lock unlock false throttle is on", 15613: "Mech-Lock unlock false",
    15704: "the device is in dormancy", 15701: "the device is unlocked",
    15702: "the device is not in teleoperation mode",
    15705: "This feature is not supported on the vehicle",
    15706: "This command is not supported in the current mode",
    15707: "NOT supported by this vehicle or its firmware",
    15620: "startRental failed", 15621: "startRental failed: network error",
    15622: "startRental failed: handlebar failed",
    15623: "startRental success, but open saddle failed",
    15624: "startRental success, but open tailbox failed",
    15625: "startRental success, but tailbox and saddle failed",
    15627: "endRental failed: vehicle is riding", 15628: "endRental failed",
    15629: "endRental: network error", 15630: "endRental failed: handlebar lock failed",
    15631: "endRental failed: no return helmet", 15632: "endRental failed: saddle lock failed",
    15633: "endRental failed: tailbox lock failed",
    15634: "endRental failed: tailbox and saddle lock failed",
    15635: "open failed, please operate when mopeds is unlocking",
    15636: "handlebar lock failed", 15637: "handlebar unlock failed",
    15638: "device execute failure",
}

NUMBER, STRING, BOOL = "number", "string", "boolean"


@dataclass(frozen=True)
class Field:
    kind: str  # number | string | boolean
    low: float | None = None  # documented range, where the reference gives one
    high: float | None = None
    integer: bool = False


@dataclass(frozen=True)
class Endpoint:
    name: str  # the operation, as the simulator's journal and fault rules call it
    method: str
    path: str
    kind: str  # query | control | setting
    msg: str  # success msg as the endpoint's example has it
    id_field: str = "opId"
    data: dict[str, Field] = field(default_factory=dict)  # queries: the data object's fields
    example: dict[str, Any] = field(default_factory=dict)  # a valid command body (no iotCode)
    invalid: tuple[tuple[str, dict[str, Any]], ...] = ()  # (why, body without iotCode)
    # "v2": {code, msg, data, t, <id>}; "v1": {success, code, message, msg, ...fields, t, opId}
    # with a query's fields at the top level, and every call naming vehicleCode beside iotCode
    surface: str = "v2"


Q, C, S = "/api/v2/vehicle/query/current", "/api/v2/vehicle/control", "/api/v2/vehicle/setting"
INT = {"kind": NUMBER, "integer": True}


def n(low: float | None = None, high: float | None = None) -> Field:
    return Field(NUMBER, low, high, integer=True)


STATUS_DATA = {
    "iotCode": Field(STRING), "online": Field(BOOL), "locked": Field(BOOL),
    "lockVoltage": n(0), "networkSignal": n(2, 32), "charging": Field(BOOL),
    "powerPercent": n(0, 100), "speedMode": n(1, 3), "speed": Field(NUMBER, 0),
    "odometer": n(0), "remainingRange": n(0), "totalRidingSecs": n(0), "statusUtcTime": n(0),
}
LOCATION_DATA = {
    "iotCode": Field(STRING), "latitude": Field(NUMBER, -90, 90),
    "longitude": Field(NUMBER, -180, 180), "satelliteNumber": n(0), "hdop": Field(NUMBER, 0),
    "altitude": Field(NUMBER), "gpsUtcTime": n(0),
}
BATTERY_DATA = {
    "iotCode": Field(STRING), "charging": Field(BOOL), "vehiclePercent": n(0, 100),
    "batteryCount": n(1, 3), "drivingVoltage": Field(NUMBER, 0), "currentPower": Field(NUMBER),
    "iotPercent": n(0, 100), "iotVoltage": n(0), "batteryData": Field("array"),
}
PACK_DATA = {
    "batteryPort": n(1, 3), "batteryPercent": n(0, 100), "batteryVoltage": Field(NUMBER, 0),
    "cycleTimes": n(0), "temperatrue": Field(NUMBER),
}
KEY_DATA = {"iotCode": Field(STRING), "key": Field(STRING)}


def _out(name: str, low: int, high: int, base: dict[str, Any] | None = None,
         path: tuple[str, ...] = ()) -> tuple[tuple[str, dict[str, Any]], ...]:
    """Bodies with `name` just outside [low, high], not an integer, a boolean, and missing."""

    def put(value: Any) -> dict[str, Any]:
        body = json_copy(base or {})
        node = body
        for part in path:
            node = node.setdefault(part, {})
        if value is _MISSING:
            node.pop(name, None)
        else:
            node[name] = value
        return body

    label = ".".join((*path, name))
    return ((f"{label}={low - 1}", put(low - 1)), (f"{label}={high + 1}", put(high + 1)),
            (f"{label}=text", put("x")), (f"{label}=true", put(True)),
            (f"{label}=1.5", put(1.5)), (f"{label} missing", put(_MISSING)))


_MISSING = object()


def json_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value


def _enum(name: str, bad: tuple[Any, ...], base: dict[str, Any]) -> tuple[tuple[str, dict], ...]:
    return tuple((f"{name}={v!r}", {**base, name: v}) for v in bad) + (
        (f"{name} missing", {k: v for k, v in base.items() if k != name}),)


SWITCH = {"bssDisplay": 2, "alertSensitivity": 2, "unlockHeadLight": 2, "unlockTailLight": 2,
          "brakeTailLight": 2, "wirelessCharge": 2, "climbInput": 1}
AMBIENT_SETTING = {"bright": 3, "exerciseMode": {"mode": 4, "bright": 2, "color": 1},
                   "faultMode": {"mode": 2, "color": 2}}
SOUND_SETTING = {"workMode": 2, "volume": 3}
INTERVAL = {"locationInterval": {"unlockStatus": 10, "lockStatus": 900},
            "statusInterval": {"ridingStatus": 10, "nonRiding": 60, "lockStatus": 900}}
AMBIENT_CONTROL = {"bright": 2, "mode": 2, "color": 4}

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("status", "GET", f"{Q}/status", QUERY, "Success", data=STATUS_DATA),
    Endpoint("location", "GET", f"{Q}/location", QUERY, "success", data=LOCATION_DATA),
    Endpoint("battery-info", "GET", "/api/v2/mopeds/query/current/battery-info", QUERY,
             "success", id_field="resId", data=BATTERY_DATA),
    Endpoint("bluetooth-key", "GET", f"{Q}/bluetooth-key", QUERY, "success", data=KEY_DATA),
    Endpoint("unlock", "POST", f"{C}/unlock", CONTROL, "Success"),
    Endpoint("battery-cover", "POST", f"{C}/battery-cover", CONTROL, "Success"),
    Endpoint("sound", "POST", f"{C}/sound", CONTROL, "Success", example={"controlType": 2},
             invalid=_enum("controlType", (0, 1, 4, 9, 14, "x", True), {"controlType": 2})),
    Endpoint("mech-lock", "POST", f"{C}/mech-lock", CONTROL, "Success"),
    Endpoint("anti-theft", "POST", f"{C}/anti-theft", CONTROL, "Success",
             example={"controlType": 2},
             invalid=_enum("controlType", (0, 3, "on", False), {"controlType": 2})),
    Endpoint("ambient", "POST", f"{C}/ambient", CONTROL, "Success", example=AMBIENT_CONTROL,
             invalid=_out("bright", 1, 3, AMBIENT_CONTROL)
             + _enum("mode", (1, 5, -1), AMBIENT_CONTROL) + _out("color", 1, 7, AMBIENT_CONTROL)),
    Endpoint("wireless-charging", "POST", f"{C}/wireless-charging", CONTROL, "Success",
             example={"controlType": 1},
             invalid=_out("controlType", 0, 1, {"controlType": 1})),
    Endpoint("whole-shutdown", "POST", f"{C}/whole-shutdown", CONTROL, "Success"),
    Endpoint("setting/switch", "POST", "/api/v2/ebike/setting/switch", SETTING, "Success",
             example=SWITCH,
             invalid=_out("bssDisplay", 0, 2, SWITCH) + _out("alertSensitivity", 1, 3, SWITCH)
             + _out("unlockHeadLight", 0, 2, SWITCH) + _out("unlockTailLight", 0, 3, SWITCH)
             + _out("brakeTailLight", 0, 3, SWITCH) + _out("wirelessCharge", 0, 2, SWITCH)
             + _out("climbInput", 0, 2, SWITCH) + _out("speedLimit", 6, 32, SWITCH)[:5]
             + _out("lowPowerValue", 0, 30, SWITCH)[:5]),
    Endpoint("setting/ambient", "POST", f"{S}/ambient", SETTING, "Success",
             example=AMBIENT_SETTING,
             invalid=_out("bright", 1, 3, AMBIENT_SETTING)
             + _out("mode", 1, 4, AMBIENT_SETTING, ("exerciseMode",))
             + _out("color", 1, 7, AMBIENT_SETTING, ("faultMode",))
             + _out("bright", 1, 3, AMBIENT_SETTING, ("lockedMode",))[:5]
             + (("faultMode=3", {**AMBIENT_SETTING, "faultMode": 3}),)),
    Endpoint("setting/sound", "POST", f"{S}/sound", SETTING, "Success", example=SOUND_SETTING,
             invalid=_out("workMode", 0, 2, SOUND_SETTING) + _out("volume", 1, 3, SOUND_SETTING)
             + _out("locked", 0, 2, SOUND_SETTING, ("ebaqMask",))[:5]),
    Endpoint("setting/speed-mode", "POST", f"{S}/speed-mode", SETTING, "Success",
             example={"speedMode": 1}, invalid=_out("speedMode", 1, 3, {"speedMode": 1})),
    Endpoint("setting/bluetooth-key", "POST", f"{S}/bluetooth-key", SETTING, "Success",
             example={"key": "4BKNwi77"},
             invalid=_enum("key", ("abc1234", "abcd12345", "abcd-123", "", 12345678),
                           {"key": "4BKNwi77"})),
    Endpoint("setting/interval", "POST", f"{S}/interval", SETTING, "Success", example=INTERVAL,
             invalid=_out("unlockStatus", 10, 65535, INTERVAL, ("locationInterval",))[:5]
             + _out("nonRiding", 10, 65535, INTERVAL, ("statusInterval",))[:5]),
)
BY_NAME = {e.name: e for e in ENDPOINTS}
QUERIES = tuple(e for e in ENDPOINTS if e.kind == QUERY)
COMMANDS = tuple(e for e in ENDPOINTS if e.kind != QUERY)

# Every command's iotCode rule, and bodies that are not objects at all.
IOT_CODE_INVALID: tuple[tuple[str, Any], ...] = (
    ("iotCode missing", {}), ("iotCode=letters", {"iotCode": "abcdefghijklmno"}),
    ("iotCode=true", {"iotCode": True}), ("iotCode=object", {"iotCode": {"imei": 1}}),
)


# -- the kick scooter (inferred from public clients) -------------------------------------------

MODELS = ("a200", "scooter")  # what --model may name
V1 = "/api/vehicle"
SCOOTER_LOCATION_DATA = {**{k: v for k, v in LOCATION_DATA.items() if k != "gpsUtcTime"},
                         "gpsUTCTime": n(0)}  # three clients of one operator read this spelling
V1_GET_DATA = {
    "iotCode": Field(STRING), "vehicleCode": Field(STRING), "online": Field(BOOL),
    "locked": Field(BOOL), "networkSignal": n(2, 32), "charging": Field(BOOL),
    "powerPercent": n(0, 100), "speedMode": n(0, 3), "speed": Field(NUMBER, 0),
    "odometer": n(0), "remainingRange": n(0), "totalRidingSecs": n(0),
    "latitude": Field(NUMBER, -90, 90), "longitude": Field(NUMBER, -180, 180),
    "altitude": Field(NUMBER), "statusUtcTime": n(0), "gpsUtcTime": n(0),
}
V1_VERSION_DATA = {"iotCode": Field(STRING), "vehicleCode": Field(STRING),
                   "iotVersion": Field(STRING)}
LIGHTS = {"headLight": 1, "tailLight": 1}  # sent at unlock (0, 0 at lock)
LIMITS = {"lowSpeedLimit": 6, "mediumSpeedLimit": 20, "highSpeedLimit": 25}
SCOOTER_SETTING = {"buttonSwitchSpeedMode": 0, **LIMITS}


def _limits(base: dict[str, Any]) -> tuple[tuple[str, dict[str, Any]], ...]:
    # each limit optional: out of 6-25 and wrong types, never "missing"
    return sum((_out(name, 6, 25, base)[:5] for name in LIMITS), ())


SCOOTER_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("status", "GET", f"{Q}/status", QUERY, "Success", data=STATUS_DATA),
    Endpoint("location", "GET", f"{Q}/location", QUERY, "success", data=SCOOTER_LOCATION_DATA),
    Endpoint("battery-info", "GET", f"{Q}/battery-info", QUERY, "success", id_field="resId",
             data=BATTERY_DATA),
    Endpoint("bluetooth-key", "GET", f"{Q}/bluetooth-key", QUERY, "success", data=KEY_DATA),
    Endpoint("unlock", "POST", f"{C}/unlock", CONTROL, "Success"),
    Endpoint("lock", "POST", f"{C}/lock", CONTROL, "Success"),
    Endpoint("light", "POST", f"{C}/light", CONTROL, "Success", example=LIGHTS,
             invalid=_out("headLight", 0, 2, LIGHTS)[:5] + _out("tailLight", 0, 2, LIGHTS)[:5]
             + (("no light", {}),)),
    Endpoint("sound", "POST", f"{C}/sound", CONTROL, "Success", example={"controlType": 1},
             invalid=_enum("controlType", (0, 4, 9, 14, "x", True), {"controlType": 1})),
    Endpoint("battery-cover", "POST", f"{C}/battery-cover", CONTROL, "Success"),
    Endpoint("whole-shutdown", "POST", f"{C}/whole-shutdown", CONTROL, "Success"),
    Endpoint("setting/sound", "POST", f"{S}/sound", SETTING, "Success",
             example={"workMode": 2},
             invalid=_out("workMode", 0, 2, {"workMode": 2})
             + _out("volume", 1, 3, {"workMode": 2, "volume": 2})[:5]),
    Endpoint("setting/speed-mode", "POST", f"{S}/speed-mode", SETTING, "Success",
             example={"speedMode": 1}, invalid=_out("speedMode", 1, 3, {"speedMode": 1})),
    Endpoint("setting/scooter", "POST", f"{S}/scooter", SETTING, "Success",
             example=SCOOTER_SETTING,
             invalid=_limits(SCOOTER_SETTING)
             + _enum("buttonSwitchSpeedMode", (2, -1, "x"), SCOOTER_SETTING)[:3]),
    Endpoint("setting/bluetooth-key", "POST", f"{S}/bluetooth-key", SETTING, "Success",
             example={"key": "4BKNwi77"},
             invalid=_enum("key", ("abc1234", "abcd12345", "abcd-123", "", 12345678),
                           {"key": "4BKNwi77"})),
    # the first generation, on the same host
    Endpoint("v1/get", "GET", f"{V1}/query/get", QUERY, "Success", data=V1_GET_DATA,
             surface="v1"),
    Endpoint("v1/version", "GET", f"{V1}/query/version", QUERY, "Success",
             data=V1_VERSION_DATA, surface="v1"),
    Endpoint("v1/unlock", "POST", f"{V1}/control/unlock", CONTROL, "Success", surface="v1"),
    Endpoint("v1/lock", "POST", f"{V1}/control/lock", CONTROL, "Success", surface="v1"),
    Endpoint("v1/toot", "POST", f"{V1}/control/toot", CONTROL, "Success",
             example={"contentType": 7}, surface="v1",
             invalid=_enum("contentType", (5, 8, 0, "x", True), {"contentType": 7})),
    Endpoint("v1/headlight", "POST", f"{V1}/control/headlight", CONTROL, "Success",
             example={"controlType": 1}, surface="v1",
             invalid=_out("controlType", 0, 1, {"controlType": 1})),
    Endpoint("v1/speed-mode", "POST", f"{V1}/control/speed-mode", CONTROL, "Success",
             example={"speedMode": 1}, surface="v1",
             invalid=_out("speedMode", 1, 3, {"speedMode": 1})),
    Endpoint("v1/battery/cover", "POST", f"{V1}/control/battery/cover", CONTROL, "Success",
             surface="v1"),
    Endpoint("v1/setting/speed-limit", "POST", f"{V1}/setting/speed-limit", SETTING, "Success",
             example=LIMITS, surface="v1", invalid=_limits(LIMITS)),
    Endpoint("v1/setting/location", "POST", f"{V1}/setting/location", SETTING, "Success",
             example={"uploadInterval": 60}, surface="v1",
             invalid=_out("uploadInterval", 10, 65535, {"uploadInterval": 60})),
    Endpoint("v1/iot/bind", "POST", f"{V1}/iot/bind", SETTING, "Success",
             example={"qrCode": "SCOOTER-0001"}, surface="v1",
             invalid=_enum("qrCode", ("", "no spaces", True), {"qrCode": "SCOOTER-0001"})),
)
SCOOTER_BY_NAME = {e.name: e for e in SCOOTER_ENDPOINTS}
SCOOTER_QUERIES = tuple(e for e in SCOOTER_ENDPOINTS if e.kind == QUERY)
SCOOTER_COMMANDS = tuple(e for e in SCOOTER_ENDPOINTS if e.kind != QUERY)
# The reference's operations a scooter does not have: 15705, in the v2 envelope.
SCOOTER_LACKS = tuple(e for e in ENDPOINTS if e.name not in SCOOTER_BY_NAME)

"""The OpenAPI 3.1 description of the vendor surface, written from the reference's tables.

It is built here (shared envelopes, one error schema per Appendix-1 code) and written to
vendor.json by `python -m simulator.server.openapi`; a test keeps the file and this builder in step.
The A200's operations are deliberately not derived from the simulator's own parameter tables: the
spec is a second, independent reading of the reference, so the fuzzer and the route test hold the
code to it. The models are another matter: every operation is tagged with the vehicle models
(simulator/core/models) that have it, and the operations the reference does not have (the
scooter's, the v1 paths: inferred from public clients, FIDELITY.md) take their bodies from the
model profiles, the only reading of that evidence there is. Where models differ in one
operation's parameters, the body is `anyOf` one schema per model, each titled by its model.
"""

from __future__ import annotations

from typing import Any

from simulator.core import models
from simulator.core.errors import MESSAGES
from simulator.core.params import Obj

Schema = dict[str, Any]
EXAMPLE_IMEIS = ["861477038719116", "862785041281554", "8612345678901"]
DEMO_TOKEN = "f3bbd782-04c7-42e5-bed9-524cde3eb415"

Q, C, S = "/api/v2/vehicle/query/current", "/api/v2/vehicle/control", "/api/v2/vehicle/setting"
V1 = "/api/vehicle"  # the first generation's paths, on the same host
COMMON_ERRORS = [15101, 15004, 15001, 15102, 15300, 15301, 15302, 15303]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def integer(low: int | None = None, high: int | None = None, desc: str = "") -> Schema:
    out: Schema = {"type": "integer"}
    if low is not None:
        out["minimum"] = low
    if high is not None:
        out["maximum"] = high
    if desc:
        out["description"] = desc
    return out


def enum(values: list[int], desc: str) -> Schema:
    return {"type": "integer", "enum": values, "description": desc}


def obj(props: dict[str, Schema], required: list[str] | None = None, desc: str = "",
        strict: bool = True) -> Schema:
    out: Schema = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    if strict:
        out["additionalProperties"] = False
    if desc:
        out["description"] = desc
    return out


IOT_CODE: Schema = {"type": "string", "pattern": "^[0-9]{1,20}$", "description": "IoT IMEI",
                    "examples": EXAMPLE_IMEIS}
IOT_CODE_BODY: Schema = {**IOT_CODE, "description": "IoT IMEI (a JSON number is read too, as "
                                                    "some of the reference's examples send one)"}
ON_OFF = enum([0, 1, 2], "0 no setting, 1 off, 2 on")
ON_OFF_FLICKER = enum([0, 1, 2, 3], "0 no setting, 1 off, 2 on, 3 flicker")
BRIGHT = enum([1, 2, 3], "1 Low, 2 Medium, 3 High")
COLOR = enum([1, 2, 3, 4, 5, 6, 7], "1 Green 2 Red 3 Orange 4 Blue 5 Cyan 6 Violet 7 White")
INTERVAL = integer(10, 65535, "seconds")
EBAQ_SOUNDS = ["locked", "unlocked", "batteryOn", "illegalMoving", "fault", "alarm", "locating",
               "modeSwitch", "nfcReadSuccess", "nfcReadFailed", "batteryCoverUnlocked",
               "batteryCoverLocked", "fullyCharged", "cableLocked", "cusAudio01", "cusAudio02",
               "cusAudio03", "cusAudio04"]
LAMP_EFFECT = obj({"mode": enum([1, 2, 3, 4], "1 Off 2 Always on 3 Blinking 4 Breathing"),
                   "bright": BRIGHT, "color": COLOR}, ["mode", "color"],
                  "an atmosphere lamp effect", strict=False)


def body(props: dict[str, Schema], required: list[str]) -> Schema:
    # Unknown fields are ignored by the vendor's Spring/Jackson stack, so bodies stay open.
    return obj({"iotCode": IOT_CODE_BODY, **props}, ["iotCode", *required], strict=False)


STATUS_DATA = obj({
    "iotCode": {"type": "string"},
    "online": {"type": "boolean"},
    "locked": {"type": "boolean"},
    "lockVoltage": integer(0, desc="lock voltage"),
    "networkSignal": integer(2, 32, "2 weakest .. 32 strongest"),
    "charging": {"type": "boolean"},
    "powerPercent": integer(0, 100, "battery percentage"),
    "speedMode": integer(1, 3, "1 Exercise, 2 Eco, 3 Turbo"),
    "speed": {"type": "number", "minimum": 0, "description": "current speed"},
    "odometer": integer(0, desc="total odometer, m"),
    "remainingRange": integer(0, desc="remaining range, 10 m units (the field table's name; "
                                      "the example says remainderRange, see FIDELITY.md)"),
    "totalRidingSecs": integer(0),
    "statusUtcTime": integer(0, desc="epoch seconds"),
}, ["iotCode", "online", "locked", "lockVoltage", "networkSignal", "charging", "powerPercent",
    "speedMode", "speed", "odometer", "remainingRange", "totalRidingSecs", "statusUtcTime"])
LOCATION_DATA = obj({
    "iotCode": {"type": "string"},
    "latitude": {"type": "number", "minimum": -90, "maximum": 90, "description": "WGS84"},
    "longitude": {"type": "number", "minimum": -180, "maximum": 180, "description": "WGS84"},
    "satelliteNumber": integer(0),
    "hdop": {"type": "number", "minimum": 0},
    "altitude": {"type": "number", "description": "m above sea level"},
    "gpsUtcTime": integer(0, desc="epoch seconds (a Number, as the field table says)"),
}, ["iotCode", "latitude", "longitude", "satelliteNumber", "hdop", "altitude", "gpsUtcTime"])
SCOOTER_LOCATION_DATA = {
    **LOCATION_DATA,
    "properties": {**{k: v for k, v in LOCATION_DATA["properties"].items() if k != "gpsUtcTime"},
                   "gpsUTCTime": integer(0, desc="epoch seconds; the scooter's spelling, as "
                                                 "partner clients read it (FIDELITY.md)")},
    "required": [*(k for k in LOCATION_DATA["required"] if k != "gpsUtcTime"), "gpsUTCTime"],
    "description": "the scooter's location: the A200's fields, the time spelt gpsUTCTime",
}
BATTERY_PACK = obj({
    "batteryPort": enum([1, 2, 3], "port"),
    "batteryPercent": integer(0, 100),
    "batteryVoltage": {"type": "number", "minimum": 0, "description": "V"},
    "cycleTimes": integer(0),
    "temperatrue": {"type": "number", "description": "degrees C (sic: the reference's name)"},
}, ["batteryPort", "batteryPercent", "batteryVoltage", "cycleTimes", "temperatrue"])
BATTERY_DATA = obj({
    "iotCode": {"type": "string"},
    "charging": {"type": "boolean"},
    "vehiclePercent": integer(0, 100),
    "batteryCount": integer(1, 3),
    "drivingVoltage": {"type": "number", "minimum": 0, "description": "V"},
    "currentPower": {"type": "number", "description": "W"},
    "iotPercent": integer(0, 100),
    "iotVoltage": integer(0, desc="10 mV units: 411 -> 4.11 V"),
    "batteryData": {"type": "array", "items": ref("BatteryPack"), "minItems": 1, "maxItems": 3},
}, ["iotCode", "charging", "vehiclePercent", "batteryCount", "drivingVoltage", "currentPower",
    "iotPercent", "iotVoltage", "batteryData"])
KEY_DATA = obj({"iotCode": {"type": "string"},
                "key": {"type": "string", "pattern": "^[A-Za-z0-9]{8}$"}}, ["iotCode", "key"])


VEHICLE_CODE: Schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$",
                        "description": "the v1 vehicle code (the IMEI until iot/bind names "
                                       "another; a JSON number is read too)",
                        "examples": EXAMPLE_IMEIS}
V1_GET_DATA: dict[str, Schema] = {
    "iotCode": {"type": "string"}, "vehicleCode": {"type": "string"},
    "online": {"type": "boolean"}, "locked": {"type": "boolean"},
    "networkSignal": integer(2, 32), "charging": {"type": "boolean"},
    "powerPercent": integer(0, 100), "speedMode": integer(0, 3, "1 low, 2 medium, 3 high"),
    "speed": {"type": "number", "minimum": 0, "description": "km/h"},
    "odometer": integer(0, desc="10 m units"), "remainingRange": integer(0, desc="10 m units"),
    "totalRidingSecs": integer(0),
    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
    "longitude": {"type": "number", "minimum": -180, "maximum": 180},
    "altitude": {"type": "number"},
    "statusUtcTime": integer(0, desc="epoch seconds"),
    "gpsUtcTime": integer(0, desc="epoch seconds"),
}
V1_VERSION_DATA: dict[str, Schema] = {
    "iotCode": {"type": "string"}, "vehicleCode": {"type": "string"},
    "iotVersion": {"type": "string", "description": "the IoT firmware, e.g. 1.5.0"},
}


def v1_envelope(data: dict[str, Schema]) -> Schema:
    """v1 success: the data's fields at the top level, beside success, code, message and msg."""
    return obj({
        "success": {"const": True}, "code": {"const": 0},
        "message": {"const": "Success"}, "msg": {"const": "Success"},
        **data,
        "t": {"type": "integer", "description": "epoch milliseconds"},
        "opId": {"type": "string", "format": "uuid"},
    }, ["success", "code", "message", "msg", *data, "t", "opId"])


def v1_answer(data: dict[str, Schema], errors: list[int]) -> Schema:
    listed = ", ".join(f"{c} {MESSAGES[c]}" for c in errors)
    return {
        "description": "Always HTTP 200, in the v1 envelope: success, or a vendor code with "
                       f"success false. Listed: {listed}. (An injected fault can answer any "
                       "Appendix-1 code.)",
        "content": {"application/json": {"schema": {"oneOf": [v1_envelope(data),
                                                             ref("V1ErrorEnvelope")]}}},
    }


def envelope(data: Schema, msg: str, id_field: str = "opId") -> Schema:
    return obj({
        "code": {"const": 0},
        "msg": {"const": msg, "description": "as the endpoint's example has it"},
        "data": data,
        "t": {"type": "integer", "description": "epoch milliseconds"},
        id_field: {"type": "string", "format": "uuid"},
    }, ["code", "msg", "data", "t", id_field])


def error_envelope(id_field: str) -> Schema:
    return {"allOf": [
        obj({"code": {"type": "integer"}, "msg": {"type": "string"}, "data": {"type": "null"},
             "t": {"type": "integer"}, id_field: {"type": "string", "format": "uuid"}},
            ["code", "msg", "data", "t", id_field]),
        ref("VendorCode"),
    ], "description": "a vendor error: HTTP 200, data null, msg the Appendix-1 text of code"}


def answer(data: Schema, msg: str, id_field: str, errors: list[int]) -> Schema:
    success = envelope(data, msg, id_field)
    error = ref("ErrorEnvelope" if id_field == "opId" else "ErrorEnvelopeResId")
    listed = ", ".join(f"{c} {MESSAGES[c]}" for c in errors)
    return {
        "description": f"Always HTTP 200: success, or a vendor code. The reference lists: {listed}."
                       " (An injected fault can answer any Appendix-1 code.)",
        "content": {"application/json": {"schema": {"oneOf": [success, error]}}},
    }


def spring_error(status: int, why: str) -> Schema:
    return {"description": why,
            "content": {"application/json": {"schema": ref("HttpError")}}}


def models_of(op: str) -> list[str]:
    """The vehicle models that have operation `op` (every model has the token)."""
    return [p.name for p in models.PROFILES if op == "token" or p.supports(op)]


def by_model(op: str, tag: str, errors: list[int]) -> Schema:
    """An operation's tags (its kind, then its models) and its vendor codes: 15705 where a
    model lacks it."""
    names = models_of(op)
    lacking = len(names) < len(models.PROFILES)
    return {"tags": [tag, *names], "x-segway-operation": op, "x-segway-models": names,
            "x-segway-errors": [*errors, 15705] if lacking else errors}


def query(op: str, op_id: str, summary: str, data: Schema, msg: str, errors: list[int],
          id_field: str = "opId", extra: list[Schema] | None = None) -> Schema:
    tagged = by_model(op, "query", errors)
    return {"get": {
        "operationId": op_id, "summary": summary, "tags": tagged["tags"],
        "parameters": [{"name": "iotCode", "in": "query", "required": True,
                        "schema": IOT_CODE}, *(extra or [])],
        "responses": {"200": answer(data, msg, id_field, tagged["x-segway-errors"])},
        **{k: v for k, v in tagged.items() if k != "tags"},
    }}


def command(op: str, op_id: str, summary: str, tag: str, schema: Schema,
            errors: list[int]) -> Schema:
    tagged = by_model(op, tag, errors)
    return {"post": {
        "operationId": op_id, "summary": summary, "tags": tagged["tags"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "responses": {
            "200": answer({"type": "null"}, "Success", "opId", tagged["x-segway-errors"]),
            "413": spring_error(413, "body larger than 64 KiB"),
        },
        **{k: v for k, v in tagged.items() if k != "tags"},
    }}


# -- bodies from the model profiles (what the reference does not have) ---------------------

# What each profile field means: the profiles hold ranges, the reader wants the words.
MEANING = {
    "headLight": "0 off, 1 on, 2 flicker (optional; at least one light)",
    "tailLight": "0 off, 1 on, 2 flicker (optional; at least one light)",
    "lowSpeedLimit": "km/h, speed mode 1's top speed (optional)",
    "mediumSpeedLimit": "km/h, speed mode 2's top speed (optional)",
    "highSpeedLimit": "km/h, speed mode 3's top speed (optional)",
    "buttonSwitchSpeedMode": "0 or 1, kept (optional)",
    "controlType": "the model's sound or switch types",
    "workMode": "0 no setting, 1 off, 2 on",
    "volume": "1 smallest .. 3 largest",
    "speedMode": "1 low, 2 medium, 3 high",
    "contentType": "7 alarm on, 6 alarm off",
    "uploadInterval": "seconds between location reports while unlocked",
    "qrCode": "the vehicle's QR code (letters, digits, _ and -), or a JSON integer",
    "key": "8 letters and digits",
}
SOUND_MEANING = {"a200": "2 toot, 10-13 custom sounds 1-4 (3: the reference's own example)",
                 "scooter": "1 out of geofence, 2 toot, 3 low battery, 10-13 custom sounds 1-4"}


def from_profile(rule: dict[str, Any], name: str = "") -> Schema:
    """A profile's parameter rule (params' to_json()) as JSON Schema."""
    rule = {k: v for k, v in rule.items() if k != "required"}
    if rule["type"] == "object":
        props = rule["properties"]
        return obj({n: from_profile(r, n) for n, r in props.items()},
                   [n for n, r in props.items() if r["required"]], strict=False)
    if name == "iotCode":
        return IOT_CODE_BODY
    if name in ("vehicleCode", "qrCode"):
        return {**VEHICLE_CODE, "description": MEANING.get(name, VEHICLE_CODE["description"])}
    if rule["type"] == "string":
        rule["pattern"] = rule["pattern"].replace(r"\d", "[0-9]")  # ASCII, as the reader is
    if name in MEANING:
        rule["description"] = MEANING[name]
    return rule


def profile_body(model: str, op: str) -> Schema:
    schema = from_profile(spec_of(model, op).to_json())
    if op == "light":
        schema["anyOf"] = [{"required": ["headLight"]}, {"required": ["tailLight"]}]
        schema["description"] = "at least one light (else 15004 \"body: no light given\")"
    if op == "sound":
        schema["properties"]["controlType"]["description"] = SOUND_MEANING[model]
    return schema


def spec_of(model: str, op: str) -> Obj:
    return models.BY_NAME[model].bodies[op]


def model_body(op: str, reference: Schema | None = None) -> Schema:
    """The body of `op`: the reference's reading (the A200's) where given, each other model's
    from its profile; one schema when every model reads it alike, else anyOf one per model."""
    having = [p.name for p in models.PROFILES if op in p.bodies]
    own = {name: (reference if name == "a200" and reference is not None
                  else profile_body(name, op)) for name in having}
    if len({repr(spec_of(name, op)) for name in having}) == 1:
        return own[having[0]]
    return {"anyOf": [{**own[name], "title": name, "x-segway-model": name} for name in having],
            "description": "the parameters differ by vehicle model: one schema per model, "
                           "titled by its name (x-segway-model); the vehicle's model decides"}


def v1_query(op: str, op_id: str, summary: str, data: dict[str, Schema],
             flags: tuple[str, ...] = ()) -> Schema:
    errors = [*COMMON_ERRORS, 15304]
    tagged = by_model(op, "v1", errors)
    return {"get": {
        "operationId": op_id, "summary": summary, "tags": [*tagged["tags"], "query"],
        "parameters": [
            {"name": "iotCode", "in": "query", "required": True, "schema": IOT_CODE},
            {"name": "vehicleCode", "in": "query", "required": True, "schema": VEHICLE_CODE},
            *({"name": f, "in": "query", "required": False, "schema": {"type": "boolean"}}
              for f in flags)],
        "responses": {"200": v1_answer(data, tagged["x-segway-errors"])},
        **{k: v for k, v in tagged.items() if k != "tags"},
    }}


def v1_command(op: str, op_id: str, summary: str, tag: str, more: list[int] | None = None
               ) -> Schema:
    errors = [*UPGRADING, 15304, *(more or [])]
    tagged = by_model(op, "v1", errors)
    schema = model_body(op)
    return {"post": {
        "operationId": op_id, "summary": summary, "tags": [*tagged["tags"], tag],
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "responses": {
            "200": v1_answer({}, tagged["x-segway-errors"]),
            "413": spring_error(413, "body larger than 64 KiB"),
        },
        **{k: v for k, v in tagged.items() if k != "tags"},
    }}


UPGRADING = [*COMMON_ERRORS, 15500]
NO_TIMEOUT = [e for e in UPGRADING if e != 15302]  # anti-theft, ambient, ... list no 15302

TOKEN = {"post": {
    "operationId": "requestToken", "summary": "request token (OAuth2 client credentials)",
    "tags": ["auth", *models.NAMES], "security": [],
    "x-segway-operation": "token", "x-segway-models": list(models.NAMES),
    "description": "Credentials in the form body (the reference's way), the query string or "
                   "HTTP Basic. While the token has more than 300 s left, asking again returns "
                   "it with the remaining expires_in; in its last 300 s a new one is issued and "
                   "both work until the old one expires.",
    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
        "schema": obj({"client_id": {"type": "string"}, "client_secret": {"type": "string"},
                       "grant_type": {"type": "string", "enum": ["client_credentials"]}},
                      ["client_id", "client_secret", "grant_type"], strict=False),
        "example": {"client_id": "A20081", "client_secret": "e2651be5-12d3-48f3-ba6c-bc2b04a447b6",
                    "grant_type": "client_credentials"}}}},
    "responses": {
        "200": {"description": "a token", "content": {"application/json": {"schema": obj({
            "access_token": {"type": "string"}, "token_type": {"const": "bearer"},
            "expires_in": integer(0, 86400), "scope": {"const": "read write trust"}},
            ["access_token", "token_type", "expires_in", "scope"])}}},
        "400": {"description": "missing or unsupported grant type",
                "content": {"application/json": {"schema": ref("OAuthError")}}},
        "401": {"description": "Bad client credentials",
                "content": {"application/json": {"schema": ref("OAuthError")}}},
        "413": spring_error(413, "body larger than 64 KiB"),
    },
}}

SWITCH = body({
    "bssDisplay": ON_OFF, "alertSensitivity": integer(1, 3, "strength"),
    "unlockHeadLight": ON_OFF, "unlockTailLight": ON_OFF_FLICKER,
    "brakeTailLight": ON_OFF_FLICKER, "wirelessCharge": ON_OFF, "climbInput": ON_OFF,
    "speedLimit": integer(6, 32, "km/h (optional)"),
    "lowPowerValue": integer(0, 30, "percent, 0 disables (optional)"),
}, ["bssDisplay", "alertSensitivity", "unlockHeadLight", "unlockTailLight", "brakeTailLight",
    "wirelessCharge", "climbInput"])
AMBIENT_SETTING = body({"bright": BRIGHT, **{m: LAMP_EFFECT for m in (
    "lockedMode", "faultMode", "exerciseMode", "ecoMode", "turboMode")}}, ["bright"])
SOUND_SETTING = body({
    "workMode": ON_OFF, "volume": integer(1, 3, "1 smallest .. 3 largest"),
    "ebaqMask": obj({s: enum([0, 1, 2], "0 disable, 1 enable, 2 keep original")
                     for s in EBAQ_SOUNDS}, desc="each sound on or off", strict=False),
}, ["workMode", "volume"])
INTERVAL_SETTING = {**body({
    "locationInterval": obj({"unlockStatus": INTERVAL, "lockStatus": INTERVAL}, strict=False),
    "statusInterval": obj({"ridingStatus": INTERVAL, "nonRiding": INTERVAL,
                           "lockStatus": INTERVAL}, strict=False),
}, []), "description": "at least one interval must be given"}


def paths() -> dict[str, Schema]:
    battery = query("battery-info", "getBatteryInfo", "get battery info", ref("BatteryInfoData"),
                    "success", COMMON_ERRORS, id_field="resId")
    alias = {"get": {**battery["get"], "operationId": "getBatteryInfoVehiclePath",
                     "summary": "get battery info (the path real clients also call)"}}
    sound_types = enum([2, 3, 10, 11, 12, 13], SOUND_MEANING["a200"])
    location = {"oneOf": [{**ref("LocationData"), "title": "a200"},
                          {**ref("ScooterLocationData"), "title": "scooter"}],
                "description": "by the vehicle's model: the scooter spells the time gpsUTCTime"}
    return {
        "/oauth/token": TOKEN,
        f"{Q}/status": query("status", "getCurrentStatus", "get current status",
                             ref("StatusData"), "Success", COMMON_ERRORS),
        f"{Q}/location": query(
            "location", "getCurrentLocation", "get current location", location, "success",
            [*COMMON_ERRORS, 15400],
            extra=[{"name": "realTimeLocation", "in": "query", "required": False,
                    "schema": {"type": "boolean"}}]),
        "/api/v2/mopeds/query/current/battery-info": battery,
        f"{Q}/battery-info": alias,
        f"{Q}/bluetooth-key": query("bluetooth-key", "getBluetoothKey", "get bluetooth key",
                                    ref("BluetoothKeyData"), "success", [*COMMON_ERRORS, 15400]),
        f"{C}/unlock": command("unlock", "unlock", "unlock", "control",
                               model_body("unlock", body({}, [])),
                               [*UPGRADING, 15611, 15612, 15613, 15614]),
        f"{C}/lock": command("lock", "lock", "lock (ends a ride; the scooter's remote lock)",
                             "control", model_body("lock"), UPGRADING),
        f"{C}/light": command("light", "light", "head and tail light", "control",
                              model_body("light"), UPGRADING),
        f"{C}/battery-cover": command("battery-cover", "batteryCover", "open the battery cover",
                                      "control", model_body("battery-cover", body({}, [])),
                                      [*UPGRADING, 15635, 15638]),
        f"{C}/sound": command("sound", "sound", "sound", "control",
                              model_body("sound", body({"controlType": sound_types},
                                                       ["controlType"])), UPGRADING),
        f"{C}/mech-lock": command("mech-lock", "mechLock", "open the mech lock", "control",
                                  body({}, []), UPGRADING),
        f"{C}/anti-theft": command("anti-theft", "antiTheft", "anti-theft alarm off/on",
                                   "control", body({"controlType": enum([1, 2], "1 off, 2 on")},
                                                   ["controlType"]), NO_TIMEOUT),
        f"{C}/ambient": command("ambient", "ambient", "atmosphere lamp effect now", "control",
                                body({"bright": BRIGHT,
                                      "mode": enum([0, 2, 3, 4], "0 Auto 2 Always on "
                                                                 "3 Blinking 4 Breathing"),
                                      "color": COLOR}, ["bright", "mode", "color"]), NO_TIMEOUT),
        f"{C}/wireless-charging": command(
            "wireless-charging", "wirelessCharging", "wireless phone charging off/on", "control",
            body({"controlType": enum([0, 1], "0 off, 1 on")}, ["controlType"]), NO_TIMEOUT),
        f"{C}/whole-shutdown": command(
            "whole-shutdown", "wholeShutdown", "transport mode (powers off)", "control",
            model_body("whole-shutdown", body({}, [])), NO_TIMEOUT),
        "/api/v2/ebike/setting/switch": command("setting/switch", "switchSetting",
                                                "switch setting (A200)", "setting", SWITCH,
                                                UPGRADING),
        f"{S}/ambient": command("setting/ambient", "atmosphereLampSetting",
                                "atmosphere lamp setting", "setting", AMBIENT_SETTING, UPGRADING),
        f"{S}/sound": command("setting/sound", "soundSetting", "sound setting", "setting",
                              model_body("setting/sound", SOUND_SETTING), UPGRADING),
        f"{S}/speed-mode": command(
            "setting/speed-mode", "speedMode", "speed mode", "setting",
            model_body("setting/speed-mode", body(
                {"speedMode": enum([1, 2, 3], "1 Exercise, 2 Eco, 3 Turbo (scooter: 1 low, "
                                              "2 medium, 3 high)")}, ["speedMode"])),
            UPGRADING),
        f"{S}/scooter": command("setting/scooter", "scooterSetting",
                                "the scooter's speed limits, km/h", "setting",
                                model_body("setting/scooter"), UPGRADING),
        f"{S}/bluetooth-key": command(
            "setting/bluetooth-key", "bluetoothKeySetting", "set the bluetooth key", "setting",
            model_body("setting/bluetooth-key", body(
                {"key": {"type": "string", "pattern": "^[A-Za-z0-9]{8}$"}}, ["key"])),
            UPGRADING),
        f"{S}/interval": command("setting/interval", "uploadInterval", "upload interval",
                                 "setting", INTERVAL_SETTING, [*UPGRADING, 15707]),
        **v1_paths(),
    }


def v1_paths() -> dict[str, Schema]:
    """The first generation, on the same host (inferred from public clients: FIDELITY.md)."""
    return {
        f"{V1}/query/get": v1_query("v1/get", "v1QueryGet", "v1: the vehicle's status and "
                                    "position, flat", V1_GET_DATA,
                                    ("realTimeLocation", "realTimeStatus")),
        f"{V1}/query/version": v1_query("v1/version", "v1QueryVersion",
                                        "v1: the IoT firmware version", V1_VERSION_DATA),
        f"{V1}/control/unlock": v1_command("v1/unlock", "v1Unlock", "v1: unlock", "control"),
        f"{V1}/control/lock": v1_command("v1/lock", "v1Lock", "v1: lock (ends a ride)",
                                         "control"),
        f"{V1}/control/toot": v1_command("v1/toot", "v1Toot", "v1: alarm on/off", "control"),
        f"{V1}/control/headlight": v1_command("v1/headlight", "v1Headlight",
                                              "v1: head light off (0) / on (1)", "control"),
        f"{V1}/control/speed-mode": v1_command("v1/speed-mode", "v1SpeedMode",
                                               "v1: speed mode", "control"),
        f"{V1}/control/battery/cover": v1_command("v1/battery/cover", "v1BatteryCover",
                                                  "v1: open the battery cover", "control",
                                                  [15635]),
        f"{V1}/setting/speed-limit": v1_command("v1/setting/speed-limit", "v1SpeedLimit",
                                                "v1: the three speed limits, km/h", "setting"),
        f"{V1}/setting/location": v1_command("v1/setting/location", "v1LocationInterval",
                                             "v1: location report period while unlocked",
                                             "setting"),
        f"{V1}/iot/bind": v1_command("v1/iot/bind", "v1IotBind",
                                     "v1: bind the IoT to a vehicle code", "setting"),
    }


def components() -> Schema:
    codes = sorted(MESSAGES)
    return {
        "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "description": "Authorization: bearer <access_token> (scheme case-insensitive)"}},
        "schemas": {
            "StatusData": STATUS_DATA, "LocationData": LOCATION_DATA,
            "ScooterLocationData": SCOOTER_LOCATION_DATA,
            "BatteryInfoData": BATTERY_DATA, "BatteryPack": BATTERY_PACK,
            "BluetoothKeyData": KEY_DATA,
            "VendorCode": {"oneOf": [
                {"properties": {"code": {"const": c}, "msg": {"const": MESSAGES[c]}}}
                for c in codes], "description": "Appendix 1: each code with its text"},
            "ErrorEnvelope": error_envelope("opId"),
            "ErrorEnvelopeResId": error_envelope("resId"),
            "V1ErrorEnvelope": {"allOf": [
                obj({"success": {"const": False}, "code": {"type": "integer"},
                     "message": {"type": "string", "description": "the same text as msg"},
                     "msg": {"type": "string"}, "t": {"type": "integer"},
                     "opId": {"type": "string", "format": "uuid"},
                     "error": {"const": "invalid_token", "description": "15101 only"},
                     "error_description": {"type": "string", "description": "15101 only"}},
                    ["success", "code", "message", "msg", "t", "opId"]),
                ref("VendorCode"),
            ], "description": "a v1 vendor error: HTTP 200, success false, message and msg the "
                              "Appendix-1 text of code; 15101 adds an OAuth-style error key"},
            "OAuthError": obj({"error": {"type": "string"},
                               "error_description": {"type": "string"}},
                              ["error", "error_description"]),
            "HttpError": obj({"timestamp": {"type": "string"}, "status": {"type": "integer"},
                              "error": {"type": "string"}, "message": {"type": "string"},
                              "path": {"type": "string"},
                              "code": {"type": "integer", "description": "the HTTP status"},
                              "msg": {"type": "string", "description": "the message"}},
                             ["timestamp", "status", "error", "message", "path", "code", "msg"],
                             "HTTP-level error, in the shape of Spring Boot's default body, "
                             "with code and msg beside it for strict {code, msg} decoders"),
        },
    }


def spec(version: str) -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Segway API of Gateway (E-bike A200, sharing kick scooter), as served by "
                     "segway-sim",
            "version": version,
            "description": "The vendor surface of the Segway fleet cloud, written from the "
                           "vendor's reference. Every vendor endpoint answers HTTP 200 with "
                           "{code, msg, data, t, opId} (battery-info: resId); code 0 is "
                           "success, any other code is an Appendix-1 error with data null. "
                           "Each operation is tagged with the vehicle models that have it "
                           "(x-segway-models): asked of a vehicle whose model lacks it, it "
                           "answers 15705 \"This feature is not supported on the vehicle\". "
                           "The scooter's operations and the v1 paths (/api/vehicle/..., their "
                           "envelope {success, code, message, msg, ...fields, t, opId}) are "
                           "inferred from public partner clients (FIDELITY.md).",
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "segway-sim serve"},
                    *({"url": f"https://{r}-api.segwaydiscovery.com",
                       "description": f"platform codes starting {r[0].upper()}"}
                      for r in ("apac", "eu", "us", "cn"))],
        "security": [{"bearer": []}],
        "tags": [*({"name": n} for n in ("auth", "query", "control", "setting")),
                 {"name": "v1", "description": "the first generation's paths, on the same host"},
                 *({"name": p.name, "description": f"operations of the {p.title}"}
                   for p in models.PROFILES)],
        "paths": paths(),
        "components": components(),
    }

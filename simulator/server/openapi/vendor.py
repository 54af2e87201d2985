"""The OpenAPI 3.1 description of the vendor surface, written from the reference's tables.

It is built here (shared envelopes, one error schema per Appendix-1 code) and written to
vendor.json by `python -m simulator.server.openapi`; a test keeps the file and this builder in step.
Deliberately not derived from the simulator's own parameter tables: the spec is a second,
independent reading of the reference, so the fuzzer and the route test hold the code to it.
"""

from __future__ import annotations

from typing import Any

from simulator.core.errors import MESSAGES

Schema = dict[str, Any]
EXAMPLE_IMEIS = ["861477038719116", "862785041281554", "8612345678901"]
DEMO_TOKEN = "f3bbd782-04c7-42e5-bed9-524cde3eb415"

Q, C, S = "/api/v2/vehicle/query/current", "/api/v2/vehicle/control", "/api/v2/vehicle/setting"
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


def query(op_id: str, summary: str, data: Schema, msg: str, errors: list[int],
          id_field: str = "opId", extra: list[Schema] | None = None) -> Schema:
    return {"get": {
        "operationId": op_id, "summary": summary, "tags": ["query"],
        "parameters": [{"name": "iotCode", "in": "query", "required": True,
                        "schema": IOT_CODE}, *(extra or [])],
        "responses": {"200": answer(data, msg, id_field, errors)},
        "x-segway-errors": errors,
    }}


def command(op_id: str, summary: str, tag: str, schema: Schema, errors: list[int]) -> Schema:
    return {"post": {
        "operationId": op_id, "summary": summary, "tags": [tag],
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "responses": {
            "200": answer({"type": "null"}, "Success", "opId", errors),
            "413": spring_error(413, "body larger than 64 KiB"),
        },
        "x-segway-errors": errors,
    }}


UPGRADING = [*COMMON_ERRORS, 15500]
NO_TIMEOUT = [e for e in UPGRADING if e != 15302]  # anti-theft, ambient, ... list no 15302

TOKEN = {"post": {
    "operationId": "requestToken", "summary": "request token (OAuth2 client credentials)",
    "tags": ["auth"], "security": [],
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
    battery = query("getBatteryInfo", "get battery info", ref("BatteryInfoData"), "success",
                    COMMON_ERRORS, id_field="resId")
    alias = {"get": {**battery["get"], "operationId": "getBatteryInfoVehiclePath",
                     "summary": "get battery info (the path real clients also call)"}}
    sound_types = enum([2, 3, 10, 11, 12, 13], "2 toot, 10-13 custom sounds 1-4 (3: the "
                                              "reference's own example)")
    return {
        "/oauth/token": TOKEN,
        f"{Q}/status": query("getCurrentStatus", "get current status", ref("StatusData"),
                             "Success", COMMON_ERRORS),
        f"{Q}/location": query(
            "getCurrentLocation", "get current location", ref("LocationData"), "success",
            [*COMMON_ERRORS, 15400],
            extra=[{"name": "realTimeLocation", "in": "query", "required": False,
                    "schema": {"type": "boolean"}}]),
        "/api/v2/mopeds/query/current/battery-info": battery,
        f"{Q}/battery-info": alias,
        f"{Q}/bluetooth-key": query("getBluetoothKey", "get bluetooth key",
                                    ref("BluetoothKeyData"), "success", [*COMMON_ERRORS, 15400]),
        f"{C}/unlock": command("unlock", "unlock", "control", body({}, []),
                               [*UPGRADING, 15611, 15612, 15613, 15614]),
        f"{C}/battery-cover": command("batteryCover", "open the battery cover", "control",
                                      body({}, []), [*UPGRADING, 15635, 15638]),
        f"{C}/sound": command("sound", "sound", "control",
                              body({"controlType": sound_types}, ["controlType"]), UPGRADING),
        f"{C}/mech-lock": command("mechLock", "open the mech lock", "control", body({}, []),
                                  UPGRADING),
        f"{C}/anti-theft": command("antiTheft", "anti-theft alarm off/on", "control",
                                   body({"controlType": enum([1, 2], "1 off, 2 on")},
                                        ["controlType"]), NO_TIMEOUT),
        f"{C}/ambient": command("ambient", "atmosphere lamp effect now", "control",
                                body({"bright": BRIGHT,
                                      "mode": enum([0, 2, 3, 4], "0 Auto 2 Always on "
                                                                 "3 Blinking 4 Breathing"),
                                      "color": COLOR}, ["bright", "mode", "color"]), NO_TIMEOUT),
        f"{C}/wireless-charging": command(
            "wirelessCharging", "wireless phone charging off/on", "control",
            body({"controlType": enum([0, 1], "0 off, 1 on")}, ["controlType"]), NO_TIMEOUT),
        f"{C}/whole-shutdown": command("wholeShutdown", "transport mode (powers off)", "control",
                                       body({}, []), NO_TIMEOUT),
        "/api/v2/ebike/setting/switch": command("switchSetting", "switch setting (A200)",
                                                "setting", SWITCH, UPGRADING),
        f"{S}/ambient": command("atmosphereLampSetting", "atmosphere lamp setting", "setting",
                                AMBIENT_SETTING, UPGRADING),
        f"{S}/sound": command("soundSetting", "sound setting", "setting", SOUND_SETTING,
                              UPGRADING),
        f"{S}/speed-mode": command("speedMode", "speed mode", "setting",
                                   body({"speedMode": enum([1, 2, 3], "1 Exercise, 2 Eco, "
                                                                      "3 Turbo")},
                                        ["speedMode"]), UPGRADING),
        f"{S}/bluetooth-key": command(
            "bluetoothKeySetting", "set the bluetooth key", "setting",
            body({"key": {"type": "string", "pattern": "^[A-Za-z0-9]{8}$"}}, ["key"]),
            UPGRADING),
        f"{S}/interval": command("uploadInterval", "upload interval", "setting",
                                 INTERVAL_SETTING, [*UPGRADING, 15707]),
    }


def components() -> Schema:
    codes = sorted(MESSAGES)
    return {
        "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "description": "Authorization: bearer <access_token> (scheme case-insensitive)"}},
        "schemas": {
            "StatusData": STATUS_DATA, "LocationData": LOCATION_DATA,
            "BatteryInfoData": BATTERY_DATA, "BatteryPack": BATTERY_PACK,
            "BluetoothKeyData": KEY_DATA,
            "VendorCode": {"oneOf": [
                {"properties": {"code": {"const": c}, "msg": {"const": MESSAGES[c]}}}
                for c in codes], "description": "Appendix 1: each code with its text"},
            "ErrorEnvelope": error_envelope("opId"),
            "ErrorEnvelopeResId": error_envelope("resId"),
            "OAuthError": obj({"error": {"type": "string"},
                               "error_description": {"type": "string"}},
                              ["error", "error_description"]),
            "HttpError": obj({"timestamp": {"type": "string"}, "status": {"type": "integer"},
                              "error": {"type": "string"}, "message": {"type": "string"},
                              "path": {"type": "string"}},
                             ["timestamp", "status", "error", "message", "path"],
                             "HTTP-level error, in the shape of Spring Boot's default body"),
        },
    }


def spec(version: str) -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Segway API of Gateway (E-bike A200), as served by segway-sim",
            "version": version,
            "description": "The vendor surface of the Segway fleet cloud, written from the "
                           "vendor's reference. Every vendor endpoint answers HTTP 200 with "
                           "{code, msg, data, t, opId} (battery-info: resId); code 0 is "
                           "success, any other code is an Appendix-1 error with data null.",
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "segway-sim serve"},
                    *({"url": f"https://{r}-api.segwaydiscovery.com",
                       "description": f"platform codes starting {r[0].upper()}"}
                      for r in ("apac", "eu", "us", "cn"))],
        "security": [{"bearer": []}],
        "tags": [{"name": n} for n in ("auth", "query", "control", "setting")],
        "paths": paths(),
        "components": components(),
    }

"""The OpenAPI 3.1 description of the control plane `/_sim/...` (and the dashboard's routes).

Written to control.json by `python -m simulator.server.openapi`. Enumerations come from the core's own
tables (operations, alert and fault codes, push types, chaos actions); the PATCH fields and the
event types are written here and a test holds them to server/control_state.py.
"""

from __future__ import annotations

from typing import Any

from simulator.core.alerts import FAULT_CODES
from simulator.core.errors import MESSAGES
from simulator.core.events import KINDS
from simulator.core.fleet import ALERT_CODES
from simulator.core.vehicle import OPERATIONS
from simulator.push.chaos import ACTIONS
from simulator.push.outbox import OUTCOMES
from simulator.scenarios import NAMES as SCENARIO_NAMES
from simulator.server.openapi.vendor import EXAMPLE_IMEIS, obj, ref

Schema = dict[str, Any]
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
STR: Schema = {"type": "string"}


def nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def json_body(schema: Schema, required: bool = True) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def ok(schema: Schema, what: str = "OK", status: str = "200") -> dict[str, Schema]:
    return {status: {"description": what, "content": {"application/json": {"schema": schema}}}}


def errors(*statuses: int) -> dict[str, Schema]:
    why = {400: "misuse: the field named is wrong (nothing changed)",
           404: "no such vehicle, rule or platform", 409: "conflicts with the current state"}
    return {str(s): {"description": why[s],
                     "content": {"application/json": {"schema": ref("SimError")}}}
            for s in statuses}


def op(op_id: str, summary: str, responses: dict[str, Schema], **more: Any) -> Schema:
    return {"operationId": op_id, "summary": summary, "tags": [more.pop("tag", "control")],
            "responses": responses, **more}


def query(name: str, schema: Schema, desc: str = "") -> Schema:
    out: Schema = {"name": name, "in": "query", "required": False, "schema": schema}
    if desc:
        out["description"] = desc
    return out


def path_param(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


IMEI = {"type": "string", "pattern": "^[0-9]{1,20}$", "examples": EXAMPLE_IMEIS}
PAGE = [query("since", {"type": "integer", "minimum": 0}, "records after this seq, oldest "
                                                         "first"),
        query("limit", {"type": "integer", "minimum": 1, "maximum": 1_000_000})]
BOOL_QUERY = {"type": "string", "enum": ["true", "false", "1", "0"]}
FLAGS = ["activated", "online", "locked", "riding", "upgrading", "dormant", "transport",
         "charging", "plugged", "hasMechLock", "mechLockOpen", "coverOpen", "antiTheft",
         "wirelessCharging", "hasFix", "locationValid"]
# PATCH /_sim/vehicles/{iotCode}: every flag but riding (a rider rides: see events), and values.
PATCH_FIELDS: dict[str, Schema] = {
    **{name: BOOL for name in FLAGS if name != "riding"},
    "powerPercent": {"type": "number", "minimum": 0, "maximum": 100},
    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
    "longitude": {"type": "number", "minimum": -180, "maximum": 180},
    "altitude": {"type": "number", "minimum": -500, "maximum": 9000},
    "satelliteNumber": {"type": "integer", "minimum": 0, "maximum": 99},
    "hdop": {"type": "number", "minimum": 0, "maximum": 99},
    "speedMode": {"type": "integer", "minimum": 1, "maximum": 3},
    "networkSignal": {"type": "integer", "minimum": 2, "maximum": 32},
    "lockVoltage": {"type": "integer", "minimum": 0, "maximum": 9999},
    "iotPercent": {"type": "number", "minimum": 0, "maximum": 100},
    "odometer": {"type": "number", "minimum": 0, "maximum": 1e12},
    "totalRidingSecs": {"type": "number", "minimum": 0, "maximum": 1e12},
    "firmware": {"type": "string", "pattern": r"^\d{1,2}\.\d{1,2}\.\d{1,2}$"},
    "bluetoothKey": {"type": "string", "pattern": "^[A-Za-z0-9]{8}$"},
}
FAULT_CODE = {"oneOf": [{"type": "string", "enum": list(FAULT_CODES)},
                        {"type": "integer", "enum": [int(c) for c in FAULT_CODES
                                                     if c.isdigit()]}]}
ALERT_CODE = {"type": "integer", "enum": list(ALERT_CODES)}
FIRMWARE = PATCH_FIELDS["firmware"]
# POST /_sim/vehicles/{iotCode}/events: type -> its fields.
EVENTS: dict[str, dict[str, Schema]] = {
    "rider-lock": {}, "ride": {"seconds": {"type": "number", "exclusiveMinimum": 0,
                                           "maximum": 86_400}},
    "alert": {"code": ALERT_CODE}, "alert-cleared": {"code": ALERT_CODE},
    "fault": {"code": FAULT_CODE}, "fault-cleared": {"code": FAULT_CODE},
    "charger": {"plugged": BOOL}, "power-on": {}, "offline": {}, "online": {},
    "battery-cover-closed": {}, "upgrade-start": {}, "upgrade-end": {"firmware": FIRMWARE},
}
REQUIRED_EVENT_FIELDS = {"alert": ["code"], "alert-cleared": ["code"], "fault": ["code"],
                         "fault-cleared": ["code"], "charger": ["plugged"]}


def event_schema() -> Schema:
    return {"oneOf": [obj({"type": {"const": kind}, **fields}, ["type", *REQUIRED_EVENT_FIELDS.get(
        kind, [])]) for kind, fields in EVENTS.items()]}


FAULT_RULE_IN = obj({
    "code": nullable({"type": "integer", "enum": sorted(MESSAGES)}),
    "iotCode": nullable({"type": "string", "minLength": 1, "examples": EXAMPLE_IMEIS,
                         "description": "a vehicle the simulator has"}),
    "endpoint": nullable({"type": "string", "enum": list(OPERATIONS)}),
    "platformCode": nullable({"type": "string", "minLength": 1, "examples": ["A20081"],
                              "description": "a platform the simulator has"}),
    "probability": {"type": "number", "minimum": 0, "maximum": 1},
    "times": nullable({"type": "integer", "minimum": 1}),
    "delayMs": {"type": "integer", "minimum": 0, "maximum": 600_000},
}, desc="a vendor code, a delay (wall ms), or both, for the matching vendor requests")
FAULT_RULE_IN["anyOf"] = [{"required": ["code"], "properties": {"code": {"type": "integer"}}},
                          {"required": ["delayMs"], "properties": {"delayMs": {"minimum": 1}}}]
CHAOS_RULE_IN = obj({
    "action": {"type": "string", "enum": list(ACTIONS)},
    "platformCode": nullable({"type": "string", "minLength": 1}),
    "iotCode": nullable({"type": "string", "minLength": 1}),
    "type": nullable({"type": "string", "enum": list(KINDS)}),
    "probability": {"type": "number", "minimum": 0, "maximum": 1},
    "times": nullable({"type": "integer", "minimum": 1}),
    "delaySeconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 86_400},
}, ["action"], "what happens to matching pushes on their way out")


def rule_out(schema: Schema) -> Schema:
    props = {**{k: {key: v for key, v in prop.items() if key not in ("examples", "description")}
                for k, prop in schema["properties"].items()}, "id": INT, "fired": INT}
    return obj(props, list(props), strict=False)


def items(name: str) -> Schema:
    return obj({"items": {"type": "array", "items": ref(name)}}, ["items"], strict=False)


def journal(extra: dict[str, Schema] | None = None) -> Schema:
    props: dict[str, Schema] = {"items": {"type": "array", "items": {"type": "object"}}, "seq": INT,
             "retained": INT, "capacity": INT, **(extra or {})}
    return obj(props, list(props), strict=False)


VEHICLE_LIST_FLAGS = ["online", "locked", "riding", "charging", "activated", "dormant",
                      "upgrading", "transport", "hasAlerts", "hasFaults"]


def paths() -> dict[str, Schema]:
    vehicle = [path_param("iotCode", IMEI)]
    rule_id = [path_param("id", {"type": "string", "pattern": "^[0-9]{1,18}$"})]
    return {
        "/_sim/health": {"get": op("health", "status, vehicle count, clock", ok(ref("Health")))},
        "/_sim/clock": {
            "get": op("getClock", "the virtual clock", ok(ref("Clock"))),
            "post": op("setClock", "advance, speed or pause the clock", {
                **ok(ref("Clock")), **errors(400)},
                requestBody=json_body(obj({
                    "advance": {"type": "number", "minimum": 0, "maximum": 604_800,
                                "description": "virtual seconds to live through now"},
                    "speed": {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000},
                    "paused": BOOL}, desc="at least one field"))),
        },
        "/_sim/reset": {"post": op("reset", "back to the seeded start", {
            **ok(ref("Health")), **errors(400)},
            requestBody=json_body(obj({}), required=False))},
        "/_sim/snapshot": {
            "get": op("getSnapshot", "the whole state", ok({"type": "object"})),
            "put": op("putSnapshot", "restore a state from GET /_sim/snapshot", {
                **ok(ref("Health")), **errors(400)},
                requestBody=json_body({"type": "object"})),
        },
        "/_sim/requests": {"get": op(
            "getRequests", "the journal of vendor API calls (newest, or oldest after since)",
            {**ok(journal()), **errors(400)},
            parameters=[query(n, STR) for n in ("endpoint", "iotCode", "platformCode", "code",
                                                "method", "httpStatus")] + PAGE)},
        "/_sim/faults": {
            "post": op("addFault", "add a fault injection rule", {
                **ok(ref("FaultRule"), "created", "201"), **errors(400)},
                requestBody=json_body(FAULT_RULE_IN)),
            "get": op("listFaults", "the active fault rules", ok(items("FaultRule"))),
            "delete": op("deleteFaults", "remove every fault rule", ok(ref("Deleted"))),
        },
        "/_sim/faults/{id}": {"delete": op("deleteFault", "remove one fault rule", {
            **ok(ref("Deleted")), **errors(404)}, parameters=rule_id)},
        "/_sim/platforms": {
            "get": op("listPlatforms", "tenants", ok(items("Platform"))),
            "post": op("addPlatform", "add a tenant (and vehicles)", {
                **ok(ref("Platform"), "created", "201"), **errors(400, 409)},
                requestBody=json_body(obj({
                    "clientId": {"type": "string", "pattern": "^[AEUC][A-Za-z0-9_.-]{0,63}$"},
                    "clientSecret": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,256}$"},
                    "callbackUrl": nullable({"type": "string", "format": "uri"}),
                    "vehicles": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                }, ["clientId"]))),
        },
        "/_sim/platforms/{clientId}": {"patch": op(
            "patchPlatform", "change a tenant's secret or callback URL",
            {**ok(ref("Platform")), **errors(400, 404)},
            parameters=[path_param("clientId", {"type": "string", "examples": ["A20081"]})],
            requestBody=json_body(obj({
                "clientSecret": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,256}$"},
                "callbackUrl": nullable({"type": "string", "format": "uri"})})))},
        "/_sim/vehicles": {
            "get": op("listVehicles", "vehicles, filtered and paged", {
                **ok(obj({"total": INT, "offset": INT, "limit": INT,
                          "items": {"type": "array", "items": ref("VehicleSummary")}},
                         ["total", "offset", "limit", "items"])), **errors(400)},
                parameters=[query("platformCode", STR),
                            query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                            query("offset", {"type": "integer", "minimum": 0}),
                            *(query(n, BOOL_QUERY) for n in VEHICLE_LIST_FLAGS)]),
            "post": op("createVehicle", "add a healthy vehicle (any state field optional)", {
                **ok(ref("Vehicle"), "created", "201"), **errors(400, 409)},
                requestBody=json_body(obj({"platformCode": {"type": "string",
                                                            "examples": ["A20081"]},
                                           "iotCode": IMEI,
                                           **PATCH_FIELDS}), required=False)),
        },
        "/_sim/vehicles/{iotCode}": {
            "get": op("getVehicle", "full state incl. settings and active faults", {
                **ok(ref("Vehicle")), **errors(404)}, parameters=vehicle),
            "patch": op("patchVehicle", "set state fields; the vehicle reacts (pushes)", {
                **ok(ref("Vehicle")), **errors(400, 404)}, parameters=vehicle,
                requestBody=json_body(obj(PATCH_FIELDS))),
        },
        "/_sim/vehicles/{iotCode}/events": {"post": op(
            "vehicleEvent", "something happens to the vehicle", {
                **ok(ref("Vehicle")), **errors(400, 404, 409)},
            parameters=vehicle, requestBody=json_body(event_schema()))},
        "/_sim/pushes": {"get": op(
            "getPushes", "the journal of push attempts", {
                **ok(journal({"counters": {"type": "object"}, "pending": INT})),
                **errors(400)}, tag="pushes",
            parameters=[query("type", {"type": "string", "enum": list(KINDS)}),
                        query("iotCode", STR), query("platformCode", STR),
                        query("outcome", {"type": "string", "enum": list(OUTCOMES)}),
                        query("attempt", {"type": "string", "enum": ["1", "2"]}),
                        query("chaos", STR), *PAGE])},
        "/_sim/push-chaos": {
            "post": op("addPushChaos", "add a push chaos rule", {
                **ok(ref("ChaosRule"), "created", "201"), **errors(400)}, tag="pushes",
                requestBody=json_body(CHAOS_RULE_IN)),
            "get": op("listPushChaos", "the push chaos rules", ok(items("ChaosRule")),
                      tag="pushes"),
            "delete": op("deletePushChaos", "remove every push chaos rule", ok(ref("Deleted")),
                         tag="pushes"),
        },
        "/_sim/push-chaos/{id}": {"delete": op("deletePushChaosRule", "remove one chaos rule", {
            **ok(ref("Deleted")), **errors(404)}, parameters=rule_id, tag="pushes")},
        **scenario_paths(),
        **dashboard_paths(),
        **{f"/_sim/openapi/{n}.json": {"get": op(
            f"openapi{n.title()}", f"this OpenAPI description of the {n} surface",
            ok({"type": "object"}), tag="meta")} for n in ("vendor", "control")},
    }


SCENARIO_NAME = [path_param("name", {"type": "string", "enum": list(SCENARIO_NAMES)})]
SCENARIO_STATUS = {"type": "string", "enum": ["idle", "running", "passed", "failed", "error",
                                              "cancelled"]}


def scenario_paths() -> dict[str, Schema]:
    start = obj({
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        "vehicles": {"type": "integer", "minimum": 1, "maximum": 100_000,
                     "description": "fleet size (default: the story's own)"},
        "speed": nullable({"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000,
                           "description": "virtual s per wall s while the run moves a paused "
                                          "clock (default: as fast as possible)"}),
        "callbackUrl": {"type": "string", "format": "uri",
                        "description": "default: the demo platform's, else a receiver of the "
                                       "run's own"},
    })
    return {
        "/_sim/scenarios": {"get": op("listScenarios", "the scenario library, each with its "
                                      "latest run", ok(items("ScenarioSummary")),
                                      tag="scenarios")},
        "/_sim/scenarios/{name}": {
            "get": op("getScenario", "a scenario's latest run: progress, counters, notes, "
                      "outcomes", {**ok(ref("ScenarioRun")), **errors(404)},
                      parameters=SCENARIO_NAME, tag="scenarios"),
            "post": op("startScenario", "play a scenario against this simulator (one at a "
                       "time)", {**ok(ref("ScenarioRun"), "started", "202"),
                                 **errors(400, 404, 409)},
                       parameters=SCENARIO_NAME, requestBody=json_body(start, required=False),
                       tag="scenarios"),
            "delete": op("stopScenario", "stop the running scenario", {
                **ok(ref("ScenarioRun")), **errors(404, 409)}, parameters=SCENARIO_NAME,
                tag="scenarios"),
        },
    }


def page(content_type: str, what: str) -> dict[str, Schema]:
    return {"200": {"description": what, "content": {content_type: {"schema": STR}}}}


def dashboard_paths() -> dict[str, Schema]:
    missing = {"404": {"description": "no such file", "content": {
        "application/json": {"schema": ref("HttpError")}}}}
    assets = {ct: {"schema": STR} for ct in ("text/html", "text/javascript", "text/css",
                                              "image/svg+xml", "image/png")}
    return {
        "/": {"get": op("dashboard", "the dashboard page", page("text/html", "the page"),
                        tag="dashboard")},
        "/dashboard/": {"get": op("dashboardPage", "the dashboard page",
                                  page("text/html", "the page"), tag="dashboard")},
        "/dashboard/{name}": {"get": op(
            "dashboardAsset", "a file of the dashboard",
            {"200": {"description": "the file", "content": assets}, **missing},
            parameters=[path_param("name", {"type": "string", "examples": ["live.js"]})],
            tag="dashboard")},
        "/_sim/live": {"get": op("liveStream", "what happens, as server-sent events",
                                 page("text/event-stream", "an endless event stream"),
                                 tag="dashboard")},
        "/_sim/live/vehicles/{iotCode}": {"get": op(
            "vehiclePanel", "the dashboard's vehicle panel data", {
                **ok({"type": "object"}), **errors(404)},
            parameters=[path_param("iotCode", IMEI)], tag="dashboard")},
    }


def components() -> Schema:
    clock = obj({"now": NUM, "nowMs": INT, "speed": NUM, "paused": BOOL},
                ["now", "nowMs", "speed", "paused"])
    return {"schemas": {
        "SimError": obj({"error": STR, "field": nullable(STR)}, ["error", "field"],
                        "the control plane's own error: what is wrong, and with which field"),
        "HttpError": obj({"timestamp": STR, "status": INT, "error": STR, "message": STR,
                          "path": STR}, ["timestamp", "status", "error", "message", "path"]),
        "Clock": clock,
        "Health": obj({"status": {"const": "ok"}, "vehicles": INT, "platforms": INT,
                       "clock": ref("Clock")}, ["status", "vehicles", "clock"], strict=False),
        "Deleted": obj({"deleted": {"type": "integer", "minimum": 0}}, ["deleted"]),
        "FaultRule": rule_out(FAULT_RULE_IN),
        "ChaosRule": rule_out(CHAOS_RULE_IN),
        "Platform": obj({"clientId": STR, "clientSecret": STR, "callbackUrl": nullable(STR),
                         "region": STR, "city": STR, "vehicles": INT},
                        ["clientId", "clientSecret", "callbackUrl", "vehicles"], strict=False),
        "ScenarioSummary": obj({
            "name": {"type": "string", "enum": list(SCENARIO_NAMES)}, "description": STR,
            "status": SCENARIO_STATUS, "progress": {"type": "number", "minimum": 0,
                                                    "maximum": 1}},
            ["name", "description", "status", "progress"]),
        "ScenarioRun": obj({
            "name": STR, "description": STR, "status": SCENARIO_STATUS,
            "progress": {"type": "number", "minimum": 0, "maximum": 1}, "seed": INT,
            "vehicles": INT, "duration": NUM, "mode": nullable({"enum": ["drive", "follow"]}),
            "platformCode": nullable(STR), "startedAt": nullable(NUM), "elapsed": NUM,
            "counters": {"type": "object", "additionalProperties": INT},
            "notes": {"type": "array", "items": obj({"t": NUM, "text": STR}, ["t", "text"])},
            "outcomes": {"type": "array", "items": obj({
                "what": STR, "ok": BOOL, "expected": STR, "observed": STR},
                ["what", "ok", "expected", "observed"])},
            "error": nullable(STR)},
            ["name", "status", "progress", "seed", "vehicles", "duration", "counters",
             "notes", "outcomes"], "a scenario's latest run on this simulator"),
        "VehicleSummary": obj({
            "iotCode": STR, "platformCode": STR, "powerPercent": NUM, "latitude": NUM,
            "longitude": NUM, "alerts": {"type": "array", "items": INT},
            "faults": {"type": "array", "items": STR},
            **{f: BOOL for f in ("activated", "online", "locked", "riding", "charging",
                                 "dormant", "upgrading", "transport")}},
            ["iotCode", "platformCode", "online", "locked"], strict=False),
        "Vehicle": obj({
            "iotCode": STR, "platformCode": STR, "firmware": STR,
            **{f: BOOL for f in FLAGS}, "commandInFlight": BOOL,
            "alerts": {"type": "array", "items": INT},
            "faults": {"type": "array", "items": STR},
            "status": {"type": "object"}, "location": {"type": "object"},
            "battery": {"type": "object"}, "settings": {"type": "object"},
            "lastActive": NUM, "columns": {"type": "object"}, "extras": {"type": "object"},
        }, ["iotCode", "platformCode", "firmware", *FLAGS, "alerts", "faults", "status",
            "location", "battery", "settings"], "full state: flags, readings (as the vendor "
                                                "queries answer them), settings, raw columns",
            strict=False),
    }}


def spec(version: str) -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {"title": "segway-sim control plane", "version": version,
                 "description": "The simulator's own JSON API under /_sim/ (clock, faults, "
                                "state, journals, tenants) and the dashboard's routes. Strict: "
                                "misuse answers 400/404/409 with {error, field} and changes "
                                "nothing. Not part of the vendor surface."},
        "servers": [{"url": "http://127.0.0.1:8080", "description": "segway-sim serve"}],
        "tags": [{"name": n} for n in ("control", "pushes", "scenarios", "dashboard",
                                        "meta")],
        "paths": paths(),
        "components": components(),
    }

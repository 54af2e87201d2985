"""The OpenAPI 3.1 description of the control plane `/_sim/...` (and the dashboard's routes).

Written to control.json by `python -m simulator.server.openapi`. Every body and query string is
the JSON Schema of the model the server validates it with (server/control_models.py), and every
answer the schema of its model (control_answers.py), so the description cannot drift from the
validation; what is written here is the route table: which operation takes and answers what.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from simulator.scenarios import NAMES as SCENARIO_NAMES
from simulator.server import control_models as cm
from simulator.server.openapi import control_answers as answers
from simulator.server.openapi.vendor import EXAMPLE_IMEIS, ref

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"
BODIES: tuple[type[BaseModel], ...] = (
    cm.ClockChange, cm.Reset, cm.FaultRuleIn, cm.ChaosRuleIn, cm.PlatformCreate,
    cm.PlatformPatch, cm.VehicleCreate, cm.VehiclePatch, cm.ScenarioStart)
EVENT_UNION = "VehicleEvent"


def _tidy(schema: Any) -> Any:
    """Drop what pydantic adds for python's sake: titles, and the `null` default of a field
    that is optional but never null (absent means "leave it")."""
    if isinstance(schema, list):
        return [_tidy(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: Schema = {}
    for key, value in schema.items():
        if key == "title" or (key == "default" and value is None):
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _tidy(sub) for name, sub in value.items()}
        else:
            out[key] = _tidy(value)
    return out


def _split(schema: Schema, into: Schema) -> Schema:
    """Move the `$defs` of `schema` into the components `into`; returns the rest."""
    into.update(_tidy(schema.pop("$defs", {})))
    rest: Schema = _tidy(schema)
    return rest


def model_schemas() -> Schema:
    out: Schema = {}
    for model in (*BODIES, *answers.ANSWERS):
        out[model.__name__] = _split(model.model_json_schema(ref_template=REF), out)
    out[EVENT_UNION] = _split(TypeAdapter(cm.VehicleEvent).json_schema(ref_template=REF), out)
    return out


def query_params(model: type[BaseModel]) -> list[Schema]:
    """One optional query parameter per field of a query model."""
    params = []
    for name, prop in _tidy(model.model_json_schema())["properties"].items():
        desc = prop.pop("description", "")
        param: Schema = {"name": name, "in": "query", "required": False, "schema": prop}
        if desc:
            param["description"] = desc
        params.append(param)
    return params


def json_body(model: type[BaseModel] | str, required: bool = True) -> Schema:
    schema = ref(model if isinstance(model, str) else model.__name__)
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def ok(schema: Schema, what: str = "OK", status: str = "200") -> dict[str, Schema]:
    return {status: {"description": what, "content": {"application/json": {"schema": schema}}}}


def answer(model: type[BaseModel], what: str = "OK", status: str = "200") -> dict[str, Schema]:
    return ok(ref(model.__name__), what, status)


def errors(*statuses: int) -> dict[str, Schema]:
    why = {400: "misuse: the field named is wrong (nothing changed)",
           404: "no such vehicle, rule or platform", 409: "conflicts with the current state",
           503: "the state file cannot be written now (the previous one stays)",
           403: "another site's Origin (server/guard.py)",
           415: "a body not declared application/json (server/guard.py)"}
    return {str(s): {"description": why[s],
                     "content": {"application/json": {"schema": ref("SimError")}}}
            for s in statuses}


def op(op_id: str, summary: str, responses: dict[str, Schema], **more: Any) -> Schema:
    if "requestBody" in more:  # what the guard answers before the route: docs/control-plane.md
        responses = {**responses, **errors(403, 415)}
    return {"operationId": op_id, "summary": summary, "tags": [more.pop("tag", "control")],
            "responses": responses, **more}


def path_param(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def items(name: str) -> Schema:
    return {"type": "object", "properties": {"items": {"type": "array", "items": ref(name)}},
            "required": ["items"]}


def rule_out(schema: Schema) -> Schema:
    """A rule as answered: what a caller may set (descriptions aside), its id and fired count."""
    props = {**{k: {key: v for key, v in prop.items() if key not in ("examples", "description")}
                for k, prop in schema["properties"].items()},
             "id": {"type": "integer"}, "fired": {"type": "integer"}}
    return {"type": "object", "properties": props, "required": list(props)}


IMEI = {"type": "string", "pattern": cm.IMEI, "examples": EXAMPLE_IMEIS}
VEHICLE = [path_param("iotCode", IMEI)]
RULE_ID = [path_param("id", {"type": "string", "pattern": "^[0-9]{1,18}$"})]
SCENARIO = [path_param("name", {"type": "string", "enum": list(SCENARIO_NAMES)})]
ANY_OBJECT: Schema = {"type": "object"}


def control_paths() -> dict[str, Schema]:
    return {
        "/_sim/health": {"get": op("health", "status, vehicle count, clock",
                                   answer(answers.Health))},
        "/_sim/models": {"get": op("listModels", "the vehicle models, each with its vendor "
                                                 "operations and their parameters",
                                   answer(answers.Models))},
        "/_sim/clock": {
            "get": op("getClock", "the virtual clock", answer(answers.Clock)),
            "post": op("setClock", "advance, speed or pause the clock", {
                **answer(answers.Clock), **errors(400)}, requestBody=json_body(cm.ClockChange)),
        },
        "/_sim/reset": {"post": op("reset", "back to the seeded start", {
            **answer(answers.Health), **errors(400)},
            requestBody=json_body(cm.Reset, required=False))},
        "/_sim/snapshot": {
            "get": op("getSnapshot", "the whole state", ok(ANY_OBJECT)),
            # The document checks itself, column by column (simulator/snapshot.py).
            "put": op("putSnapshot", "restore a state from GET /_sim/snapshot", {
                **answer(answers.Health), **errors(400)},
                requestBody={"required": True,
                             "content": {"application/json": {"schema": ANY_OBJECT}}}),
        },
        "/_sim/snapshot/save": {"post": op(
            "saveSnapshot", "write the state directory now (409 without serve --state-dir)", {
                **answer(answers.Saved), **errors(400, 409, 503)},
            requestBody=json_body(cm.Reset, required=False))},
        "/_sim/requests": {"get": op(
            "getRequests", "the journal of vendor API calls (newest, or oldest after since)",
            {**answer(answers.Journal), **errors(400)},
            parameters=query_params(cm.RequestsQuery))},
        "/_sim/faults": {
            "post": op("addFault", "add a fault injection rule", {
                **ok(ref("FaultRule"), "created", "201"), **errors(400)},
                requestBody=json_body(cm.FaultRuleIn)),
            "get": op("listFaults", "the active fault rules", ok(items("FaultRule"))),
            "delete": op("deleteFaults", "remove every fault rule", answer(answers.Deleted)),
        },
        "/_sim/faults/{id}": {"delete": op("deleteFault", "remove one fault rule", {
            **answer(answers.Deleted), **errors(404)}, parameters=RULE_ID)},
        "/_sim/platforms": {
            "get": op("listPlatforms", "tenants", ok(items("Platform"))),
            "post": op("addPlatform", "add a tenant (and vehicles)", {
                **answer(answers.Platform, "created", "201"), **errors(400, 409)},
                requestBody=json_body(cm.PlatformCreate)),
        },
        "/_sim/platforms/{clientId}": {"patch": op(
            "patchPlatform", "change a tenant's secret or callback URL",
            {**answer(answers.Platform), **errors(400, 404)},
            parameters=[path_param("clientId", {"type": "string", "examples": ["A20081"]})],
            requestBody=json_body(cm.PlatformPatch))},
        "/_sim/vehicles": {
            "get": op("listVehicles", "vehicles, filtered and paged", {
                **answer(answers.VehicleList), **errors(400)},
                parameters=query_params(cm.VehicleListQuery)),
            "post": op("createVehicle", "add a healthy vehicle (any state field optional)", {
                **answer(answers.Vehicle, "created", "201"), **errors(400, 409)},
                requestBody=json_body(cm.VehicleCreate, required=False)),
        },
        "/_sim/vehicles/{iotCode}": {
            "get": op("getVehicle", "full state incl. settings and active faults", {
                **answer(answers.Vehicle), **errors(404)}, parameters=VEHICLE),
            "patch": op("patchVehicle", "set state fields; the vehicle reacts (pushes)", {
                **answer(answers.Vehicle), **errors(400, 404)}, parameters=VEHICLE,
                requestBody=json_body(cm.VehiclePatch)),
        },
        "/_sim/vehicles/{iotCode}/events": {"post": op(
            "vehicleEvent", "something happens to the vehicle", {
                **answer(answers.Vehicle), **errors(400, 404, 409)},
            parameters=VEHICLE, requestBody=json_body(EVENT_UNION))},
    }


def push_paths() -> dict[str, Schema]:
    return {
        "/_sim/pushes": {"get": op(
            "getPushes", "the journal of push attempts", {
                **answer(answers.PushJournal), **errors(400)}, tag="pushes",
            parameters=query_params(cm.PushesQuery))},
        "/_sim/pushes/settle": {"post": op(
            "settlePushes", "wait until every push already due has been attempted (delivered, "
            "or refused with its retry scheduled)", {**answer(answers.Settled), **errors(400, 409)},
            tag="pushes", parameters=query_params(cm.SettleQuery))},
        "/_sim/push-chaos": {
            "post": op("addPushChaos", "add a push chaos rule", {
                **ok(ref("ChaosRule"), "created", "201"), **errors(400)}, tag="pushes",
                requestBody=json_body(cm.ChaosRuleIn)),
            "get": op("listPushChaos", "the push chaos rules", ok(items("ChaosRule")),
                      tag="pushes"),
            "delete": op("deletePushChaos", "remove every push chaos rule",
                         answer(answers.Deleted), tag="pushes"),
        },
        "/_sim/push-chaos/{id}": {"delete": op("deletePushChaosRule", "remove one chaos rule", {
            **answer(answers.Deleted), **errors(404)}, parameters=RULE_ID, tag="pushes")},
    }


def scenario_paths() -> dict[str, Schema]:
    return {
        "/_sim/scenarios": {"get": op("listScenarios", "the scenario library, each with its "
                                      "latest run", ok(items("ScenarioSummary")),
                                      tag="scenarios")},
        "/_sim/scenarios/{name}": {
            "get": op("getScenario", "a scenario's latest run: progress, counters, notes, "
                      "outcomes", {**answer(answers.ScenarioRun), **errors(404)},
                      parameters=SCENARIO, tag="scenarios"),
            "post": op("startScenario", "play a scenario against this simulator (one at a "
                       "time)", {**answer(answers.ScenarioRun, "started", "202"),
                                 **errors(400, 404, 409)},
                       parameters=SCENARIO, requestBody=json_body(cm.ScenarioStart, False),
                       tag="scenarios"),
            "delete": op("stopScenario", "stop the running scenario", {
                **answer(answers.ScenarioRun), **errors(404, 409)}, parameters=SCENARIO,
                tag="scenarios"),
        },
    }


def page(content_type: str, what: str) -> dict[str, Schema]:
    return {"200": {"description": what, "content": {content_type: {"schema": {
        "type": "string"}}}}}


def dashboard_paths() -> dict[str, Schema]:
    missing = {"404": {"description": "no such file", "content": {
        "application/json": {"schema": ref("HttpError")}}}}
    assets = {ct: {"schema": {"type": "string"}} for ct in (
        "text/html", "text/javascript", "text/css", "image/svg+xml", "image/png")}
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
                **ok(ANY_OBJECT), **errors(404)}, parameters=VEHICLE, tag="dashboard")},
    }


def paths() -> dict[str, Schema]:
    return {
        **control_paths(),
        **push_paths(),
        **scenario_paths(),
        **dashboard_paths(),
        "/metrics": {"get": op(
            "metrics", "counters, latency histograms and gauges of this simulator for Prometheus "
            "to scrape (docs/metrics.md)",
            page("text/plain; version=0.0.4", "the Prometheus text format, version 0.0.4"),
            tag="meta")},
        **{f"/_sim/openapi/{n}.json": {"get": op(
            f"openapi{n.title()}", f"this OpenAPI description of the {n} surface",
            ok(ANY_OBJECT), tag="meta")} for n in ("vendor", "control")},
    }


def components() -> Schema:
    schemas = model_schemas()
    schemas["FaultRule"] = rule_out(schemas["FaultRuleIn"])
    schemas["ChaosRule"] = rule_out(schemas["ChaosRuleIn"])
    return {"schemas": dict(sorted(schemas.items()))}


def spec(version: str) -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {"title": "segway-sim control plane", "version": version,
                 "description": "The simulator's own JSON API under /_sim/ (clock, faults, "
                                "state, journals, tenants) and the dashboard's routes. Strict: "
                                "misuse answers 400/404/409 with {error, field} and changes "
                                "nothing. Not part of the vendor surface. /metrics: for "
                                "Prometheus."},
        "servers": [{"url": "http://127.0.0.1:8080", "description": "segway-sim serve"}],
        "tags": [{"name": n} for n in ("control", "pushes", "scenarios", "dashboard",
                                        "meta")],
        "paths": paths(),
        "components": components(),
    }

"""The OpenAPI descriptions: valid 3.1, up to date, served, in step with the route tables, the
parameter tables and the vehicle models, and describing what the simulator actually answers (for
a vehicle of each model)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

# Appendix 1 as the contract suite wrote it down from the reference, not the simulator's table
from simulator.contract.surface import MESSAGES
from simulator.core import models, params
from simulator.core.fleet import COLUMNS
from simulator.server import control_state, openapi, vendor_v1
from simulator.server.app import create_app
from simulator.server.vendor import ROUTES as V2_ROUTES
from simulator.sim import Config, Simulator
from simulator.world.physics import PhysicsConfig
from tests.helpers.openapi import CONTROL, VENDOR, response_validator
from tests.helpers.vendor import AUTH

ROUTES = [*V2_ROUTES, *vendor_v1.ROUTES]
MIX = (("a200", 50.0), ("scooter", 50.0))
A200_IMEI = "861477038719116"  # the reference's example IMEIs take the first model named


@pytest.fixture
def config() -> Config:
    """A fleet of both models: every answer is checked for a vehicle of each."""
    return Config(seed=7, vehicles=20, paused=True, riders=False, physics=PhysicsConfig.quiet(),
                  models=MIX)


def first_of(sim: Simulator, model: str) -> str:
    rows = (sim.fleet.model == models.INDEX[model]).nonzero()[0]
    return str(sim.fleet.imeis[int(rows[0])])


def operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}


def routes(app: Any) -> set[tuple[str, str]]:
    # aiohttp adds HEAD beside each GET by itself; it is not a route anyone declared. The
    # catch-all ("*") only answers 404 and 405 for what no declared route takes.
    return {(r.method, r.resource.canonical) for r in app.router.routes()
            if r.method not in ("HEAD", "*")}


@pytest.mark.parametrize("name", openapi.NAMES)
def test_each_description_is_valid_openapi_3_1(name: str) -> None:
    spec = openapi.load(name)
    assert spec["openapi"] == "3.1.0"
    validate(spec)


@pytest.mark.parametrize("name", openapi.NAMES)
def test_shipped_files_are_what_the_builders_write(name: str) -> None:
    assert openapi.raw(name).decode() == openapi.render(openapi.build(name)), (
        f"{name}.json is stale: run python -m simulator.server.openapi")


def test_every_route_is_described_and_every_description_is_routed() -> None:
    app = create_app(Simulator(Config(vehicles=3)), pace=False)
    described = operations(VENDOR) | operations(CONTROL)
    served = routes(app)
    assert served - described == set(), "routes missing from the OpenAPI files"
    assert described - served == set(), "described operations no route serves"


def test_the_vendor_description_covers_exactly_the_vendor_route_tables() -> None:
    """Both route tables: the v2 surface and the first generation's paths (vendor_v1)."""
    assert operations(VENDOR) == {(method, path) for method, path, _, _ in ROUTES}
    assert {("GET", "/api/vehicle/query/version"), ("POST", "/api/v2/vehicle/control/lock"),
            ("POST", "/api/vehicle/control/battery/cover")} <= operations(VENDOR)
    assert not any(path.startswith("/_sim") for _, path in operations(VENDOR))


@pytest.mark.parametrize(("method", "path", "op"), [(m, p, o) for m, p, _, o in ROUTES],
                         ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_operation_is_tagged_with_the_models_that_have_it(method: str, path: str,
                                                                op: str) -> None:
    described = VENDOR["paths"][path][method.lower()]
    having = [p.name for p in models.PROFILES if op == "token" or p.supports(op)]
    assert having, f"{op}: no model has it"
    assert described["x-segway-operation"] == op
    assert described["x-segway-models"] == having
    assert [t for t in described["tags"] if t in models.BY_NAME] == having
    # 15705 is listed exactly where some model lacks the operation
    assert (15705 in described.get("x-segway-errors", [])) == (len(having) < len(models.PROFILES))
    assert {t["name"] for t in VENDOR["tags"]} >= set(described["tags"])


@pytest.mark.parametrize("name", openapi.NAMES)
async def test_descriptions_are_served(client: TestClient, name: str) -> None:
    resp = await client.get(f"/_sim/openapi/{name}.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.read() == openapi.raw(name)


# -- the vendor description and the simulator's parameter tables: two readings, one reference --


def allowed(spec: dict[str, Any]) -> set[int] | None:
    """The integers a schema admits (None: not an integer rule)."""
    if "enum" in spec:
        return set(spec["enum"])
    if spec.get("type") == "integer" and "minimum" in spec:
        return set(range(spec["minimum"], spec["maximum"] + 1))
    return None


def compare_rule(path: str, rule: Any, schema: dict[str, Any]) -> None:
    if isinstance(rule, params.Obj):
        props = schema["properties"]
        assert set(props) == set(rule.fields), path
        required = {n for n, r in rule.fields.items() if r.required}
        assert set(schema.get("required", [])) == required, path
        for name, sub in rule.fields.items():
            compare_rule(f"{path}.{name}", sub, props[name])
    elif isinstance(rule, params.Int):
        assert allowed(schema) == set(rule.allowed), path
    else:
        assert schema["type"] == "string", path
        assert schema["pattern"].strip("^$") == rule.pattern.pattern.replace(r"\d", "[0-9]"), path


def body_of(op: str, model: str) -> dict[str, Any]:
    """The body schema a vehicle of `model` is held to: its own branch where models differ."""
    path = next(p for _, p, _, o in ROUTES if o == op)
    schema: dict[str, Any] = (
        VENDOR["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"])
    if "anyOf" in schema and "properties" not in schema:
        (schema,) = [s for s in schema["anyOf"] if s["x-segway-model"] == model]
        assert schema["title"] == model
    return schema


@pytest.mark.parametrize("op", sorted(params.BODIES))
def test_vendor_bodies_agree_with_the_parameter_tables(op: str) -> None:
    compare_rule(op, params.BODIES[op], body_of(op, "a200"))


@pytest.mark.parametrize(("model", "op"), [(p.name, op) for p in models.PROFILES
                                           for op in sorted(p.bodies)])
def test_vendor_bodies_agree_with_each_models_profile(model: str, op: str) -> None:
    compare_rule(f"{model} {op}", models.BY_NAME[model].bodies[op], body_of(op, model))


def test_parameters_that_differ_by_model_are_described_for_each() -> None:
    sound = {m: set(body_of("sound", m)["properties"]["controlType"]["enum"])
             for m in ("a200", "scooter")}
    assert 1 in sound["scooter"] and 1 not in sound["a200"]
    assert "volume" in body_of("setting/sound", "a200")["required"]
    assert "volume" not in body_of("setting/sound", "scooter")["required"]
    light = body_of("light", "scooter")
    assert light["anyOf"] == [{"required": ["headLight"]}, {"required": ["tailLight"]}]
    location = VENDOR["components"]["schemas"]["ScooterLocationData"]
    assert "gpsUTCTime" in location["required"] and "gpsUtcTime" not in location["properties"]


# -- the control description and the control plane's models and domain tables ---------------


def test_control_patch_fields_and_events_agree_with_the_control_plane() -> None:
    from simulator.server import control_models
    from simulator.world import happenings, overrides

    patch = CONTROL["components"]["schemas"]["VehiclePatch"]["properties"]
    assert set(patch) == {f.alias or n for n, f in control_models.VehiclePatch.model_fields.items()}
    # every PATCH field is a fleet column the world knows how to set
    assert {n for n in control_models.VehiclePatch.model_fields} <= set(COLUMNS)
    events = CONTROL["components"]["schemas"]["VehicleEvent"]["discriminator"]["mapping"]
    assert set(events) == set(happenings.HAPPENINGS)
    assert [control_state.FLAGS[n] for n in control_state.FLAGS] == list(overrides.FLAGS)


# -- what the simulator answers is what the description says ----------------------------------


QUERIES = [(p, o) for m, p, _, o in ROUTES if m == "GET"]


@pytest.mark.parametrize(("path", "op"), QUERIES, ids=[p for p, _ in QUERIES])
async def test_every_vehicle_answers_queries_as_described(path: str, op: str) -> None:
    from aiohttp.test_utils import TestServer

    sim = Simulator(Config(seed=3, vehicles=60, paused=True, riders=False, models=MIX))
    f = sim.fleet  # besides the seed's variety, one of each awkward state for certain, per model
    for model in range(len(models.PROFILES)):
        rows = [int(r) for r in (f.model == model).nonzero()[0] if r >= 3][:6]
        for row, (column, value) in zip(rows, (
                ("activated", False), ("online", False), ("dormant", True), ("has_fix", False),
                ("upgrading", True), ("charging", True)), strict=True):
            f.column(column)[row] = value
    validator = response_validator(VENDOR, path, "get")
    codes, fields = set(), set()
    async with TestClient(TestServer(create_app(sim, pace=False), host="127.0.0.1")) as c:
        for imei in [*f.imeis, "000000000000000", "", "x"]:
            # the v1 paths name the vehicle twice; a code it is not bound to is 15304
            for extra in ({"vehicleCode": imei}, {"vehicleCode": "other"}) if op.startswith(
                    "v1/") else ({},):
                resp = await c.get(path, params={"iotCode": imei, **extra}, headers=AUTH)
                body = await resp.json()
                validator.validate(body)
                codes.add(body["code"])
                fields |= set(body.get("data") or body)
    assert {0, 15004, 15102, 15300} <= codes
    if not all(p.supports(op) for p in models.PROFILES):
        assert 15705 in codes  # asked of a vehicle whose model lacks it
    if op.startswith("v1/"):
        assert 15304 in codes
    if op == "location":  # each model's spelling, each as described
        assert {"gpsUtcTime", "gpsUTCTime"} <= fields


COMMAND_OPS = sorted({op for p in models.PROFILES for op in p.bodies})
BODY_FIELDS = sorted({name for p in models.PROFILES for spec in p.bodies.values()
                      for name in spec.fields})


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(COMMAND_OPS),
       body=st.dictionaries(st.sampled_from(BODY_FIELDS),
                            st.one_of(st.integers(-2, 70000), st.text(max_size=9),
                                      st.booleans(), st.none(), st.just(A200_IMEI)),
                            max_size=5),
       vendor_code=st.sampled_from(sorted(MESSAGES)))
async def test_any_command_answer_is_as_described(client: TestClient, sim: Simulator, op: str,
                                                  body: dict[str, Any], vendor_code: int) -> None:
    """Any body, to a vehicle of each model (the v1 paths with its own vehicleCode too)."""
    path = next(p for _, p, _, o in ROUTES if o == op)
    validator = response_validator(VENDOR, path, "post")
    for imei in (A200_IMEI, first_of(sim, "scooter")):
        for payload in (body, {**body, "iotCode": imei}, {**body, "iotCode": imei,
                                                          "vehicleCode": imei}):
            resp = await client.post(path, json=payload, headers=AUTH)
            assert resp.status == 200
            validator.validate(await resp.json())
    # An injected fault answers any Appendix-1 code, which the description allows too.
    having = next(p.name for p in models.PROFILES if op in p.bodies)
    imei = A200_IMEI if having == "a200" else first_of(sim, having)
    await client.post("/_sim/faults", json={"code": vendor_code, "endpoint": op, "times": 1})
    resp = await client.post(path, json={"iotCode": imei, "vehicleCode": imei}, headers=AUTH)
    answer = await resp.json()
    validator.validate(answer)
    await client.delete("/_sim/faults")


@pytest.mark.parametrize("model", list(models.NAMES))
async def test_an_operation_a_model_lacks_answers_15705_as_described(
        client: TestClient, sim: Simulator, model: str) -> None:
    imei = first_of(sim, model)
    lacking = [(m, p, o) for m, p, _, o in ROUTES if o != "token"
               and model not in VENDOR["paths"][p][m.lower()]["x-segway-models"]]
    assert lacking
    for method, path, _ in lacking:
        validator = response_validator(VENDOR, path, method.lower())
        if method == "GET":
            resp = await client.get(path, params={"iotCode": imei, "vehicleCode": imei},
                                    headers=AUTH)
        else:
            resp = await client.post(path, json={"iotCode": imei, "vehicleCode": imei},
                                     headers=AUTH)
        answer = await resp.json()
        validator.validate(answer)
        assert (resp.status, answer["code"], answer["msg"]) == (
            200, 15705, "This feature is not supported on the vehicle"), path


async def test_too_large_a_body_answers_413_as_described(client: TestClient) -> None:
    for path in ("/api/v2/vehicle/control/lock", "/api/vehicle/control/toot"):
        resp = await client.post(path, data=b"{" + b" " * 70_000 + b"}", headers={
            **AUTH, "Content-Type": "application/json"})
        assert resp.status == 413
        response_validator(VENDOR, path, "post", "413").validate(await resp.json())

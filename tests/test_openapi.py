"""The OpenAPI descriptions: valid 3.1, up to date, served, in step with the route table and
the parameter tables, and describing what the simulator actually answers."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

# Appendix 1 as the contract suite wrote it down from the reference, not the simulator's table
from simulator.contract.surface import MESSAGES
from simulator.core import params
from simulator.core.fleet import COLUMNS
from simulator.server import control_state, openapi
from simulator.server.app import create_app
from simulator.server.vendor import ROUTES
from simulator.sim import Config, Simulator
from tests.helpers.openapi import CONTROL, VENDOR, response_validator
from tests.helpers.vendor import AUTH


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


def test_the_vendor_description_covers_exactly_the_vendor_route_table() -> None:
    assert operations(VENDOR) == {(method, path) for method, path, _, _ in ROUTES}
    assert not any(path.startswith("/_sim") for _, path in operations(VENDOR))


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


@pytest.mark.parametrize("op", sorted(params.BODIES))
def test_vendor_bodies_agree_with_the_parameter_tables(op: str) -> None:
    path = next(p for _, p, _, o in ROUTES if o == op)
    schema = VENDOR["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    compare_rule(op, params.BODIES[op], schema["schema"])


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


QUERY_PATHS = [p for m, p, _, o in ROUTES if m == "GET"]


@pytest.mark.parametrize("path", QUERY_PATHS)
async def test_every_vehicle_answers_queries_as_described(path: str) -> None:
    from aiohttp.test_utils import TestServer

    sim = Simulator(Config(seed=3, vehicles=60, paused=True, riders=False))
    f = sim.fleet  # besides the seed's variety, one of each awkward state for certain
    for row, column, value in ((10, "activated", False), (11, "online", False),
                               (12, "dormant", True), (13, "has_fix", False),
                               (14, "upgrading", True), (15, "charging", True)):
        f.column(column)[row] = value
    validator = response_validator(VENDOR, path, "get")
    codes = set()
    async with TestClient(TestServer(create_app(sim, pace=False), host="127.0.0.1")) as c:
        for imei in [*f.imeis, "000000000000000", "", "x"]:
            resp = await c.get(path, params={"iotCode": imei}, headers=AUTH)
            body = await resp.json()
            validator.validate(body)
            codes.add(body["code"])
    assert {0, 15004, 15102, 15300} <= codes


COMMAND_OPS = sorted(params.BODIES)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(COMMAND_OPS),
       body=st.dictionaries(st.sampled_from(["iotCode", "controlType", "speedMode", "key",
                                             "bright", "mode", "color", "volume", "workMode"]),
                            st.one_of(st.integers(-2, 70000), st.text(max_size=9),
                                      st.booleans(), st.none(), st.just("861477038719116")),
                            max_size=5),
       vendor_code=st.sampled_from(sorted(MESSAGES)))
async def test_any_command_answer_is_as_described(client: TestClient, op: str,
                                                  body: dict[str, Any], vendor_code: int) -> None:
    path = next(p for _, p, _, o in ROUTES if o == op)
    validator = response_validator(VENDOR, path, "post")
    for payload in (body, {**body, "iotCode": "861477038719116"}):
        resp = await client.post(path, json=payload, headers=AUTH)
        assert resp.status == 200
        validator.validate(await resp.json())
    # An injected fault answers any Appendix-1 code, which the description allows too.
    await client.post("/_sim/faults", json={"code": vendor_code, "endpoint": op, "times": 1})
    resp = await client.post(path, json={"iotCode": "861477038719116"}, headers=AUTH)
    answer = await resp.json()
    validator.validate(answer)
    await client.delete("/_sim/faults")

"""Vehicle models in tests: a fleet of scooters beside A200s, and calling the v1 paths.

The scooter's bodies are written out here from the fact sheet (reference/real-clients.md) and
FIDELITY.md's scooter rows, not imported from the simulator's profile, so that the tests hold
the profile to the evidence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import strategies as st

from simulator.contract.surface import MESSAGES
from simulator.core.models import INDEX
from simulator.server.vendor_v1 import ROUTES as V1_ROUTES
from simulator.sim import Config, Simulator
from simulator.world.physics import PhysicsConfig
from tests.helpers.control import call
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI, VALID, example_row, json_answer, row_state

# The example IMEIs take the first model named (scooters); the rest of the fleet is mixed.
MIXED = Config(seed=7, vehicles=20, paused=True, riders=False, physics=PhysicsConfig.quiet(),
               models=(("scooter", 50.0), ("a200", 50.0)))

# A valid body for every scooter command on the v2 paths, as the partner clients send them.
SCOOTER_VALID: dict[str, dict[str, Any]] = {
    "unlock": {"iotCode": EXAMPLE_IMEI},
    "lock": {"iotCode": EXAMPLE_IMEI},
    "light": {"iotCode": EXAMPLE_IMEI, "headLight": 1, "tailLight": 2},
    "sound": {"iotCode": EXAMPLE_IMEI, "controlType": 1},
    "battery-cover": {"iotCode": EXAMPLE_IMEI},
    "whole-shutdown": {"iotCode": EXAMPLE_IMEI},
    "setting/sound": {"iotCode": EXAMPLE_IMEI, "workMode": 1},
    "setting/speed-mode": {"iotCode": EXAMPLE_IMEI, "speedMode": 3},
    "setting/scooter": {"iotCode": EXAMPLE_IMEI, "buttonSwitchSpeedMode": 0,
                        "lowSpeedLimit": 10, "mediumSpeedLimit": 18, "highSpeedLimit": 24},
    "setting/bluetooth-key": {"iotCode": EXAMPLE_IMEI, "key": "Ab3De6Gh"},
}
SCOOTER_COMMANDS = tuple(SCOOTER_VALID)
SCOOTER_QUERIES = ("status", "location", "battery-info", "bluetooth-key")
SCOOTER_ONLY = ("lock", "light", "setting/scooter")  # on the v2 paths
A200_ONLY = ("mech-lock", "anti-theft", "ambient", "wireless-charging", "setting/switch",
             "setting/ambient", "setting/interval")
UNSUPPORTED = 15705
NOT_A_TOKEN = [{}, {"Authorization": "bearer nope"}, {"Authorization": "Basic QTIwMDgxOng="}]

# The first generation: operation -> path, and a valid body (commands) or query string.
V1_PATHS: dict[str, str] = {op: path for _method, path, _handler, op in V1_ROUTES}
V1_QUERIES = ("v1/get", "v1/version")
V1_VALID: dict[str, dict[str, Any]] = {
    "v1/unlock": {},
    "v1/lock": {},
    "v1/toot": {"contentType": 7},
    "v1/headlight": {"controlType": 1},
    "v1/speed-mode": {"speedMode": 1},
    "v1/battery/cover": {},
    "v1/setting/speed-limit": {"lowSpeedLimit": 8, "mediumSpeedLimit": 16,
                               "highSpeedLimit": 22},
    "v1/setting/location": {"uploadInterval": 30},
    "v1/iot/bind": {"qrCode": "QR-0001"},
}
V1_COMMANDS = tuple(V1_VALID)
V1_OPS = V1_QUERIES + V1_COMMANDS
V1_KEYS = {"success", "code", "message", "msg", "t", "opId"}


def with_imei(body: dict[str, Any], imei: str) -> dict[str, Any]:
    return {**body, "iotCode": imei}


def a200_body(op: str, imei: str) -> dict[str, Any]:
    """A valid A200 body (the reference's) for `op`, naming `imei`."""
    return with_imei(VALID[op], imei)


def v1_body(op: str, imei: str = EXAMPLE_IMEI, code: str | None = None) -> dict[str, Any]:
    """A valid v1 command body: the IMEI as both names, as the scooter clients send it."""
    return {"iotCode": imei, "vehicleCode": imei if code is None else code, **V1_VALID[op]}


def v1_query(imei: str = EXAMPLE_IMEI, code: str | None = None,
             more: Mapping[str, str] | None = None) -> dict[str, str]:
    return {"iotCode": imei, "vehicleCode": imei if code is None else code, **(more or {})}


async def v1_call(client: TestClient, op: str, body: Any = None,
                  headers: dict[str, str] | None = None, raw: bytes | None = None,
                  query: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Call v1 operation `op` (query/*: GET with `query`; else POST `body` as JSON, or `raw`
    bytes) and return its answer, checking it is HTTP 200 JSON as every v1 answer is."""
    headers = AUTH if headers is None else headers
    path = V1_PATHS[op]
    if op in V1_QUERIES:
        resp = await client.get(path, params=dict(query or {}), headers=headers)
    elif raw is not None:
        resp = await client.post(path, data=raw,
                                 headers={**headers, "Content-Type": "application/json"})
    else:
        resp = await client.post(path, json=body, headers=headers)
    return await json_answer(resp)


def assert_v1_envelope(sim: Simulator, body: dict[str, Any], code: int,
                       data_keys: frozenset[str] = frozenset()) -> None:
    """The v1 envelope of `code`: success, code, message and msg alike, t, opId, and the data's
    fields at the top level; 15101 adds the OAuth-style error that makes clients refresh."""
    extra = {"error", "error_description"} if code == 15101 else set()
    assert set(body) == V1_KEYS | data_keys | extra, body
    assert body["success"] is (code == 0)
    assert type(body["code"]) is int and body["code"] == code
    message = "Success" if code == 0 else MESSAGES[code]
    assert (body["message"], body["msg"]) == (message, message)
    assert body["t"] == sim.clock.now_ms
    if code == 15101:
        assert body["error"] == "invalid_token" and body["error_description"]


async def full_state(client: TestClient, imei: str = EXAMPLE_IMEI) -> dict[str, Any]:
    """The control plane's full state of one vehicle."""
    state: dict[str, Any] = await call(client, "GET", f"/_sim/vehicles/{imei}")
    return state


def model_row(sim: Simulator, model: str, platform: int = 0) -> int:
    """A healthy vehicle of `model` of `platform` (the demo's: 0), not one of the examples."""
    f = sim.fleet
    for row in range(3, len(f)):
        if f.model.item(row) == INDEX[model] and f.platform.item(row) == platform:
            sim.make_healthy(row)
            return row
    raise AssertionError(f"no {model} in the fleet")


def unlocked(sim: Simulator) -> int:
    """The example vehicle (a scooter in MIXED), unlocked: its battery cover may open."""
    row = sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    sim.fleet.locked[row] = False
    return row


def a200_imei(sim: Simulator) -> str:
    return sim.fleet.imeis[model_row(sim, "a200")]


def scooter_tenant(sim: Simulator, model: str = "scooter") -> tuple[dict[str, str], list[str]]:
    """A second platform with two healthy vehicles of `model`: (its auth headers, its IMEIs)."""
    platform = sim.add_platform("E30001", "other-secret")
    rows = sim.add_vehicles(platform, 2, variety=False, model=model)
    sim.make_healthy(rows)
    token = sim.tokens.grant(platform, sim.clock.now)
    return {"Authorization": f"bearer {token.value}"}, [sim.fleet.imeis[r] for r in rows]


# Every field name the scooter's commands read, and a few they do not.
FIELD_NAMES = ("iotCode", "vehicleCode", "headLight", "tailLight", "controlType", "contentType",
               "workMode", "volume", "speedMode", "lowSpeedLimit", "mediumSpeedLimit",
               "highSpeedLimit", "buttonSwitchSpeedMode", "key", "uploadInterval", "qrCode",
               "extra")
JSON_LEAVES = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
               | st.floats(allow_nan=False) | st.text(max_size=8)
               | st.sampled_from([EXAMPLE_IMEI, "1", "7", "25", "Ab3De6Gh", "QR-1"]))


def _json_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # A named function: Hypothesis misreads an `extend` lambda spanning lines.
    return st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children,
                                                            max_size=3)


JSON_VALUES = st.recursive(JSON_LEAVES, _json_containers, max_leaves=6)
# Bodies that mostly name the example scooter, with any values in the fields commands read.
BODIES = st.fixed_dictionaries(
    {"iotCode": st.sampled_from([EXAMPLE_IMEI]) | JSON_LEAVES},
    optional={name: JSON_VALUES | st.integers(-2, 70) for name in FIELD_NAMES[1:]},
) | JSON_VALUES


async def answer_changing_nothing_if_refused(
    sim: Simulator, answer: Awaitable[dict[str, Any]],
) -> dict[str, Any]:
    """Await `answer` (a call about the example vehicle) and check that, if it is an error, the
    vehicle is as it was before."""
    row = example_row(sim)
    before = row_state(sim, row)
    body = await answer
    if body["code"]:
        assert row_state(sim, row) == before
    return body

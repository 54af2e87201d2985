"""Calling the vendor surface over HTTP and checking what it answers."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from aiohttp.test_utils import TestClient

# Appendix 1 as the contract suite wrote it down from the reference, not the simulator's table
from simulator.contract.surface import MESSAGES
from simulator.core.fleet import COLUMNS
from simulator.server.vendor import ROUTES
from simulator.sim import DEMO_TOKEN, Config, Simulator
from simulator.world.physics import PhysicsConfig

AUTH = {"Authorization": f"bearer {DEMO_TOKEN}"}
EXAMPLE_IMEI = "861477038719116"

# Vendor operation -> its (first) path, from the route table.
VENDOR_PATHS: dict[str, str] = {}
for _method, _path, _handler, _op in ROUTES:
    VENDOR_PATHS.setdefault(_op, _path)

# Tokens care about hours, not seconds: coarse ticks keep advancing through a lifetime cheap
# (timers still fire at their exact times, and nothing else runs between the ticks here).
COARSE = Config(seed=7, vehicles=20, paused=True, riders=False, tick_s=600.0,
                physics=PhysicsConfig.quiet())

CONTROLS = ("unlock", "battery-cover", "sound", "mech-lock", "anti-theft", "ambient",
            "wireless-charging", "whole-shutdown")
SETTINGS = ("setting/switch", "setting/ambient", "setting/sound", "setting/speed-mode",
            "setting/bluetooth-key", "setting/interval")
COMMANDS = CONTROLS + SETTINGS

# A valid body for every command, from the reference's examples where they are valid.
VALID: dict[str, dict[str, Any]] = {
    "unlock": {"iotCode": EXAMPLE_IMEI},
    "battery-cover": {"iotCode": EXAMPLE_IMEI},
    "sound": {"iotCode": EXAMPLE_IMEI, "controlType": 3},
    "mech-lock": {"iotCode": EXAMPLE_IMEI},
    "anti-theft": {"iotCode": int(EXAMPLE_IMEI), "controlType": 1},
    "ambient": {"iotCode": int(EXAMPLE_IMEI), "bright": 2, "mode": 3, "color": 5},
    "wireless-charging": {"iotCode": int(EXAMPLE_IMEI), "controlType": 1},
    "whole-shutdown": {"iotCode": int(EXAMPLE_IMEI)},
    "setting/switch": {"iotCode": EXAMPLE_IMEI, "bssDisplay": 2, "alertSensitivity": 3,
                       "unlockHeadLight": 1, "unlockTailLight": 3, "brakeTailLight": 2,
                       "wirelessCharge": 1, "climbInput": 2},
    "setting/ambient": {"iotCode": EXAMPLE_IMEI, "bright": 3,
                        "exerciseMode": {"mode": 4, "bright": 2, "color": 1},
                        "faultMode": {"mode": 2, "color": 2}},
    "setting/sound": {"iotCode": EXAMPLE_IMEI, "workMode": 2, "volume": 3},
    "setting/speed-mode": {"iotCode": EXAMPLE_IMEI, "speedMode": 1},
    "setting/bluetooth-key": {"iotCode": EXAMPLE_IMEI, "key": "4BKNwi77"},
    "setting/interval": {"iotCode": EXAMPLE_IMEI, "locationInterval": {"unlockStatus": 15}},
}

# The fleet column behind each field of /ebike/setting/switch and /vehicle/setting/interval.
SWITCH_COLUMNS = {
    "bssDisplay": "bss_display", "alertSensitivity": "alert_sensitivity",
    "unlockHeadLight": "unlock_head_light", "unlockTailLight": "unlock_tail_light",
    "brakeTailLight": "brake_tail_light", "wirelessCharge": "wireless_charge",
    "climbInput": "climb_input", "speedLimit": "speed_limit", "lowPowerValue": "low_power_value",
}
INTERVAL_COLUMNS = {
    ("locationInterval", "unlockStatus"): "loc_unlock_interval",
    ("locationInterval", "lockStatus"): "loc_lock_interval",
    ("statusInterval", "ridingStatus"): "status_riding_interval",
    ("statusInterval", "nonRiding"): "status_nonriding_interval",
    ("statusInterval", "lockStatus"): "status_lock_interval",
}


async def vendor_call(
    client: TestClient, op: str, body: Any = None, headers: dict[str, str] | None = None,
    **query: str,
) -> dict[str, Any]:
    """Call vendor operation `op` (queries: GET with `query`; commands: POST `body` as JSON) and
    return its envelope, checking it is HTTP 200 JSON as every vendor answer is."""
    headers = AUTH if headers is None else headers
    path = VENDOR_PATHS[op]
    if "/query/" in path:
        resp = await client.get(path, params=query, headers=headers)
    else:
        resp = await client.post(path, json=body, headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/json"
    payload: dict[str, Any] = await resp.json()
    return payload


async def status_of(client: TestClient, imei: str = EXAMPLE_IMEI) -> dict[str, Any]:
    body = await vendor_call(client, "status", iotCode=imei)
    assert body["code"] == 0
    data: dict[str, Any] = body["data"]
    return data


def assert_envelope(sim: Simulator, body: dict[str, Any], id_field: str = "opId") -> None:
    assert set(body) == {"code", "msg", "data", "t", id_field}
    assert type(body["code"]) is int and type(body["t"]) is int
    assert body["t"] == sim.clock.now_ms
    assert str(uuid.UUID(body[id_field])) == body[id_field]


def assert_error(sim: Simulator, body: dict[str, Any], code: int, id_field: str = "opId") -> None:
    assert_envelope(sim, body, id_field)
    assert (body["code"], body["msg"], body["data"]) == (code, MESSAGES[code], None)


def example_row(sim: Simulator) -> int:
    row = sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    return row


def add_tenant(
    sim: Simulator, code: str = "E30001", secret: str = "other-secret", vehicles: int = 2
) -> tuple[dict[str, str], list[str]]:
    """A second platform with healthy vehicles and a token: (its auth headers, its IMEIs)."""
    platform = sim.add_platform(code, secret)
    rows = sim.add_vehicles(platform, vehicles, variety=False)
    sim.make_healthy(rows)
    token = sim.tokens.grant(platform, sim.clock.now)
    return {"Authorization": f"bearer {token.value}"}, [sim.fleet.imeis[r] for r in rows]


def row_state(sim: Simulator, row: int) -> dict[str, Any]:
    """Everything the simulator holds about one vehicle, for before/after comparisons."""
    f = sim.fleet
    state = {name: f.column(name)[row].tolist() for name in COLUMNS}
    state["extras"] = copy.deepcopy(f.extras.get(row) or {})
    state["inflight"] = row in sim.inflight
    return state

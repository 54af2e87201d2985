"""Calling the vendor surface over HTTP and checking what it answers."""

from __future__ import annotations

import asyncio
import copy
import re
import uuid
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from hypothesis import strategies as st

# Appendix 1 as the contract suite wrote it down from the reference, not the simulator's table
from simulator.contract.surface import MESSAGES
from simulator.core.fleet import COLUMNS
from simulator.server.vendor import ROUTES
from simulator.sim import DEMO_TOKEN, Config, Simulator
from simulator.world.physics import PhysicsConfig

Field = TypeVar("Field")

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


async def json_answer(resp: ClientResponse) -> dict[str, Any]:
    """The JSON object of a vendor answer, checking it is HTTP 200 JSON as every one is."""
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/json"
    payload: dict[str, Any] = await resp.json()
    return payload


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
    return await json_answer(resp)


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


# Vehicle states refused by every command that needs the device, and what they answer.
STATE_CODES = [("inactive", 15300), ("offline", 15301), ("transport", 15301),
               ("upgrading", 15500), ("dormant", 15704)]


def set_state(sim: Simulator, row: int, state: str) -> None:
    """Put the vehicle in `row` into one of STATE_CODES' states."""
    f = sim.fleet
    if state == "inactive":
        f.activated[row] = False
    elif state == "offline":
        f.online[row] = False
    elif state == "transport":
        f.transport[row], f.online[row] = True, False
    else:
        f.column(state)[row] = True


async def while_in_flight(sim: Simulator, monkeypatch: pytest.MonkeyPatch, row: int,
                          slow: Awaitable[dict[str, Any]]) -> asyncio.Future[dict[str, Any]]:
    """Start `slow` (a command a delay rule holds) and return once it holds `row` in flight."""
    in_flight, begin = asyncio.Event(), sim.inflight.begin

    def begin_and_tell(r: int) -> None:
        begin(r)
        if r == row:
            in_flight.set()

    monkeypatch.setattr(sim.inflight, "begin", begin_and_tell)
    started = asyncio.ensure_future(slow)
    # A guard, not a schedule: the request reaches the vehicle long before the rule's delay ends.
    await asyncio.wait_for(in_flight.wait(), timeout=10)
    return started


# Values no integer parameter takes: not a number, nor a string or float that is a whole one.
NOT_NUMBERS = st.one_of(
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()),
    st.text(max_size=12).filter(lambda s: not re.fullmatch(r"\s*[+-]?[0-9]+\s*", s)),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["value", "mode"]), st.integers(0, 3), max_size=2),
)


def refused_values(allowed: frozenset[int]) -> list[int]:
    """The values next to a field's allowed set, and the gaps in it: each one must be refused."""
    lo, hi = min(allowed), max(allowed)
    return [lo - 1, hi + 1, *(v for v in range(lo, hi) if v not in allowed)]


def accepted_values(allowed: frozenset[int]) -> list[int]:
    """Every value of an enumeration; the ends of a long range (the rest: property tests)."""
    lo, hi = min(allowed), max(allowed)
    return sorted(allowed) if len(allowed) <= 32 else [lo, lo + 1, hi - 1, hi]


def field_and_value(
    table: Mapping[str, Mapping[Field, tuple[frozenset[int], bool]]],
) -> st.SearchStrategy[tuple[str, Field, int]]:
    """An (operation, field, integer) of `table` (op -> field -> (allowed, ...)), the integer
    mostly near or in the allowed set, sometimes anywhere in 63 bits."""
    fields = [(op, field) for op, spec in table.items() for field in spec]

    @st.composite
    def draw_one(draw: st.DrawFn) -> tuple[str, Field, int]:
        op, field = draw(st.sampled_from(fields))
        allowed = table[op][field][0]
        value = draw(st.one_of(
            st.sampled_from(sorted(allowed)),
            st.integers(min(allowed) - 5, max(allowed) + 5),
            st.integers(-(2**62), 2**62),
        ))
        return op, field, value

    return draw_one()

"""Control plane: POST /_sim/reset, GET and PUT /_sim/snapshot."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from simulator import snapshot
from simulator.core.fleet import COLUMNS
from simulator.server.app import create_app
from simulator.sim import DEMO_TOKEN, Config, Simulator
from tests.helpers.control import VEHICLE, call, misuse
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI, vendor_call


async def change_everything(client: TestClient, sim: Simulator) -> None:
    """Touch every part of the world a snapshot holds."""
    await call(client, "PATCH", VEHICLE, {"locked": False, "powerPercent": 12, "firmware": "1.3.5"})
    await call(client, "POST", f"{VEHICLE}/events", {"type": "fault", "code": "E3"})
    await call(client, "POST", f"{VEHICLE}/events", {"type": "alert", "code": 12})
    ambient = {"iotCode": EXAMPLE_IMEI, "bright": 1, "mode": 3, "color": 5}
    assert (await vendor_call(client, "ambient", ambient))["code"] == 0
    await call(client, "POST", "/_sim/vehicles", {"iotCode": "4242"}, 201)
    await call(client, "POST", "/_sim/platforms",
               {"clientId": "U100", "clientSecret": "s", "vehicles": 3}, 201)
    resp = await client.post("/oauth/token", data={"client_id": "U100", "client_secret": "s",
                                                   "grant_type": "client_credentials"})
    assert resp.status == 200
    await call(client, "POST", "/_sim/faults", {"code": 15302, "probability": 0.5}, 201)
    await call(client, "POST", "/_sim/clock", {"advance": 30, "speed": 3})
    await vendor_call(client, "status", iotCode=EXAMPLE_IMEI)  # draws from the fault stream


async def test_reset_is_a_fresh_simulator(client: TestClient, sim: Simulator,
                                          config: Config) -> None:
    await change_everything(client, sim)
    health = await call(client, "POST", "/_sim/reset")
    assert health["vehicles"] == 20 and health["platforms"] == 1
    assert snapshot.dump(sim) == snapshot.dump(Simulator(config))
    answer = await vendor_call(client, "status", headers=AUTH, iotCode=EXAMPLE_IMEI)
    assert answer["code"] == 0  # the reference's example token works again


async def test_reset_misuse(client: TestClient, sim: Simulator) -> None:
    await misuse(client, sim, "POST", "/_sim/reset", {"seed": 3}, "seed")
    await misuse(client, sim, "POST", "/_sim/reset", [1], "body")


async def test_snapshot_round_trip(client: TestClient, sim: Simulator) -> None:
    first = await call(client, "GET", "/_sim/snapshot")
    assert first["format"] == "segway-sim/snapshot" and first["version"] == 1
    assert set(first["fleet"]["columns"]) == set(COLUMNS)
    await change_everything(client, sim)
    changed = await call(client, "GET", "/_sim/snapshot")
    assert changed != first
    health = await call(client, "PUT", "/_sim/snapshot", first)
    assert health["vehicles"] == 20 and health["platforms"] == 1
    assert await call(client, "GET", "/_sim/snapshot") == first
    # ... and the world behaves as that state: the later vehicle, platform and rule are gone
    assert (await vendor_call(client, "status", iotCode="4242"))["code"] == 15102
    assert (await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["code"] == 0
    await call(client, "PUT", "/_sim/snapshot", changed)
    assert await call(client, "GET", "/_sim/snapshot") == changed
    state = await call(client, "GET", VEHICLE)
    assert state["firmware"] == "1.3.5" and state["faults"] == ["E3"]
    assert state["settings"]["ambientEffect"] == {"bright": 1, "mode": 3, "color": 5}


async def test_loaded_world_has_the_same_future(client: TestClient, sim: Simulator) -> None:
    """The random streams travel too: the same draws follow a load as followed the dump."""
    await call(client, "POST", "/_sim/faults", {"code": 15302, "probability": 0.5}, 201)
    saved = await call(client, "GET", "/_sim/snapshot")

    async def future(c: TestClient) -> tuple[list[int], dict[str, Any]]:
        codes = [(await vendor_call(c, "status", iotCode=EXAMPLE_IMEI))["code"]
                 for _ in range(30)]
        created = await call(c, "POST", "/_sim/platforms", {"clientId": "E5"}, 201)
        return codes, created

    first = await future(client)
    await call(client, "PUT", "/_sim/snapshot", saved)
    assert await future(client) == first
    # another server, another seed: loading the snapshot makes it this world, future included
    other = Simulator(Config(seed=99, vehicles=3, paused=True, riders=False))
    async with TestClient(TestServer(create_app(other, pace=False), host="127.0.0.1")) as c2:
        await call(c2, "PUT", "/_sim/snapshot", saved)
        assert await call(c2, "GET", "/_sim/snapshot") == saved
        assert await future(c2) == first


async def test_infinity_travels_where_the_world_uses_it_and_nan_nowhere(
        client: TestClient, sim: Simulator) -> None:
    sim.fleet.offline_until[4] = math.inf  # offline until powered again (world/battery.py)
    saved = await call(client, "GET", "/_sim/snapshot")
    assert saved["fleet"]["columns"]["offline_until"][4] == "Infinity"
    sim.fleet.offline_until[4] = 0
    await call(client, "PUT", "/_sim/snapshot", saved)
    assert sim.fleet.offline_until[4] == math.inf
    # A NaN or an infinity anywhere else would be served as 15001 on every read: refused.
    saved["fleet"]["columns"]["altitude"][3] = "NaN"
    error = await call(client, "PUT", "/_sim/snapshot", saved, status=400)
    assert error["field"] == "fleet.columns.altitude[3]"


async def test_a_column_missing_from_an_older_snapshot_gets_its_default(
        client: TestClient, sim: Simulator) -> None:
    saved = await call(client, "GET", "/_sim/snapshot")
    del saved["fleet"]["columns"]["lock_voltage"]
    await call(client, "PUT", "/_sim/snapshot", saved)
    assert (sim.fleet.lock_voltage == COLUMNS["lock_voltage"].default).all()


async def test_load_drops_closure_timers(client: TestClient, sim: Simulator) -> None:
    """Closure timers (the outbox's, saved with the pushes) belong to the world a load replaces;
    data timers travel (tests/test_snapshot_future.py)."""
    fired: list[float] = []
    saved = await call(client, "GET", "/_sim/snapshot")
    sim.call_at(sim.clock.now + 5, lambda: fired.append(sim.clock.now))
    assert snapshot.dump(sim)["timers"] == saved["timers"] == []
    await call(client, "PUT", "/_sim/snapshot", saved)
    sim.advance(10)
    assert fired == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(snap: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = snap
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return edit


_DELETE = object()

BAD: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("format", _set("format", "other"), "format"),
    ("version", _set("version", 2), "version"),
    ("seed", _set("seed", -1), "seed"),
    ("seed type", _set("seed", "7"), "seed"),
    ("clock", _set("clock", None), "clock"),
    ("speed", _set("clock/speed", 0), "clock.speed"),
    ("now", _set("clock/now", "soon"), "clock.now"),
    ("paused", _set("clock/paused", 0), "clock.paused"),
    ("steps", _set("clock/stepCount", -1), "clock.stepCount"),
    ("no platforms", _set("platforms", []), "platforms"),
    ("region", _set("platforms/0/code", "X1"), "platforms[0].code"),
    ("secret", _set("platforms/0/secret", 5), "platforms[0].secret"),
    ("platform field", _set("platforms/0/colour", "red"), "platforms[0]"),
    ("token platform", _set("tokens/items/0/clientId", "E1"), "tokens.items[0].clientId"),
    ("token expiry", _set("tokens/items/0/expiresAt", None), "tokens.items[0].expiresAt"),
    ("newest token", _set("tokens/newest/A20081", "nope"), "tokens.newest.A20081"),
    ("token rng", _set("tokens/rng/state", "x"), "tokens.rng"),
    ("imei", _set("fleet/imeis/0", "abc"), "fleet.imeis"),
    ("imei dup", _set("fleet/imeis/1", EXAMPLE_IMEI), "fleet.imeis"),
    ("column name", _set("fleet/columns/wheels", [0] * 20), "fleet.columns.wheels"),
    ("column length", _set("fleet/columns/online", [True]), "fleet.columns.online"),
    ("bool as int", _set("fleet/columns/online/0", 1), "fleet.columns.online"),
    ("int8 overflow", _set("fleet/columns/speed_mode/0", 300), "fleet.columns.speed_mode"),
    ("int as float", _set("fleet/columns/speed_mode/0", 2.5), "fleet.columns.speed_mode"),
    ("float as text", _set("fleet/columns/power/0", "full"), "fleet.columns.power"),
    ("key too long", _set("fleet/columns/bt_key/0", "abcdefghi"), "fleet.columns.bt_key"),
    ("key not ascii", _set("fleet/columns/bt_key/0", "abcdéfg"), "fleet.columns.bt_key"),
    ("pack width", _set("fleet/columns/pack_percent/0", [1.0]), "fleet.columns.pack_percent"),
    ("platform index", _set("fleet/columns/platform/0", 1), "fleet.columns.platform"),
    ("uid dup", _set("fleet/columns/uid/1", 0), "fleet.columns.uid"),
    ("next uid", _set("fleet/nextUid", 3), "fleet.columns.uid"),
    ("extras row", _set("fleet/extras/999", {}), "fleet.extras.999"),
    ("extras value", _set("fleet/extras/1", [1]), "fleet.extras.1"),
    ("rule", _set("faults/rules", [{"id": 1, "code": 1}]), "faults.rules[0].code"),
    ("rule shape", _set("faults/rules", [7]), "faults.rules[0]"),
    ("next rule id", _set("faults/nextId", 0), "faults.nextId"),
    ("fault rng", _set("faults/rng", {}), "faults.rng"),
    ("parts", _set("parts", {"radio": {}}), "parts.radio"),
]


@pytest.mark.parametrize(("edit", "field"), [(e, f) for _, e, f in BAD],
                         ids=[name for name, _, _ in BAD])
async def test_bad_snapshot_changes_nothing(client: TestClient, sim: Simulator,
                                            edit: Callable[[dict[str, Any]], None],
                                            field: str) -> None:
    saved = await call(client, "GET", "/_sim/snapshot")
    await call(client, "PATCH", VEHICLE, {"powerPercent": 1})  # the world now differs
    bad = copy.deepcopy(saved)
    edit(bad)
    await misuse(client, sim, "PUT", "/_sim/snapshot", bad, field)


async def test_snapshot_body_must_be_an_object(client: TestClient, sim: Simulator) -> None:
    await misuse(client, sim, "PUT", "/_sim/snapshot", [], "body")
    await misuse(client, sim, "PUT", "/_sim/snapshot", None, "body", data=b'{"format": ',
                 headers={"Content-Type": "application/json"})


async def test_snapshot_is_plain_json(client: TestClient, sim: Simulator) -> None:
    resp = await client.get("/_sim/snapshot")
    raw = await resp.read()
    assert orjson.loads(raw) == snapshot.dump(sim)
    assert DEMO_TOKEN in {t["value"] for t in orjson.loads(raw)["tokens"]["items"]}


def test_snapshot_parts_travel() -> None:
    """A component with state of its own registers a part; loading installs it atomically."""
    sim = Simulator(Config(seed=7, vehicles=3, paused=True))
    box = {"value": 1}

    def prepare(data: Any, loading: snapshot.Loading) -> Callable[[], None]:
        assert loading.rows == 3 and loading.now == sim.clock.now  # the snapshot's fleet, clock
        if not isinstance(data, int):
            raise snapshot.SimError("parts.box", "must be an integer")
        return lambda: box.update(value=data)

    sim.snapshot_parts["box"] = snapshot.SnapshotPart(lambda: box["value"], prepare)
    saved = snapshot.dump(sim)
    assert saved["parts"]["box"] == 1
    box["value"] = 5
    bad = {**saved, "parts": {**saved["parts"], "box": "x"}}
    with pytest.raises(snapshot.SimError):
        snapshot.load(sim, bad)
    assert box["value"] == 5
    snapshot.load(sim, saved)
    assert box["value"] == 1


def test_what_a_vehicle_patch_may_write_a_snapshot_carries() -> None:
    """The loader's ranges (snapshot.RANGES) are wider than PATCH's where the world writes more
    (hdop 99.99 without a fix, speed mode 0), never narrower: a patched vehicle always reloads."""
    import annotated_types

    from simulator.server.control_models import VehiclePatch
    from simulator.snapshot import RANGES

    checked = 0
    for name, info in VehiclePatch.model_fields.items():
        if name not in RANGES or name == "firmware":  # a version text: each part 0-99 (its type)
            continue
        low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
        high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
        assert low is not None and high is not None, f"{name}: PATCH gives it no range"
        lo, hi = RANGES[name]
        assert lo <= low and high <= hi, f"{name}: PATCH {low}-{high}, snapshot {lo}-{hi}"
        checked += 1
    assert checked >= 7  # power, lat, lon, satellites, hdop, speed mode, signal, iot percent

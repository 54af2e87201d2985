"""Vehicle models around the vendor surface: GET /_sim/models, `--models` and its allotment, the
control plane's model fields, snapshots, the token clock, the v1 push format, unknown paths, and
the A200 left as it was in a mixed fleet. Everything over loopback to the real server.

The scooter's figures are restated here from FIDELITY.md ("Vehicle models"), not read from the
profiles, so a drift of either shows.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from simulator.cli.main import main
from simulator.core import models
from simulator.core.errors import SimError
from simulator.core.models import BY_NAME, INDEX, NAMES, allot, parse_mix
from simulator.core.vehicle import OPERATIONS
from simulator.push.signing import verify_signature
from simulator.server.app import create_app
from simulator.sim import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_IMEIS,
    DEMO_TOKEN,
    Config,
    Simulator,
)
from simulator.world.physics import PhysicsConfig
from tests.helpers.control import call, misuse
from tests.helpers.push import Receiver, Rig
from tests.helpers.serve_process import QUIET, serving
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI, row_state

MIX = (("a200", 70.0), ("scooter", 30.0))
THREE_DAYS = 3 * 86_400
# The A200's operations as the reference has them, and the scooter's as FIDELITY.md lists them.
A200_OPS = {"status", "location", "battery-info", "bluetooth-key", "unlock", "battery-cover",
            "sound", "mech-lock", "anti-theft", "ambient", "wireless-charging", "whole-shutdown",
            "setting/switch", "setting/ambient", "setting/sound", "setting/speed-mode",
            "setting/bluetooth-key", "setting/interval"}
SCOOTER_OPS = {"status", "location", "battery-info", "bluetooth-key", "unlock", "lock", "light",
               "sound", "battery-cover", "whole-shutdown", "setting/sound", "setting/speed-mode",
               "setting/scooter", "setting/bluetooth-key", "v1/get", "v1/version", "v1/unlock",
               "v1/lock", "v1/toot", "v1/headlight", "v1/speed-mode", "v1/battery/cover",
               "v1/setting/speed-limit", "v1/setting/location", "v1/iot/bind"}
SPEEDS_KMH = {"a200": {"low": 20.0, "medium": 25.0, "high": 32.0},
              "scooter": {"low": 15.0, "medium": 20.0, "high": 25.0}}
RANGES_M = {"a200": {"low": 70_000, "medium": 60_000, "high": 45_000},
            "scooter": {"low": 60_000, "medium": 50_000, "high": 40_000}}


@pytest.fixture
def config() -> Config:
    """A mixed fleet of 20: 14 A200s (the three example IMEIs among them) and 6 scooters."""
    return Config(seed=7, vehicles=20, paused=True, riders=False, physics=PhysicsConfig.quiet(),
                  models=MIX)


def imeis_of(sim: Simulator, model: str) -> list[str]:
    return [sim.fleet.imeis[i] for i in np.flatnonzero(sim.fleet.model == INDEX[model])]


def row_of(sim: Simulator, imei: str) -> int:
    row = sim.fleet.find(imei)
    assert row is not None
    return row


def healthy_scooter(sim: Simulator) -> str:
    imei = imeis_of(sim, "scooter")[0]
    sim.make_healthy(row_of(sim, imei))
    return imei


async def vendor(client: TestClient, method: str, path: str, body: Any = None,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A vendor call by path: GET with `body` as the query, POST with it as JSON; HTTP 200 JSON
    with a `code` whatever it says."""
    headers = AUTH if headers is None else headers
    if method == "GET":
        resp = await client.get(path, params=body, headers=headers)
    else:
        resp = await client.post(path, json=body, headers=headers)
    assert resp.status == 200, (method, path, await resp.text())
    answer: dict[str, Any] = await resp.json()
    assert type(answer["code"]) is int
    return answer


# -- GET /_sim/models --------------------------------------------------------------------------


async def test_models_lists_each_profile_with_its_figures_and_vehicles(
        client: TestClient, sim: Simulator) -> None:
    body = await call(client, "GET", "/_sim/models")
    assert body["default"] == "a200"
    items = {item["name"]: item for item in body["items"]}
    assert [item["name"] for item in body["items"]] == ["a200", "scooter"]
    assert {name: item["vehicles"] for name, item in items.items()} == {"a200": 14, "scooter": 6}
    assert sum(item["vehicles"] for item in items.values()) == len(sim.fleet)
    for name, item in items.items():
        assert item["title"] and item["evidence"]
        assert item["speedModesKmh"] == SPEEDS_KMH[name]
        assert item["fullRangeM"] == RANGES_M[name]
        assert {op["operation"] for op in item["operations"]} == {"a200": A200_OPS,
                                                                 "scooter": SCOOTER_OPS}[name]
    assert items["scooter"]["renames"] == {"location": {"gpsUtcTime": "gpsUTCTime"}}
    assert items["a200"]["renames"] == {}
    # a vehicle added later is counted
    await call(client, "POST", "/_sim/vehicles", {"model": "scooter"}, 201)
    body = await call(client, "GET", "/_sim/models")
    assert [item["vehicles"] for item in body["items"]] == [14, 7]


async def test_every_listed_operation_is_a_route_the_server_answers(
        client: TestClient, sim: Simulator) -> None:
    """Each (method, path) answers a vehicle of its model in the vendor's envelope (never 404 or
    405), and a vehicle of a model without it 15705."""
    listed = (await call(client, "GET", "/_sim/models"))["items"]
    vehicle_of = {"a200": EXAMPLE_IMEI, "scooter": healthy_scooter(sim)}
    every_path = {(op["method"], op["path"]) for item in listed for op in item["operations"]}
    for item in listed:
        imei = vehicle_of[item["name"]]
        mine = {(op["method"], op["path"]) for op in item["operations"]}
        for op in item["operations"]:
            assert op["method"] == ("GET" if op["kind"] == "query" else "POST")
            assert op["surface"] == ("v1" if op["path"].startswith("/api/vehicle/") else "v2")
            assert op["kind"] in ("query", "control", "setting")
        for method, path in sorted(every_path):
            # The vehicle named twice, as v1 calls do; no other parameter: a well-formed call of
            # a supported op answers 0 or its parameter error, never 15705.
            answer = await vendor(client, method, path, {"iotCode": imei, "vehicleCode": imei})
            if (method, path) in mine:
                assert answer["code"] != 15705, (item["name"], path, answer)
            else:
                assert answer["code"] == 15705, (item["name"], path, answer)
                assert answer["msg"] == "This feature is not supported on the vehicle"


async def test_parameters_are_the_profiles(client: TestClient) -> None:
    listed = (await call(client, "GET", "/_sim/models"))["items"]
    ops = {(item["name"], op["operation"]): op["parameters"]
           for item in listed for op in item["operations"]}
    for (name, op), parameters in ops.items():
        profile = BY_NAME[name]
        assert parameters["iotCode"]["required"] is True
        if op in profile.bodies:
            assert parameters == profile.bodies[op].to_json()["properties"]
        if op.startswith("v1/"):
            assert parameters["vehicleCode"]["required"] is True
    # The ranges and enums FIDELITY.md gives, restated.
    light = {"type": "integer", "required": False, "minimum": 0, "maximum": 2}
    assert ops["scooter", "light"] == {**ops["scooter", "light"], "headLight": light,
                                       "tailLight": light}
    limit = {"type": "integer", "required": False, "minimum": 6, "maximum": 25}
    for field in ("lowSpeedLimit", "mediumSpeedLimit", "highSpeedLimit"):
        assert ops["scooter", "setting/scooter"][field] == limit
        assert ops["scooter", "v1/setting/speed-limit"][field] == limit
    assert ops["scooter", "setting/scooter"]["buttonSwitchSpeedMode"]["enum"] == [0, 1]
    assert ops["scooter", "sound"]["controlType"]["enum"] == [1, 2, 3, 10, 11, 12, 13]
    assert ops["a200", "sound"]["controlType"]["enum"] == [2, 3, 10, 11, 12, 13]
    assert ops["scooter", "setting/sound"]["volume"]["required"] is False
    assert ops["scooter", "setting/sound"]["workMode"]["required"] is True
    assert ops["a200", "setting/sound"]["volume"]["required"] is True
    assert ops["scooter", "v1/toot"]["contentType"]["enum"] == [6, 7]
    assert ops["scooter", "v1/headlight"]["controlType"]["enum"] == [0, 1]
    assert ops["scooter", "v1/setting/location"]["uploadInterval"] == {
        "type": "integer", "required": True, "minimum": 10, "maximum": 65535}
    assert set(ops["scooter", "v1/get"]) == {"iotCode", "vehicleCode", "realTimeLocation",
                                             "realTimeStatus"}
    assert set(ops["scooter", "location"]) == {"iotCode", "realTimeLocation"}


# -- --models: parsing and the allotment ----------------------------------------------------------


@pytest.mark.parametrize(("text", "mix"), [
    ("scooter", (("scooter", 1.0),)),
    ("a200", (("a200", 1.0),)),
    ("a200=70,scooter=30", (("a200", 70.0), ("scooter", 30.0))),
    ("scooter=1, a200=3", (("scooter", 1.0), ("a200", 3.0))),
    ("scooter=0.5,", (("scooter", 0.5),)),
])
def test_a_mix_is_models_and_shares_in_the_order_named(text: str, mix: models.Mix) -> None:
    assert parse_mix(text) == mix


@pytest.mark.parametrize(("text", "message"), [
    ("bike", "'bike' is not a model: one of a200, scooter"),
    ("a200=70,bike=30", "'bike' is not a model"),
    ("a200=x", "'a200=x': the share must be a number"),
    ("a200=0", "the share must be a number > 0"),
    ("a200=-1", "the share must be a number > 0"),
    ("a200=nan", "the share must be a number > 0"),
    ("a200=inf", "the share must be a number > 0"),
    ("scooter,scooter=2", "scooter is named twice"),
    ("", "name at least one model: a200, scooter"),
    (" , ", "name at least one model"),
])
def test_a_bad_mix_names_the_models_field(text: str, message: str) -> None:
    with pytest.raises(SimError) as caught:
        parse_mix(text)
    assert caught.value.field == "models" and message in caught.value.message


def test_a_bad_mix_in_python_is_refused_as_on_the_command_line() -> None:
    with pytest.raises(SimError) as caught:
        Simulator(Config(vehicles=3, models=(("bike", 1.0),)))
    assert caught.value.field == "models"
    with pytest.raises(SimError) as caught:
        models.check_mix([("a200",)])
    assert caught.value.field == "models"


def largest_remainder(shares: list[float], total: int) -> list[int]:
    """Whole vehicles closest to the shares: floors, then one more for the largest remainders
    (ties to the model named first)."""
    exact = [s / sum(shares) * total for s in shares]
    counts = [int(np.floor(e)) for e in exact]
    by_remainder = sorted(range(len(shares)), key=lambda k: (-(exact[k] - counts[k]), k))
    for k in by_remainder[: total - sum(counts)]:
        counts[k] += 1
    return counts


@given(shares=st.lists(st.integers(1, 100), min_size=2, max_size=2),
       order=st.permutations(NAMES), total=st.integers(0, 200), first=st.integers(0, 3),
       seed=st.integers(0, 2**32))
def test_counts_follow_the_shares_and_the_examples_take_the_first_model(
        shares: list[int], order: list[str], total: int, first: int, seed: int) -> None:
    mix = tuple(zip(order, map(float, shares), strict=True))
    codes = allot(mix, total, first, np.random.default_rng(seed))
    assert codes.dtype == np.uint8 and len(codes) == total
    first = min(first, total)
    assert (codes[:first] == INDEX[order[0]]).all()
    counts = Counter(codes.tolist())
    wanted = largest_remainder([float(s) for s in shares], total)
    if wanted[0] >= first:  # otherwise the examples win, taken from the other model
        assert [counts[INDEX[name]] for name in order] == wanted
    else:
        assert [counts[INDEX[name]] for name in order] == [first, total - first]
    # seeded: the same generator state gives the same fleet
    again = allot(mix, total, first, np.random.default_rng(seed))
    assert (again == codes).all()


def test_the_fleet_is_allotted_by_the_seed() -> None:
    def fleet(seed: int, mix: models.Mix) -> list[int]:
        return Simulator(Config(seed=seed, vehicles=40, paused=True, riders=False,
                                models=mix)).fleet.model.tolist()

    assert fleet(5, MIX) == fleet(5, MIX)
    assert fleet(5, MIX) != fleet(6, MIX)  # shuffled by the seed (a one in C(37, 12) clash)
    assert Counter(fleet(5, MIX)) == {INDEX["a200"]: 28, INDEX["scooter"]: 12}
    assert set(fleet(5, (("scooter", 1.0),))) == {INDEX["scooter"]}
    assert set(fleet(5, Config().models)) == {INDEX["a200"]}  # the default: the reference's


# -- the command line ----------------------------------------------------------------------------


async def test_serve_names_its_models_and_token_clock_in_the_banner() -> None:
    """The banner says what differs from the reference's world; and with --token-clock wall,
    the token the banner prints outlives a virtual jump past its 12 h lifetime."""
    async def serve(*args: str) -> tuple[list[str], dict[str, Any], int]:
        async with serving("--vehicles", "10", *QUIET, *args) as served:
            lines = served.banner  # up to the control plane's line; the rest follow it
            assert served.proc.stdout is not None
            while not lines[-1].startswith("  clock paused at"):  # --paused: the last line
                lines.append((await served.proc.stdout.readline()).decode())
            listed = await served.control("GET", "/_sim/models")
            await served.control("POST", "/_sim/clock", {"advance": 50_000})
            _, answer = await served.call(
                "GET", f"/api/v2/vehicle/query/current/status?iotCode={EXAMPLE_IMEI}",
                headers=AUTH)
            return lines, listed, answer["code"]

    (mixed, listed, code), (plain, _, plain_code) = await asyncio.gather(
        serve("--models", "a200=70,scooter=30", "--token-clock", "wall"), serve())
    assert "  models: 7 a200, 3 scooter\n" in mixed
    assert [item["vehicles"] for item in listed["items"]] == [7, 3]
    assert any(line.startswith("  tokens expire on the wall clock (--token-clock wall)")
               for line in mixed)
    assert not any(line.startswith(("  models:", "  tokens expire")) for line in plain)
    assert (code, plain_code) == (0, 15101)


def one_line(stderr: str) -> str:
    """A command-line mistake is one `Error:` line, all of stderr (tests/test_cli_errors.py)."""
    lines = stderr.rstrip("\n").splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    return lines[0]


@pytest.mark.parametrize(("args", "line"), [
    (["--models", "bike"], "'--models': 'bike' is not a model: one of a200, scooter"),
    (["--models", "a200=0"], "'--models': 'a200=0': the share must be a number > 0"),
    (["--models", "scooter,scooter"], "'--models': scooter is named twice"),
    (["--models", ""], "'--models': name at least one model"),
    (["--token-clock", "sundial"], "'--token-clock'"),
])
def test_a_bad_models_option_is_one_line(args: list[str], line: str) -> None:
    result = CliRunner().invoke(main, ["serve", *args, "--port", "0"])
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert result.exit_code == 2
    assert line in one_line(result.stderr)


def test_the_console_script_says_a_bad_mix_in_one_line() -> None:
    script = "from simulator.cli.main import main; main(prog_name='segway-sim')"
    run = subprocess.run([sys.executable, "-c", script, "serve", "--models", "a200=70,bike=30",
                          "--port", "0"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr + run.stdout
    assert "'--models': 'bike' is not a model: one of a200, scooter" in one_line(run.stderr)


# -- the control plane ---------------------------------------------------------------------------


async def test_a_scooter_is_created_and_shown_with_its_model(client: TestClient,
                                                             sim: Simulator) -> None:
    made = await call(client, "POST", "/_sim/vehicles", {"model": "scooter", "iotCode": "4242"},
                      201)
    state = await call(client, "GET", "/_sim/vehicles/4242")
    assert made["model"] == state["model"] == "scooter"
    assert state["vehicleCode"] == "4242"  # its IMEI until an iot/bind names another
    assert set(state["settings"]["lights"]) == {"headLight", "tailLight"}
    assert set(state["settings"]["speedLimits"]) == {"low", "medium", "high"}
    assert "gpsUTCTime" in state["location"]  # its queries' spelling
    assert state["columns"]["battery_count"] == 1 and state["columns"]["has_mech_lock"] is False
    a200 = await call(client, "POST", "/_sim/vehicles", {}, 201)
    assert a200["model"] == "a200"  # the default
    await misuse(client, sim, "POST", "/_sim/vehicles", {"model": "bike"}, "model")
    await misuse(client, sim, "POST", "/_sim/vehicles", {"model": 1}, "model")


async def test_the_full_state_follows_the_scooter_settings(client: TestClient,
                                                           sim: Simulator) -> None:
    imei = healthy_scooter(sim)
    sent = [("control/light", {"headLight": 2, "tailLight": 1}),
            ("setting/scooter", {"lowSpeedLimit": 10, "highSpeedLimit": 22})]
    for path, body in sent:
        answer = await vendor(client, "POST", f"/api/v2/vehicle/{path}", {"iotCode": imei, **body})
        assert answer["code"] == 0, answer
    bind = {"iotCode": imei, "vehicleCode": "SC-42", "qrCode": "SC-42"}
    assert (await vendor(client, "POST", "/api/vehicle/iot/bind", bind))["code"] == 0
    state = await call(client, "GET", f"/_sim/vehicles/{imei}")
    assert state["settings"]["lights"] == {"headLight": 2, "tailLight": 1}
    medium = int(sim.fleet.mode_limit[row_of(sim, imei), 1])
    assert state["settings"]["speedLimits"] == {"low": 10, "medium": medium, "high": 22}
    assert state["vehicleCode"] == "SC-42"


async def test_vehicles_are_listed_by_model(client: TestClient, sim: Simulator) -> None:
    for model, count in (("scooter", 6), ("a200", 14)):
        page = await call(client, "GET", "/_sim/vehicles", params={"model": model, "limit": 100})
        assert page["total"] == count
        assert {item["iotCode"] for item in page["items"]} == set(imeis_of(sim, model))
        assert {item["model"] for item in page["items"]} == {model}
    everyone = await call(client, "GET", "/_sim/vehicles", params={"limit": 100})
    assert everyone["total"] == 20
    error = await call(client, "GET", "/_sim/vehicles", params={"model": "bike"}, status=400)
    assert error["field"] == "model"


async def test_a_platform_has_a_push_format_and_vehicles_of_a_model(client: TestClient,
                                                                    sim: Simulator) -> None:
    made = await call(client, "POST", "/_sim/platforms",
                      {"clientId": "E40001", "pushFormat": "v1", "vehicles": 3,
                       "model": "scooter"}, 201)
    assert made["pushFormat"] == "v1" and made["vehicles"] == 3
    page = await call(client, "GET", "/_sim/vehicles",
                      params={"platformCode": "E40001", "model": "scooter"})
    assert page["total"] == 3
    plain = await call(client, "POST", "/_sim/platforms", {"clientId": "U5", "vehicles": 1}, 201)
    assert plain["pushFormat"] == "v2"
    page = await call(client, "GET", "/_sim/vehicles", params={"platformCode": "U5"})
    assert [item["model"] for item in page["items"]] == ["a200"]
    changed = await call(client, "PATCH", "/_sim/platforms/U5", {"pushFormat": "v1"})
    assert changed["pushFormat"] == "v1"
    listed = await call(client, "GET", "/_sim/platforms")
    assert [p["pushFormat"] for p in listed["items"]] == ["v2", "v1", "v1"]
    await misuse(client, sim, "POST", "/_sim/platforms", {"clientId": "E7", "pushFormat": "v3"},
                 "pushFormat")
    await misuse(client, sim, "POST", "/_sim/platforms",
                 {"clientId": "E7", "vehicles": 1, "model": "bike"}, "model")
    await misuse(client, sim, "PATCH", "/_sim/platforms/U5", {"pushFormat": 1}, "pushFormat")


# -- snapshots -------------------------------------------------------------------------------


async def scooter_settings(client: TestClient, sim: Simulator) -> str:
    """A scooter with its lights and a speed limit set (the settings a snapshot must keep)."""
    imei = healthy_scooter(sim)
    light = {"iotCode": imei, "headLight": 2, "tailLight": 0}
    assert (await vendor(client, "POST", "/api/v2/vehicle/control/light", light))["code"] == 0
    limits = {"iotCode": imei, "mediumSpeedLimit": 12}
    assert (await vendor(client, "POST", "/api/v2/vehicle/setting/scooter", limits))["code"] == 0
    return imei


@asynccontextmanager
async def loaded_elsewhere(client: TestClient) -> AsyncIterator[TestClient]:
    """Another server (seed 99, three A200s) that loaded this server's snapshot, and so is this
    world: its snapshot reads back the same."""
    saved = await call(client, "GET", "/_sim/snapshot")
    other = Simulator(Config(seed=99, vehicles=3, paused=True, riders=False))
    async with TestClient(TestServer(create_app(other, pace=False), host="127.0.0.1")) as c2:
        await call(c2, "PUT", "/_sim/snapshot", saved)
        assert await call(c2, "GET", "/_sim/snapshot") == saved
        yield c2


async def test_a_snapshot_keeps_models_settings_push_formats_and_the_token_clock(
        client: TestClient, sim: Simulator) -> None:
    imei = await scooter_settings(client, sim)
    await call(client, "POST", "/_sim/platforms",
               {"clientId": "E40001", "pushFormat": "v1", "vehicles": 2, "model": "scooter"}, 201)
    await call(client, "POST", "/_sim/clock", {"tokenClock": "wall"})
    state = await call(client, "GET", f"/_sim/vehicles/{imei}")
    assert (await call(client, "GET", "/_sim/snapshot"))["tokens"]["clock"] == "wall"
    async with loaded_elsewhere(client) as c2:
        loaded = await call(c2, "GET", f"/_sim/vehicles/{imei}")
        for key in ("model", "vehicleCode", "settings"):
            assert loaded[key] == state[key]
        assert loaded["settings"]["lights"] == {"headLight": 2, "tailLight": 0}
        assert loaded["settings"]["speedLimits"]["medium"] == 12
        counts = [item["vehicles"] for item in (await call(c2, "GET", "/_sim/models"))["items"]]
        assert counts == [14, 8]
        platforms = (await call(c2, "GET", "/_sim/platforms"))["items"]
        assert [p["pushFormat"] for p in platforms] == ["v2", "v1"]
        assert (await call(c2, "GET", "/_sim/clock"))["tokenClock"] == "wall"
        # ... and the vendor answers by the loaded models
        query = {"iotCode": imei, "vehicleCode": imei}
        assert (await vendor(c2, "GET", "/api/vehicle/query/version", query))["code"] == 0
        lock = {"iotCode": EXAMPLE_IMEI}
        assert (await vendor(c2, "POST", "/api/v2/vehicle/control/lock", lock))["code"] == 15705


@pytest.mark.parametrize(("op", "body"), [
    ("/api/vehicle/iot/bind", {"vehicleCode": "SC-7", "qrCode": "7"}),
    ("/api/v2/vehicle/setting/scooter", {"buttonSwitchSpeedMode": 1}),
])
async def test_a_snapshot_keeps_what_the_scooter_calls_record(
        client: TestClient, sim: Simulator, op: str, body: dict[str, Any]) -> None:
    """The vehicle code iot/bind records and the button setting travel too: a world in which a
    partner made these calls must load again (and so restore from --state-dir)."""
    imei = healthy_scooter(sim)
    sent = {"iotCode": imei, "vehicleCode": imei, **body}
    assert (await vendor(client, "POST", op, sent))["code"] == 0
    state = await call(client, "GET", f"/_sim/vehicles/{imei}")
    async with loaded_elsewhere(client) as c2:
        loaded = await call(c2, "GET", f"/_sim/vehicles/{imei}")
    assert loaded["vehicleCode"] == state["vehicleCode"]
    assert loaded["extras"] == state["extras"]


@pytest.mark.parametrize(("value", "field"), [
    (len(NAMES), "fleet.columns.model[4]"),
    (255, "fleet.columns.model[4]"),
    (-1, "fleet.columns.model"),
    ("scooter", "fleet.columns.model"),
    (1.5, "fleet.columns.model"),
])
async def test_a_snapshot_with_a_model_out_of_range_is_refused(
        client: TestClient, sim: Simulator, value: Any, field: str) -> None:
    saved = await call(client, "GET", "/_sim/snapshot")
    saved["fleet"]["columns"]["model"][4] = value
    await misuse(client, sim, "PUT", "/_sim/snapshot", saved, field)


async def test_a_snapshot_with_an_unknown_push_format_or_token_clock_is_refused(
        client: TestClient, sim: Simulator) -> None:
    saved = await call(client, "GET", "/_sim/snapshot")
    bad = {**saved, "tokens": {**saved["tokens"], "clock": "sundial"}}
    await misuse(client, sim, "PUT", "/_sim/snapshot", bad, "tokens.clock")
    platforms = [{**saved["platforms"][0], "push_format": "v9"}]
    await misuse(client, sim, "PUT", "/_sim/snapshot", {**saved, "platforms": platforms},
                 "platforms[0].push_format")


# -- the token clock ---------------------------------------------------------------------------

LIFETIME = 3600


def token_config(clock: str) -> Config:
    # Coarse ticks: days pass in a few hundred steps (timers still fire at their times).
    return Config(seed=7, vehicles=5, paused=True, riders=False, physics=PhysicsConfig.quiet(),
                  tick_s=600.0, token_lifetime=LIFETIME, token_clock=clock)


async def grant(client: TestClient) -> tuple[str, int]:
    resp = await client.post("/oauth/token", data={
        "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
        "grant_type": "client_credentials"})
    assert resp.status == 200
    body = await resp.json()
    return body["access_token"], body["expires_in"]


async def status_code(client: TestClient, token: str) -> int:
    answer = await vendor(client, "GET", "/api/v2/vehicle/query/current/status",
                          {"iotCode": EXAMPLE_IMEI}, {"Authorization": f"bearer {token}"})
    code: int = answer["code"]
    return code


async def advance(client: TestClient, seconds: float) -> None:
    await call(client, "POST", "/_sim/clock", {"advance": seconds})


class TestWallTokenClock:
    @pytest.fixture
    def config(self) -> Config:
        return token_config("wall")

    async def test_a_token_outlives_a_jump_of_days(self, client: TestClient) -> None:
        assert (await call(client, "GET", "/_sim/clock"))["tokenClock"] == "wall"
        token, expires_in = await grant(client)
        assert LIFETIME - 2 <= expires_in <= LIFETIME
        await advance(client, THREE_DAYS)
        assert await status_code(client, token) == 0
        again, left = await grant(client)
        # the same token, with what the wall clock left of it (no sleeping: about all of it)
        assert again == token and LIFETIME - 5 <= left <= expires_in

    async def test_switching_to_virtual_keeps_each_tokens_seconds(self, client: TestClient
                                                                  ) -> None:
        token, _ = await grant(client)
        clock = await call(client, "POST", "/_sim/clock", {"tokenClock": "virtual"})
        assert clock["tokenClock"] == "virtual"
        _, left = await grant(client)
        assert LIFETIME - 5 <= left <= LIFETIME
        await advance(client, left - 30)
        assert await status_code(client, token) == 0
        await advance(client, 60)
        assert await status_code(client, token) == 15101  # now the virtual clock's rule holds


class TestVirtualTokenClock:
    @pytest.fixture
    def config(self) -> Config:
        return token_config("virtual")

    async def test_tokens_expire_on_the_virtual_clock(self, client: TestClient) -> None:
        assert (await call(client, "GET", "/_sim/clock"))["tokenClock"] == "virtual"
        token, expires_in = await grant(client)
        assert expires_in == LIFETIME  # the clock is paused: not a second has gone
        await advance(client, LIFETIME - 1)
        assert await status_code(client, token) == 0
        await advance(client, 1)
        assert await status_code(client, token) == 15101
        assert await status_code(client, DEMO_TOKEN) == 15101

    async def test_switching_to_wall_keeps_the_seconds_left(self, client: TestClient) -> None:
        token, _ = await grant(client)
        await advance(client, 1000)
        await call(client, "POST", "/_sim/clock", {"tokenClock": "wall"})
        _, left = await grant(client)
        assert LIFETIME - 1000 - 5 <= left <= LIFETIME - 1000
        await advance(client, THREE_DAYS)
        assert await status_code(client, token) == 0

    async def test_a_bad_token_clock_is_refused(self, client: TestClient, sim: Simulator
                                                ) -> None:
        await misuse(client, sim, "POST", "/_sim/clock", {"tokenClock": "sundial"}, "tokenClock")
        await misuse(client, sim, "POST", "/_sim/clock", {"tokenClock": None}, "tokenClock")


# -- the v1 push format ------------------------------------------------------------------------


async def rental_with_incidents(rig: Rig, code: str, push_format: str) -> tuple[str, str]:
    """A platform `code` in `push_format` with one scooter: unlocked, locked remotely, an alert
    and a fault, then a quarter of an hour of periodic reports. (its IMEI, its client secret)"""
    client, sim = rig.client, rig.sim
    made = await call(client, "POST", "/_sim/platforms",
                      {"clientId": code, "callbackUrl": rig.receiver.url,
                       "pushFormat": push_format, "vehicles": 1, "model": "scooter"}, 201)
    secret = made["clientSecret"]
    resp = await client.post("/oauth/token", data={
        "client_id": code, "client_secret": secret, "grant_type": "client_credentials"})
    auth = {"Authorization": f"bearer {(await resp.json())['access_token']}"}
    page = await call(client, "GET", "/_sim/vehicles", params={"platformCode": code})
    imei = page["items"][0]["iotCode"]
    sim.make_healthy(row_of(sim, imei))
    for path in ("/api/v2/vehicle/control/unlock", "/api/v2/vehicle/control/lock"):
        assert (await vendor(client, "POST", path, {"iotCode": imei}, auth))["code"] == 0
        await rig.settle()  # in this order: a status report each, and the lock's components
    await call(client, "POST", f"/_sim/vehicles/{imei}/events", {"type": "alert", "code": 1})
    await call(client, "POST", f"/_sim/vehicles/{imei}/events", {"type": "fault", "code": "E3"})
    await rig.settle()
    await rig.advance(900)  # the periodic reports, locations among them
    return imei, secret


async def test_a_v1_platform_gets_signed_status_pushes_only(client: TestClient,
                                                            sim: Simulator) -> None:
    receiver = Receiver(sim)
    await receiver.start()
    rig = Rig(client, sim, receiver)
    try:
        imei, secret = await rental_with_incidents(rig, "E40001", "v1")
        v2_imei, _ = await rental_with_incidents(rig, "E40002", "v2")
    finally:
        assert receiver.server is not None
        await receiver.server.close()
    mine = receiver.of(imei=imei)
    assert len(mine) >= 3
    for got in mine:
        assert got.path == "/hook/vehicle/status", got.path
        assert got.form["vehicleCode"] == imei
        assert verify_signature(got.raw, secret) and got.signed_by(secret)
        assert {"online", "locked", "odometer", "remainingRange", "latitude", "longitude",
                "statusUtcTime", "gpsUtcTime"} <= set(got.form)
    assert [got.form["locked"] for got in mine[:2]] == ["false", "true"]
    assert {record["type"] for record in rig.journal(iotCode=imei)} == {"status"}
    # The same on a v2 platform pushes every kind, each at its v2 path.
    theirs = receiver.of(imei=v2_imei)
    assert {got.kind for got in theirs} == {"status", "components", "alert", "fault",
                                            "location"}
    assert all(got.path == f"/hook/v2/vehicle/{got.kind}" for got in theirs)
    assert all("vehicleCode" not in got.form for got in theirs)


# -- unknown paths --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "status", "allow"), [
    ("GET", "/api/v2/vehicle/control/teleport", 404, None),
    ("POST", "/api/v3/vehicle/control/unlock", 404, None),
    ("GET", "/nothing/here", 404, None),
    ("GET", "/api/v2/vehicle/control/lock", 405, "POST"),
    ("GET", "/api/vehicle/control/battery/cover", 405, "POST"),
    ("POST", "/api/vehicle/query/version", 405, "GET"),
])
async def test_an_unknown_path_answers_json_with_code_and_msg(
        client: TestClient, method: str, path: str, status: int, allow: str | None) -> None:
    resp = await client.request(method, path, headers=AUTH)
    assert resp.status == status
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert body["code"] == status and body["status"] == status
    assert body["msg"] == body["error"] == {404: "Not Found", 405: "Method Not Allowed"}[status]
    assert body["path"] == path
    if allow is not None:
        assert allow in resp.headers["Allow"].split(",")


# -- the A200, unchanged in a mixed fleet ----------------------------------------------------


async def test_the_example_imeis_are_a200s_that_answer_as_the_reference(
        client: TestClient, sim: Simulator) -> None:
    for imei in DEMO_IMEIS:
        assert (await call(client, "GET", f"/_sim/vehicles/{imei}"))["model"] == "a200"
    location = await vendor(client, "GET", "/api/v2/vehicle/query/current/location",
                            {"iotCode": EXAMPLE_IMEI})
    assert location["code"] == 0 and "gpsUtcTime" in location["data"]
    assert "gpsUTCTime" not in location["data"]
    scooter = healthy_scooter(sim)
    theirs = await vendor(client, "GET", "/api/v2/vehicle/query/current/location",
                          {"iotCode": scooter})
    assert "gpsUTCTime" in theirs["data"] and "gpsUtcTime" not in theirs["data"]
    # each model's own rules
    for imei, control_type, code in ((EXAMPLE_IMEI, 1, 15004), (scooter, 1, 0),
                                     (EXAMPLE_IMEI, 3, 0)):
        sound = {"iotCode": imei, "controlType": control_type}
        assert (await vendor(client, "POST", "/api/v2/vehicle/control/sound", sound))["code"] \
            == code
    only_mode = {"iotCode": EXAMPLE_IMEI, "workMode": 2}
    assert (await vendor(client, "POST", "/api/v2/vehicle/setting/sound", only_mode))["code"] \
        == 15004
    for path in ("/api/v2/vehicle/control/lock", "/api/vehicle/control/unlock"):
        body = {"iotCode": EXAMPLE_IMEI, "vehicleCode": EXAMPLE_IMEI}
        answer = await vendor(client, "POST", path, body)
        assert answer["code"] == 15705
    mech = await vendor(client, "POST", "/api/v2/vehicle/control/mech-lock",
                        {"iotCode": EXAMPLE_IMEI})
    assert mech["code"] == 0


def test_an_a200_lives_the_same_beside_scooters() -> None:
    """Row for row, the A200s of a mixed fleet are the A200s of an all-A200 fleet of the seed,
    and stay so through half an hour of rentals with riders and every chance rate on."""
    worlds = [Simulator(Config(seed=7, vehicles=20, paused=True, riders=True, models=mix))
              for mix in ((("a200", 1.0),), MIX)]
    for sim in worlds:
        sim.make_healthy(np.arange(20))
        for imei in sim.fleet.imeis:
            assert sim.vendor.command("unlock", f"bearer {DEMO_TOKEN}", {"iotCode": imei}) is None
        sim.advance(1800)
    alone, mixed = worlds
    a200s = np.flatnonzero(mixed.fleet.model == INDEX["a200"]).tolist()
    assert len(a200s) == 14
    for row in a200s:
        assert row_state(mixed, row) == row_state(alone, row), row


@pytest.mark.parametrize(("mix", "model"), [
    ((("scooter", 30.0), ("a200", 70.0)), "scooter"),
    ((("a200", 1.0),), "a200"),
])
def test_the_example_imeis_take_the_first_model_named(mix: models.Mix, model: str) -> None:
    sim = Simulator(Config(seed=3, vehicles=10, paused=True, riders=False, models=mix))
    assert [models.model_name(sim.fleet, row_of(sim, imei)) for imei in DEMO_IMEIS] == [model] * 3


def test_every_operation_belongs_to_a_model() -> None:
    assert set(OPERATIONS) == A200_OPS | SCOOTER_OPS

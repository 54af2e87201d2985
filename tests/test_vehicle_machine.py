"""The A200's vendor operations, driven through the core (no HTTP) against a small model of
their own: the rules every vehicle's machine has (tests/helpers/vehicle_machine.py), the A200's
commands and what they do, and its firmware changing under it (15707 for the interval setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from simulator.core import vehicle
from simulator.core.events import STATUS
from simulator.core.fleet import FIRMWARES
from simulator.core.models import BY_NAME
from simulator.core.operations import Query
from simulator.sim import Config
from tests.helpers.vehicle_machine import VehicleMachine, VehicleModel

VALID: dict[str, dict[str, Any]] = {
    "unlock": {}, "battery-cover": {}, "mech-lock": {}, "whole-shutdown": {},
    "sound": {"controlType": 2},
    "anti-theft": {"controlType": 1},
    "ambient": {"bright": 1, "mode": 2, "color": 3},
    "wireless-charging": {"controlType": 1},
    "setting/switch": {"bssDisplay": 2, "alertSensitivity": 1, "unlockHeadLight": 1,
                       "unlockTailLight": 3, "brakeTailLight": 0, "wirelessCharge": 1,
                       "climbInput": 2},
    "setting/ambient": {"bright": 2, "ecoMode": {"mode": 3, "color": 4}},
    "setting/sound": {"workMode": 1, "volume": 2},
    "setting/speed-mode": {"speedMode": 3},
    "setting/bluetooth-key": {"key": "Zz9Zz9Zz"},
    "setting/interval": {"statusInterval": {"nonRiding": 60}},
}
A200 = BY_NAME["a200"]
COMMANDS = tuple(op for op in vehicle.COMMANDS if op in A200.bodies)
QUERIES = tuple(op for op in vehicle.QUERIES if op in A200.queries)
OPERATIONS = QUERIES + COMMANDS
assert set(VALID) == set(COMMANDS)
FLAGS = ("online", "activated", "upgrading", "dormant", "has_mech_lock", "has_fix")


@dataclass
class Model(VehicleModel):
    """What the A200 should be, by the reference's rules, kept apart from the simulator."""

    has_mech_lock: bool = True
    firmware: int = 10500

    def refusal(self, op: str, realtime: bool = False) -> int | None:
        if not self.activated:
            return 15300
        if op in vehicle.QUERIES and not realtime:
            return 15400 if op == "location" and not self.has_fix else None
        if self.transport or not self.online:
            return 15301
        if op in vehicle.QUERIES:  # a real-time location: reachable, then the query's guards
            return 15400 if not self.has_fix else None
        if self.upgrading:
            return 15500
        if self.dormant:
            return 15704
        if op == "battery-cover" and self.locked:
            return 15635
        if op == "mech-lock" and not self.has_mech_lock:
            return 15705
        if op == "setting/interval" and self.firmware < 10400:
            return 15707
        return None


class A200Machine(VehicleMachine):
    QUERIES = QUERIES
    ALL_OPS = OPERATIONS
    FLAGS = FLAGS
    MODEL = "a200"

    m: Model

    @initialize(row=st.integers(0, 2))
    def start(self, row: int) -> None:
        self.begin(Config(seed=3, vehicles=3, paused=True, riders=False), row)

    def new_model(self) -> Model:
        return Model()

    @rule(op=st.sampled_from(COMMANDS), seconds=st.integers(0, 120))
    def command(self, op: str, seconds: int) -> None:
        self.sim.advance(seconds)
        self._command(op, VALID[op])

    @rule()
    def whole_shutdown(self) -> None:
        self._command("whole-shutdown", VALID["whole-shutdown"])

    def _applied(self, op: str, params: dict[str, Any]) -> None:
        m, reported = self.m, self.kinds()
        if op == "unlock":
            assert reported == ([STATUS] if m.locked else [])
            m.locked = False
        elif op == "battery-cover":
            m.cover_open = True
        elif op == "whole-shutdown":
            assert reported == [STATUS]
            m.transport, m.online = True, False
        elif op == "setting/speed-mode":
            assert reported == ([STATUS] if m.speed_mode != 3 else [])
            m.speed_mode = 3
        else:
            assert reported == []

    def call_for(self, op: str, auth: str, imei: str) -> None:
        if op in vehicle.QUERIES:
            self.ops.query(op, auth, Query.of(iotCode=imei))
        else:
            self.ops.command(op, auth, {"iotCode": imei, **VALID[op]})

    @rule(firmware=st.sampled_from(FIRMWARES))
    def firmware(self, firmware: int) -> None:
        self.sim.fleet.firmware[self.row] = firmware
        self.m.firmware = firmware


A200Machine.TestCase.settings = settings(max_examples=100, stateful_step_count=30)
TestVehicleMachine = A200Machine.TestCase

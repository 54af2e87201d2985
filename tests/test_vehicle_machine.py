"""The vehicle state machine, driven through the core (no HTTP) against a small model of its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conftest import row_state
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from simulator.core import vehicle
from simulator.core.errors import VendorError
from simulator.core.events import COMPONENTS, STATUS, Event
from simulator.core.fleet import FIRMWARES
from simulator.sim import Config, Simulator

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
assert set(VALID) == set(vehicle.COMMANDS)
FLAGS = ("online", "activated", "upgrading", "dormant", "has_mech_lock", "has_fix")


@dataclass
class Model:
    """What the vehicle should be, by the reference's rules, kept apart from the simulator."""

    activated: bool = True
    online: bool = True
    transport: bool = False
    upgrading: bool = False
    dormant: bool = False
    locked: bool = True
    cover_open: bool = False
    has_mech_lock: bool = True
    has_fix: bool = True
    firmware: int = 10500
    speed_mode: int = 2

    def refusal(self, op: str) -> int | None:
        if not self.activated:
            return 15300
        if op in vehicle.QUERIES:
            return 15400 if op == "location" and not self.has_fix else None
        if self.transport or not self.online:
            return 15301
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


class VehicleMachine(RuleBasedStateMachine):
    @initialize(row=st.integers(0, 2))
    def start(self, row: int) -> None:
        self.sim = Simulator(Config(seed=3, vehicles=3, paused=True, riders=False))
        self.sim.tickers.clear()  # the state machine alone: no physics or riders in between
        self.sim.make_healthy(self.sim.fleet.uid >= 0)
        self.row = row
        self.sim.fleet.speed_mode[row] = 2
        self.model = Model()
        self.events: list[Event] = []
        self.sim.bus.subscribe(self.events.append)

    def kinds(self) -> list[str]:
        kinds = [e.kind for e in self.events]
        assert all(e.row == self.row for e in self.events)
        self.events.clear()
        return kinds

    @rule(op=st.sampled_from(vehicle.COMMANDS), seconds=st.integers(0, 120))
    def command(self, op: str, seconds: int) -> None:
        self.sim.advance(seconds)
        self._command(op)

    # The transitions that matter most get rules of their own, so sequences such as
    # unlock -> battery-cover -> rider lock are common rather than 1 in 14**2 draws.
    @rule()
    def unlock(self) -> None:
        self._command("unlock")

    @rule()
    def battery_cover(self) -> None:
        self._command("battery-cover")

    @rule()
    def whole_shutdown(self) -> None:
        self._command("whole-shutdown")

    def _command(self, op: str) -> None:
        expected = self.model.refusal(op)
        before = row_state(self.sim, self.row)
        try:
            self.sim.command(self.row, op, VALID[op])
        except VendorError as err:
            assert err.code == expected, (op, err.code, expected)
            assert row_state(self.sim, self.row) == before  # a refusal changes nothing
            assert self.kinds() == []
            return
        assert expected is None, (op, expected)
        m, reported = self.model, self.kinds()
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

    @rule(op=st.sampled_from(vehicle.QUERIES))
    def query(self, op: str) -> None:
        before = row_state(self.sim, self.row)
        try:
            self.sim.query(self.row, op)
            code = None
        except VendorError as err:
            code = err.code
        assert code == self.model.refusal(op)
        assert row_state(self.sim, self.row) == before

    @rule()
    def real_time_location(self) -> None:
        m = self.model
        expected = 15300 if not m.activated else 15301 if m.transport or not m.online else None
        try:
            vehicle.admit_realtime(self.sim.fleet, self.row)
            code = None
        except VendorError as err:
            code = err.code
        assert code == expected

    @rule()
    def rider_lock(self) -> None:
        vehicle.rider_lock(self.sim.fleet, self.row, self.sim.clock.now, self.sim.bus)
        # exactly one status and one components push per unlocked -> locked change
        reported = self.kinds()
        assert reported == ([] if self.model.locked else [STATUS, COMPONENTS])
        self.model.locked, self.model.cover_open = True, False

    @rule()
    def power_on(self) -> None:
        vehicle.power_on(self.sim.fleet, self.row, self.sim.clock.now, self.sim.bus)
        m = self.model
        assert self.kinds() == ([STATUS] if m.transport or not m.online else [])
        m.transport, m.dormant, m.online = False, False, True

    @precondition(lambda self: not self.model.transport)  # a powered-off vehicle stays offline
    @rule(flag=st.sampled_from(FLAGS), value=st.booleans())
    def flip(self, flag: str, value: bool) -> None:
        self.sim.fleet.column(flag)[self.row] = value
        setattr(self.model, flag, value)

    @rule(firmware=st.sampled_from(FIRMWARES))
    def firmware(self, firmware: int) -> None:
        self.sim.fleet.firmware[self.row] = firmware
        self.model.firmware = firmware

    @rule()
    def in_flight(self) -> None:
        self.sim.begin_command(self.row)
        try:
            self.sim.begin_command(self.row)
            raise AssertionError("a second command while one is in flight")
        except VendorError as err:
            assert err.code == 15104
        finally:
            self.sim.end_command(self.row)
        assert not self.sim.inflight

    @invariant()
    def matches_the_model(self) -> None:
        f, i, m = self.sim.fleet, self.row, self.model
        actual = (bool(f.activated[i]), bool(f.online[i]), bool(f.transport[i]),
                  bool(f.upgrading[i]), bool(f.dormant[i]), bool(f.locked[i]),
                  bool(f.cover_open[i]), int(f.speed_mode[i]))
        assert actual == (m.activated, m.online, m.transport, m.upgrading, m.dormant, m.locked,
                          m.cover_open, m.speed_mode)

    @invariant()
    def cover_open_only_unlocked(self) -> None:
        assert not (self.sim.fleet.cover_open[self.row] and self.sim.fleet.locked[self.row])

    @invariant()
    def transport_mode_is_offline(self) -> None:
        assert not (self.sim.fleet.transport[self.row] and self.sim.fleet.online[self.row])

    @invariant()
    def others_untouched(self) -> None:
        others = [r for r in range(3) if r != self.row]
        assert all(self.sim.fleet.locked[r] and self.sim.fleet.online[r] for r in others)


VehicleMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30,
                                            deadline=None)
TestVehicleMachine = VehicleMachine.TestCase

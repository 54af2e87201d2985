"""The vendor operations, driven through the core (no HTTP) against a small model of their own.

Every call goes through `Operations.query` / `Operations.command` with a token and a body, so
the whole check order is exercised: token, parameters, lookup, fault rules, command in flight,
the vehicle's state, the effect. Fault rules (with and without a delay) and commands held in
flight by a delay are rules of the machine, so their precedence meets every vehicle state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from simulator.core import vehicle
from simulator.core.errors import VendorError
from simulator.core.events import COMPONENTS, STATUS, Event
from simulator.core.fleet import FIRMWARES
from simulator.core.operations import Pending, Query, Reading
from simulator.sim import DEMO_TOKEN, Config, Simulator
from tests.helpers.vendor import row_state

AUTH = f"bearer {DEMO_TOKEN}"
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
FAULT_CODES = (15302, 15303, 15601, 15638)
UNKNOWN_IMEI = "999999999999999"


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


@dataclass
class FaultModel:
    """A fault rule as the model sees it (probability 1: every match fires)."""

    iot_code: str | None
    endpoint: str | None
    code: int | None
    delay_ms: int
    times: int | None

    def key(self) -> tuple[str | None, str | None, int | None, int, int | None]:
        return (self.iot_code, self.endpoint, self.code, self.delay_ms, self.times)


@dataclass
class Held:
    """A command the machine holds in flight (a delay rule matched it)."""

    pending: Pending[None]
    op: str
    code: int | None  # the rule's code, answered when the delay is over


@dataclass
class Faults:
    rules: list[FaultModel] = field(default_factory=list)

    def match(self, imei: str, op: str) -> FaultModel | None:
        """The first rule that fires for (imei, op), consuming one of its times."""
        for r in self.rules:
            if r.iot_code not in (None, imei) or r.endpoint not in (None, op):
                continue
            if r.times is not None:
                r.times -= 1
                if r.times == 0:
                    self.rules.remove(r)
            return r
        return None


class VehicleMachine(RuleBasedStateMachine):
    @initialize(row=st.integers(0, 2))
    def start(self, row: int) -> None:
        self.sim = Simulator(Config(seed=3, vehicles=3, paused=True, riders=False))
        self.sim.tickers.clear()  # the state machine alone: no physics or riders in between
        self.sim.make_healthy(self.sim.fleet.uid >= 0)
        tenant = self.sim.add_platform("E30001", "other-secret")
        foreign = self.sim.add_vehicles(tenant, 1, variety=False)
        self.sim.make_healthy(foreign)
        self.foreign = self.sim.fleet.imeis[int(foreign[0])]
        self.ops = self.sim.vendor
        self.row = row
        self.imei = self.sim.fleet.imeis[row]
        self.other = self.sim.fleet.imeis[(row + 1) % 3]
        self.sim.fleet.speed_mode[row] = 2
        self.model = Model()
        self.faults = Faults()
        self.held: Held | None = None
        self.events: list[Event] = []
        self.sim.bus.subscribe(self.events.append)

    def kinds(self) -> list[str]:
        kinds = [e.kind for e in self.events]
        assert all(e.row == self.row for e in self.events)
        self.events.clear()
        return kinds

    def state(self) -> dict[str, Any]:
        return {k: v for k, v in row_state(self.sim, self.row).items() if k != "inflight"}

    # -- commands -------------------------------------------------------------------------------

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
        fault = self.faults.match(self.imei, op)
        if fault is not None and not fault.delay_ms:
            expected: int | None = fault.code  # an injected code beats the command in flight
        elif self.held is not None:
            expected = 15104
        elif fault is not None:
            expected = None  # held in flight until the machine finishes or abandons it
        else:
            expected = self.model.refusal(op)
        before = self.state()
        try:
            pending = self.ops.command(op, AUTH, {"iotCode": self.imei, **VALID[op]})
        except VendorError as err:
            assert err.code == expected, (op, err.code, expected)
            assert self.state() == before  # a refusal changes nothing
            assert self.kinds() == []
            return
        assert expected is None, (op, expected)
        if fault is not None:
            assert isinstance(pending, Pending) and pending.delay == fault.delay_ms / 1000
            assert self.state() == before and self.kinds() == []  # not applied yet
            self.held = Held(pending, op, fault.code)
            return
        assert pending is None
        self._applied(op)

    def _applied(self, op: str) -> None:
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

    @precondition(lambda self: self.held is not None)
    @rule()
    def delay_over(self) -> None:
        """The held command's delay ends: the rule's code, or the vehicle's answer as it is now."""
        assert self.held is not None
        held, self.held = self.held, None
        expected = held.code if held.code is not None else self.model.refusal(held.op)
        before = self.state()
        try:
            held.pending.finish()
        except VendorError as err:
            assert err.code == expected, (held.op, err.code, expected)
            assert self.state() == before and self.kinds() == []
            return
        assert expected is None, (held.op, expected)
        self._applied(held.op)

    @precondition(lambda self: self.held is not None)
    @rule()
    def caller_gives_up(self) -> None:
        assert self.held is not None
        before = self.state()
        self.held.pending.abandon()
        self.held = None
        assert self.state() == before and self.kinds() == []

    # -- queries --------------------------------------------------------------------------------

    @rule(op=st.sampled_from(vehicle.QUERIES))
    def query(self, op: str) -> None:
        self._query(op, Query.of(iotCode=self.imei), realtime=False)

    @rule()
    def real_time_location(self) -> None:
        self._query("location", Query.of(iotCode=self.imei, realTimeLocation="true"),
                    realtime=True)

    def _query(self, op: str, query: Query, realtime: bool) -> None:
        """A command in flight does not hold queries back (they are not commands)."""
        fault = self.faults.match(self.imei, op)
        if fault is not None and fault.code is not None:
            expected: int | None = fault.code
        else:
            expected = self.model.refusal(op, realtime)
        before = row_state(self.sim, self.row)
        try:
            answer: Reading | Pending[Reading] = self.ops.query(op, AUTH, query)
            if fault is not None and fault.delay_ms:
                assert isinstance(answer, Pending) and answer.delay == fault.delay_ms / 1000
                answer = answer.finish()
            assert isinstance(answer, dict) and answer["iotCode"] == self.imei
            code = None
        except VendorError as err:
            code = err.code
        assert code == expected, (op, code, expected)
        assert row_state(self.sim, self.row) == before

    # -- what is checked before the fault rules -------------------------------------------------

    @rule(op=st.sampled_from(vehicle.OPERATIONS),
          who=st.sampled_from(["bad token", "bad imei", "unknown", "foreign"]))
    def refused_before_the_rules(self, op: str, who: str) -> None:
        """15101, 15004, 15102, 15103 come before any rule: no rule fires, nothing changes."""
        auth = "bearer not-a-token" if who == "bad token" else AUTH
        imei = {"bad token": self.imei, "bad imei": "86147703871911x", "unknown": UNKNOWN_IMEI,
                "foreign": self.foreign}[who]
        expected = {"bad token": 15101, "bad imei": 15004, "unknown": 15102,
                    "foreign": 15103}[who]
        rules = [r.key() for r in self.faults.rules]
        before = row_state(self.sim, self.row)
        try:
            if op in vehicle.QUERIES:
                self.ops.query(op, auth, Query.of(iotCode=imei))
            else:
                self.ops.command(op, auth, {"iotCode": imei, **VALID[op]})
            raise AssertionError(f"{op} for {who} was answered")
        except VendorError as err:
            assert err.code == expected
        assert [r.key() for r in self.faults.rules] == rules
        assert row_state(self.sim, self.row) == before

    # -- fault rules ----------------------------------------------------------------------------

    @rule(code=st.none() | st.sampled_from(FAULT_CODES), delay=st.booleans(),
          endpoint=st.none() | st.sampled_from(vehicle.OPERATIONS),
          aim=st.sampled_from(["this", "other", "any", "unknown"]),
          times=st.none() | st.integers(1, 2))
    def add_fault(self, code: int | None, delay: bool, endpoint: str | None, aim: str,
                  times: int | None) -> None:
        delay_ms = 250 if delay or code is None else 0
        iot = {"this": self.imei, "other": self.other, "any": None,
               "unknown": UNKNOWN_IMEI}[aim]
        self.sim.faults.add(code=code, delayMs=delay_ms, endpoint=endpoint, iotCode=iot,
                            times=times)
        self.faults.rules.append(FaultModel(iot, endpoint, code, delay_ms, times))

    @rule()
    def clear_faults(self) -> None:
        self.sim.faults.remove()
        self.faults.rules.clear()

    # -- the world acting on the vehicle --------------------------------------------------------

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

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def matches_the_model(self) -> None:
        f, i, m = self.sim.fleet, self.row, self.model
        actual = (bool(f.activated[i]), bool(f.online[i]), bool(f.transport[i]),
                  bool(f.upgrading[i]), bool(f.dormant[i]), bool(f.locked[i]),
                  bool(f.cover_open[i]), int(f.speed_mode[i]))
        assert actual == (m.activated, m.online, m.transport, m.upgrading, m.dormant, m.locked,
                          m.cover_open, m.speed_mode)

    @invariant()
    def rules_match_the_model(self) -> None:
        actual = [(r.iotCode, r.endpoint, r.code, r.delayMs, r.times)
                  for r in self.sim.faults.rules]
        assert actual == [r.key() for r in self.faults.rules]

    @invariant()
    def in_flight_only_while_held(self) -> None:
        assert list(self.sim.inflight) == ([self.row] if self.held is not None else [])

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


VehicleMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30)
TestVehicleMachine = VehicleMachine.TestCase

"""What the vendor operations' state machines share, whichever model of vehicle they drive.

Every call goes through `Operations.query` / `Operations.command` with a token and a body, so
the whole check order is exercised: token, parameters, lookup, fault rules, command in flight,
the vehicle's state, the effect. Fault rules (with and without a delay) and commands held in
flight by a delay are rules of the machine, so their precedence meets every vehicle state.

A machine says which operations and flags it has (class attributes), how it builds a command's
body and what a command does to its model (`body`, `_applied`), and adds rules of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from simulator.core import vehicle
from simulator.core.errors import VendorError
from simulator.core.events import COMPONENTS, STATUS, Event
from simulator.core.operations import Pending, Query, Reading
from simulator.sim import DEMO_TOKEN, Config, Simulator
from tests.helpers.vendor import row_state

AUTH = f"bearer {DEMO_TOKEN}"
FAULT_CODES = (15302, 15303, 15601, 15638)
UNKNOWN_IMEI = "999999999999999"


@dataclass
class VehicleModel:
    """What every model of vehicle should be; a machine's model adds its own and `refusal`."""

    activated: bool = True
    online: bool = True
    transport: bool = False
    upgrading: bool = False
    dormant: bool = False
    has_fix: bool = True
    locked: bool = True
    cover_open: bool = False
    speed_mode: int = 2

    def refusal(self, op: str, realtime: bool = False) -> int | None:
        """The code the vehicle answers `op` with as it is now (None: it does it)."""
        raise NotImplementedError

    def lock(self) -> None:
        self.locked, self.cover_open = True, False


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


@dataclass
class Held:
    """A command held in flight by a delay rule, with what it was sent."""

    pending: Pending[None]
    op: str
    params: dict[str, Any]
    code: int | None  # the rule's code, answered when the delay is over


class VehicleMachine(RuleBasedStateMachine):
    """The rules every vehicle's machine has; subclasses start it with `begin`."""

    QUERIES: ClassVar[tuple[str, ...]]
    ALL_OPS: ClassVar[tuple[str, ...]]  # what fault rules aim at and early refusals call
    FLAGS: ClassVar[tuple[str, ...]]  # fleet columns flipped under the vehicle
    MODEL: ClassVar[str]  # the foreign platform's vehicle's

    m: VehicleModel

    def begin(self, config: Config, row: int) -> None:
        self.sim = Simulator(config)
        self.sim.tickers.clear()  # the state machine alone: no physics or riders in between
        f = self.sim.fleet
        self.sim.make_healthy(np.arange(len(f)))
        tenant = self.sim.add_platform("E30001", "other-secret")
        foreign = self.sim.add_vehicles(tenant, 1, variety=False, model=self.MODEL)
        self.sim.make_healthy(foreign)
        self.foreign = f.imeis[int(foreign[0])]
        self.ops = self.sim.vendor
        self.row, self.imei, self.other = row, f.imeis[row], f.imeis[(row + 1) % 3]
        f.speed_mode[row] = 2
        self.m = self.new_model()
        self.faults = Faults()
        self.held: Held | None = None
        self.events: list[Event] = []
        self.sim.bus.subscribe(self.events.append)

    def new_model(self) -> VehicleModel:
        raise NotImplementedError

    def kinds(self) -> list[str]:
        kinds = [e.kind for e in self.events]
        assert all(e.row == self.row for e in self.events)
        self.events.clear()
        return kinds

    def state(self) -> dict[str, Any]:
        return {k: v for k, v in row_state(self.sim, self.row).items() if k != "inflight"}

    # -- commands -------------------------------------------------------------------------------

    def body(self, op: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"iotCode": self.imei, **params}

    def _applied(self, op: str, params: dict[str, Any]) -> None:
        """Check what the vehicle reported doing `op` and do it to the model."""
        raise NotImplementedError

    def _command(self, op: str, params: dict[str, Any]) -> None:
        fault = self.faults.match(self.imei, op)
        if fault is not None and not fault.delay_ms:
            expected: int | None = fault.code  # an injected code beats the command in flight
        elif self.held is not None:
            expected = 15104
        elif fault is not None:
            expected = None  # held in flight until the machine finishes or abandons it
        else:
            expected = self.m.refusal(op)
        before = self.state()
        try:
            pending = self.ops.command(op, AUTH, self.body(op, params))
        except VendorError as err:
            assert err.code == expected, (op, err.code, expected)
            assert self.state() == before  # a refusal changes nothing
            assert self.kinds() == []
            return
        assert expected is None, (op, expected)
        if fault is not None:
            assert isinstance(pending, Pending) and pending.delay == fault.delay_ms / 1000
            assert self.state() == before and self.kinds() == []  # not applied yet
            self.held = Held(pending, op, params, fault.code)
            return
        assert pending is None
        self._applied(op, params)

    # The transitions that matter most get rules of their own, so sequences such as
    # unlock -> battery-cover -> rider lock are common rather than 1 in 14**2 draws.
    @rule()
    def unlock(self) -> None:
        self._command("unlock", {})

    @rule()
    def battery_cover(self) -> None:
        self._command("battery-cover", {})

    @precondition(lambda self: self.held is not None)
    @rule()
    def delay_over(self) -> None:
        """The held command's delay ends: the rule's code, or the vehicle's answer as it is now."""
        assert self.held is not None
        held, self.held = self.held, None
        expected = held.code if held.code is not None else self.m.refusal(held.op)
        before = self.state()
        try:
            held.pending.finish()
        except VendorError as err:
            assert err.code == expected, (held.op, err.code, expected)
            assert self.state() == before and self.kinds() == []
            return
        assert expected is None, (held.op, expected)
        self._applied(held.op, held.params)

    @precondition(lambda self: self.held is not None)
    @rule()
    def caller_gives_up(self) -> None:
        assert self.held is not None
        before = self.state()
        self.held.pending.abandon()
        self.held = None
        assert self.state() == before and self.kinds() == []

    # -- queries --------------------------------------------------------------------------------

    @rule(data=st.data())
    def query(self, data: st.DataObject) -> None:
        self._read(data.draw(st.sampled_from(self.QUERIES)), realtime=None)

    @rule()
    def real_time_location(self) -> None:
        self._read("location", realtime="realTimeLocation")

    def query_fields(self, op: str) -> dict[str, str]:
        return {"iotCode": self.imei}

    def _read(self, op: str, realtime: str | None) -> None:
        """A query, real time if `realtime` names the flag that asks for it. A command in flight
        does not hold queries back (they are not commands)."""
        fields = self.query_fields(op)
        if realtime is not None:
            fields[realtime] = "true"
        fault = self.faults.match(self.imei, op)
        if fault is not None and fault.code is not None:
            expected: int | None = fault.code
        else:
            expected = self.m.refusal(op, realtime is not None)
        before = row_state(self.sim, self.row)
        try:
            answer: Reading | Pending[Reading] = self.ops.query(op, AUTH, Query.of(**fields))
            if fault is not None and fault.delay_ms:
                assert isinstance(answer, Pending) and answer.delay == fault.delay_ms / 1000
                answer = answer.finish()
            assert isinstance(answer, dict)
            self._check_reading(op, answer)
            code = None
        except VendorError as err:
            code = err.code
        assert code == expected, (op, code, expected)
        assert row_state(self.sim, self.row) == before

    def _check_reading(self, op: str, data: Reading) -> None:
        assert data["iotCode"] == self.imei

    # -- what is checked before the fault rules -------------------------------------------------

    def call_for(self, op: str, auth: str, imei: str) -> None:
        """Call `op` about `imei` with an otherwise valid query or body."""
        raise NotImplementedError

    @rule(who=st.sampled_from(["bad token", "bad imei", "unknown", "foreign"]), data=st.data())
    def refused_before_the_rules(self, who: str, data: st.DataObject) -> None:
        """15101, 15004, 15102, 15103 come before any rule: no rule fires, nothing changes."""
        op = data.draw(st.sampled_from(self.ALL_OPS))
        auth = "bearer not-a-token" if who == "bad token" else AUTH
        imei = {"bad token": self.imei, "bad imei": "86147703871911x", "unknown": UNKNOWN_IMEI,
                "foreign": self.foreign}[who]
        expected = {"bad token": 15101, "bad imei": 15004, "unknown": 15102,
                    "foreign": 15103}[who]
        rules = [r.key() for r in self.faults.rules]
        before = row_state(self.sim, self.row)
        try:
            self.call_for(op, auth, imei)
            raise AssertionError(f"{op} for {who} was answered")
        except VendorError as err:
            assert err.code == expected, (op, who, err.code)
        assert [r.key() for r in self.faults.rules] == rules
        assert row_state(self.sim, self.row) == before

    # -- fault rules ----------------------------------------------------------------------------

    @rule(code=st.none() | st.sampled_from(FAULT_CODES), delay=st.booleans(),
          aim=st.sampled_from(["this", "other", "any", "unknown"]),
          times=st.none() | st.integers(1, 2), data=st.data())
    def add_fault(self, code: int | None, delay: bool, aim: str, times: int | None,
                  data: st.DataObject) -> None:
        endpoint = data.draw(st.none() | st.sampled_from(self.ALL_OPS))
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
        assert self.kinds() == ([] if self.m.locked else [STATUS, COMPONENTS])
        self.m.lock()

    @rule()
    def power_on(self) -> None:
        vehicle.power_on(self.sim.fleet, self.row, self.sim.clock.now, self.sim.bus)
        m = self.m
        assert self.kinds() == ([STATUS] if m.transport or not m.online else [])
        m.transport, m.dormant, m.online = False, False, True

    @precondition(lambda self: not self.m.transport)  # a powered-off vehicle stays offline
    @rule(value=st.booleans(), data=st.data())
    def flip(self, value: bool, data: st.DataObject) -> None:
        flag = data.draw(st.sampled_from(self.FLAGS))
        self.sim.fleet.column(flag)[self.row] = value
        setattr(self.m, flag, value)

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def matches_the_model(self) -> None:
        f, i, m = self.sim.fleet, self.row, self.m
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

"""The kick scooter's vendor operations, driven through the core against a model of their own.

On the rules every vehicle's machine has (tests/helpers/vehicle_machine.py): every call goes
through `Operations.query` / `Operations.command` with a token and a body, fault rules (with and
without a delay) and commands held in flight are rules of the machine, and the vehicle's states
are flipped under it. On top: the remote lock ending a ride the world started, lights, per-mode
speed limits capping the rider at once, the first generation's calls and their vehicleCode
(15304, and iot/bind renaming it), and the A200's own operations, which a scooter answers 15705
whatever its state, before its parameters, the fault rules and the command in flight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from simulator.core import vehicle
from simulator.core.errors import VendorError
from simulator.core.events import COMPONENTS, STATUS
from simulator.core.models import BY_NAME, INDEX
from simulator.core.operations import Query, Reading
from simulator.sim import Config
from tests.helpers.vehicle_machine import AUTH, VehicleMachine, VehicleModel
from tests.helpers.vendor import VALID

SCOOTER = BY_NAME["scooter"]
COMMANDS = tuple(op for op in vehicle.COMMANDS if op in SCOOTER.bodies)
QUERIES = tuple(op for op in vehicle.QUERIES if op in SCOOTER.queries)
OPERATIONS = QUERIES + COMMANDS
V1_COMMANDS = tuple(op for op in COMMANDS if op.startswith("v1/"))
V2_COMMANDS = tuple(op for op in COMMANDS if op not in V1_COMMANDS)
A200_ONLY = tuple(op for op in vehicle.OPERATIONS if not SCOOTER.supports(op))
CAPS_KMH = (20.0, 15.0, 20.0, 25.0)  # by speed mode 0-3 (0 rides as medium): FIDELITY.md
FLAGS = ("online", "activated", "upgrading", "dormant", "has_fix")  # no mech lock to flip
CODES = ("SC-000001", "qr_7", "861477038719116")  # vehicle codes iot/bind may give
# What partners add to v2 bodies: none, or the vehicle code (any), which v2 ignores.
EXTRA_FIELDS: list[dict[str, Any]] = [{}, {"vehicleCode": "861477038719116"}, {"vehicleCode": 7}]

_LIMIT = st.integers(6, 25)
_LIMITS = {"lowSpeedLimit": _LIMIT, "mediumSpeedLimit": _LIMIT, "highSpeedLimit": _LIMIT}
_LIGHT = st.integers(0, 2)


def _fixed(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(fields)


# Every scooter command's parameters besides iotCode (and a v1 call's vehicleCode): each range
# and enum of the profile, every optional field present or not.
BODIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "unlock": _fixed(), "lock": _fixed(), "battery-cover": _fixed(), "whole-shutdown": _fixed(),
    "light": st.fixed_dictionaries({}, optional={"headLight": _LIGHT, "tailLight": _LIGHT})
    .filter(bool),
    "sound": _fixed(controlType=st.sampled_from((1, 2, 3, 10, 11, 12, 13))),
    "setting/sound": st.fixed_dictionaries({"workMode": st.integers(0, 2)},
                                           optional={"volume": st.integers(1, 3)}),
    "setting/speed-mode": _fixed(speedMode=st.integers(1, 3)),
    "setting/scooter": st.fixed_dictionaries(
        {}, optional={**_LIMITS, "buttonSwitchSpeedMode": st.integers(0, 1)}),
    "setting/bluetooth-key": _fixed(key=st.from_regex(r"[A-Za-z0-9]{8}", fullmatch=True)),
    "v1/unlock": _fixed(), "v1/lock": _fixed(), "v1/battery/cover": _fixed(),
    "v1/toot": _fixed(contentType=st.sampled_from((6, 7))),
    "v1/headlight": _fixed(controlType=st.integers(0, 1)),
    "v1/speed-mode": _fixed(speedMode=st.integers(1, 3)),
    "v1/setting/speed-limit": st.fixed_dictionaries({}, optional=_LIMITS),
    "v1/setting/location": _fixed(uploadInterval=st.integers(10, 65535)),
    "v1/iot/bind": _fixed(vehicleCode=st.sampled_from(CODES), qrCode=st.sampled_from(CODES)),
}
assert set(BODIES) == set(COMMANDS)

# Parameters each command refuses (15004), one per range, enum or required field.
BAD: dict[str, tuple[dict[str, Any], ...]] = {
    "light": ({}, {"headLight": 3}, {"tailLight": -1}, {"headLight": 1.5}),
    "sound": ({"controlType": 4}, {"controlType": 0}, {}),
    "setting/sound": ({"volume": 2}, {"workMode": 3}, {"workMode": 1, "volume": 4}),
    "setting/speed-mode": ({"speedMode": 0}, {"speedMode": 4}),
    "setting/scooter": ({"lowSpeedLimit": 5}, {"highSpeedLimit": 26},
                        {"buttonSwitchSpeedMode": 2}),
    "setting/bluetooth-key": ({"key": "short"}, {}),
    "v1/toot": ({"contentType": 5}, {"contentType": 2}),
    "v1/headlight": ({"controlType": 2},),
    "v1/speed-mode": ({"speedMode": 4},),
    "v1/setting/speed-limit": ({"mediumSpeedLimit": 30},),
    "v1/setting/location": ({"uploadInterval": 9}, {"uploadInterval": 65536}),
    "v1/iot/bind": ({"vehicleCode": "SC-1"}, {"vehicleCode": "a b", "qrCode": "x"}),
}
# One valid body of each command, for the calls refused before their parameters matter.
EXAMPLES: dict[str, dict[str, Any]] = {op: {} for op in COMMANDS} | {
    # Valid by the A200's rules too, which read an unknown vehicle's parameters (FIDELITY.md).
    "light": {"headLight": 1, "tailLight": 2}, "sound": {"controlType": 2},
    "setting/sound": {"workMode": 2, "volume": 1}, "setting/speed-mode": {"speedMode": 1},
    "setting/scooter": {"lowSpeedLimit": 6}, "setting/bluetooth-key": {"key": "Zz9Zz9Zz"},
    "v1/toot": {"contentType": 7}, "v1/headlight": {"controlType": 1},
    "v1/speed-mode": {"speedMode": 3}, "v1/setting/speed-limit": {"highSpeedLimit": 25},
    "v1/setting/location": {"uploadInterval": 30}, "v1/iot/bind": {"qrCode": "qr_7"},
}
# The first generation's calls, which name the vehicle a second time (all but iot/bind, which
# is what names it).
CHECKS_CODE = tuple(op for op in OPERATIONS if op.startswith("v1/") and op != "v1/iot/bind")


@dataclass
class ScooterModel(VehicleModel):
    """What the scooter should be, by the reference's rules and FIDELITY.md's scooter rows."""

    riding: bool = False
    ride_end: float | None = None  # when the world's rider parks and locks
    speed: float = 0.0
    head_light: int = 0
    tail_light: int = 0
    limits: list[int] = field(default_factory=lambda: [0, 0, 0])  # km/h by mode, 0 none
    work_mode: int = 1
    volume: int = 1
    bt_key: str = ""
    code: str = ""  # the v1 vehicle code
    upload_interval: int = 0

    def refusal(self, op: str, realtime: bool = False) -> int | None:
        if not self.activated:
            return 15300
        if op == "v1/iot/bind":  # the cloud's record: the device need not answer
            return None
        if op in vehicle.QUERIES:
            if realtime and (self.transport or not self.online):  # it asks the device
                return 15301
            # the v2 location needs a fix; the flat v1 reading answers without one
            return 15400 if op == "location" and not self.has_fix else None
        if self.transport or not self.online:
            return 15301
        if self.upgrading:
            return 15500
        if self.dormant:
            return 15704
        if op in ("battery-cover", "v1/battery/cover") and self.locked:
            return 15635
        return None

    def cap(self) -> float:
        mode = self.speed_mode
        limit = self.limits[mode - 1] if mode > 0 else self.limits[1]
        return float(limit) if limit > 0 else CAPS_KMH[mode]

    def stop(self) -> None:
        self.riding, self.ride_end, self.speed = False, None, 0.0

    def lock(self) -> None:
        self.stop()
        super().lock()


class ScooterMachine(VehicleMachine):
    QUERIES = QUERIES
    ALL_OPS = OPERATIONS + A200_ONLY
    FLAGS = FLAGS
    MODEL = "scooter"

    m: ScooterModel

    @initialize(row=st.integers(0, 2))
    def start(self, row: int) -> None:
        # no physics (begin clears the tickers): speeds are set by the machine's rider
        self.begin(Config(seed=3, vehicles=3, paused=True, riders=False,
                          models=(("scooter", 1.0),)), row)
        assert (self.sim.fleet.model == INDEX["scooter"]).all()

    def new_model(self) -> ScooterModel:
        f, row = self.sim.fleet, self.row
        return ScooterModel(
            head_light=int(f.head_light[row]),
            tail_light=int(f.tail_light[row]), limits=[int(x) for x in f.mode_limit[row]],
            work_mode=int(f.sound_work_mode[row]), volume=int(f.sound_volume[row]),
            bt_key=f.bt_key[row].decode(), code=self.imei,
            upload_interval=int(f.loc_unlock_interval[row]))

    def body(self, op: str, params: dict[str, Any]) -> dict[str, Any]:
        """A command's body: v1 calls name the vehicle code; v2 ones may carry it (ignored)."""
        extra = {"vehicleCode": self.m.code} if op.startswith("v1/") else {}
        return {"iotCode": self.imei, **extra, **params}

    def _advance(self, seconds: int) -> None:
        """Time passes: a ride the world started ends at its time (parked, locked)."""
        self.sim.advance(seconds)
        m = self.m
        if m.ride_end is not None and self.sim.clock.now >= m.ride_end:
            assert self.kinds() == [STATUS, COMPONENTS]
            m.lock()
        assert self.kinds() == []

    # -- commands -------------------------------------------------------------------------------

    @rule(op=st.sampled_from(V2_COMMANDS), seconds=st.integers(0, 120), data=st.data())
    def command(self, op: str, seconds: int, data: st.DataObject) -> None:
        self._advance(seconds)
        extra: dict[str, Any] = data.draw(st.sampled_from(EXTRA_FIELDS))
        self._command(op, {**data.draw(BODIES[op]), **extra})

    @rule(op=st.sampled_from(V1_COMMANDS), seconds=st.integers(0, 120), data=st.data())
    def v1_command(self, op: str, seconds: int, data: st.DataObject) -> None:
        self._advance(seconds)
        self._command(op, data.draw(BODIES[op]))

    @rule()
    def remote_lock(self) -> None:
        self._command("lock", {})

    @rule(limits=BODIES["setting/scooter"], mode=st.integers(1, 3))
    def limit_the_mode_ridden(self, limits: dict[str, Any], mode: int) -> None:
        self._command("setting/speed-mode", {"speedMode": mode})
        self._command("setting/scooter", limits)

    @precondition(lambda self: self.m.riding and self.m.speed > 6)
    @rule(v1=st.booleans(), data=st.data())
    def limit_mid_ride(self, v1: bool, data: st.DataObject) -> None:
        """The operator limits the mode being ridden below the rider's speed: the cap holds at
        once (unless the scooter cannot be reached, when nothing changes)."""
        mode = self.m.speed_mode
        limit = data.draw(st.integers(6, max(6, int(self.m.speed) - 1)))
        field = vehicle.LIMIT_FIELDS[mode - 1]
        self._command("v1/setting/speed-limit" if v1 else "setting/scooter", {field: limit})

    def _applied(self, op: str, p: dict[str, Any]) -> None:
        m, reported = self.m, self.kinds()
        if op in ("unlock", "v1/unlock"):
            assert reported == ([STATUS] if m.locked else [])
            m.locked = False
        elif op in ("lock", "v1/lock"):
            assert reported == ([] if m.locked else [STATUS, COMPONENTS])
            m.lock()
        elif op in ("battery-cover", "v1/battery/cover"):
            assert reported == []
            m.cover_open = True
        elif op == "whole-shutdown":
            assert reported == [STATUS]
            m.transport, m.online = True, False
            m.stop()
        elif op in ("setting/speed-mode", "v1/speed-mode"):
            assert reported == ([STATUS] if m.speed_mode != p["speedMode"] else [])
            m.speed_mode = p["speedMode"]
            m.speed = self._capped()
        else:
            assert reported == []
            self._setting(op, p)

    def _setting(self, op: str, p: dict[str, Any]) -> None:
        m = self.m
        if op == "light":
            m.head_light = p.get("headLight", m.head_light)
            m.tail_light = p.get("tailLight", m.tail_light)
        elif op == "v1/headlight":
            m.head_light = p["controlType"]
        elif op in ("setting/scooter", "v1/setting/speed-limit"):
            for n, name in enumerate(vehicle.LIMIT_FIELDS):
                m.limits[n] = p.get(name, m.limits[n])
            m.speed = self._capped()
        elif op == "setting/sound":
            m.work_mode = p["workMode"] or m.work_mode  # 0: no setting
            m.volume = p.get("volume", m.volume)  # the scooter's may leave the volume out
        elif op == "setting/bluetooth-key":
            m.bt_key = p["key"]
        elif op == "v1/setting/location":
            m.upload_interval = p["uploadInterval"]
        elif op == "v1/iot/bind":
            m.code = p["vehicleCode"]
        else:
            assert op in ("sound", "v1/toot"), op

    def _capped(self) -> float:
        """The speed once the cap holds, as the fleet's float32 column keeps it."""
        return float(np.float32(min(self.m.speed, self.m.cap())))

    @rule(op=st.sampled_from(tuple(BAD)), data=st.data())
    def bad_parameters(self, op: str, data: st.DataObject) -> None:
        """15004 before the fault rules and the command in flight: nothing fires or changes."""
        self._refused(op, self.body(op, data.draw(st.sampled_from(BAD[op]))), 15004)

    @rule(op=st.sampled_from(A200_ONLY), junk=st.booleans())
    def a200_only(self, op: str, junk: bool) -> None:
        """Not a scooter's: 15705 in any state, whatever the body, before the rules fire."""
        params = {"bright": "x", "controlType": 99} if junk else VALID[op]
        self._refused(op, {**params, "iotCode": self.imei}, 15705)

    @rule(op=st.sampled_from(CHECKS_CODE), code=st.sampled_from(("SC-999", "861477038719116")))
    def another_vehicle_code(self, op: str, code: str) -> None:
        """A first-generation call naming another vehicle: 15304, in any state."""
        if code == self.m.code:
            return
        if op in QUERIES:
            self._refused(op, Query.of(iotCode=self.imei, vehicleCode=code), 15304)
        else:
            self._refused(op, {**self.body(op, EXAMPLES[op]), "vehicleCode": code},
                          15304)

    def _refused(self, op: str, sent: dict[str, Any] | Query, code: int) -> None:
        rules = [r.key() for r in self.faults.rules]
        before = self.state()
        try:
            if isinstance(sent, Query):
                self.ops.query(op, AUTH, sent)
            else:
                self.ops.command(op, AUTH, sent)
            raise AssertionError(f"{op} {sent} was answered")
        except VendorError as err:
            assert err.code == code, (op, sent, err.code, code)
        assert [r.key() for r in self.faults.rules] == rules
        assert self.state() == before and self.kinds() == []

    # -- queries --------------------------------------------------------------------------------

    @rule(flag=st.sampled_from(("realTimeLocation", "realTimeStatus")))
    def real_time_reading(self, flag: str) -> None:
        self._read("v1/get", realtime=flag)

    def query_fields(self, op: str) -> dict[str, str]:
        fields = super().query_fields(op)
        if op.startswith("v1/"):
            fields["vehicleCode"] = self.m.code
        return fields

    def _check_reading(self, op: str, data: Reading) -> None:
        super()._check_reading(op, data)
        m = self.m
        if op == "location":  # the scooter clients' spelling
            assert "gpsUTCTime" in data and "gpsUtcTime" not in data
        if op in ("status", "v1/get"):
            assert (data["locked"], data["speedMode"]) == (m.locked, m.speed_mode)
            assert data["speed"] == round(m.speed)
        if op.startswith("v1/"):
            assert data["vehicleCode"] == m.code
        if op == "bluetooth-key":
            assert data["key"] == m.bt_key

    # -- what is checked before the fault rules -------------------------------------------------

    def call_for(self, op: str, auth: str, imei: str) -> None:
        """Before 15705 too: the model of a vehicle that is not the caller's is not told."""
        if op in vehicle.QUERIES:
            self.ops.query(op, auth, Query.of(iotCode=imei, vehicleCode=imei))
        else:
            params = VALID[op] if op in A200_ONLY else EXAMPLES[op]
            self.ops.command(op, auth, {**params, "iotCode": imei, "vehicleCode": imei})

    # -- the world acting on the scooter --------------------------------------------------------

    @precondition(lambda self: not self.m.locked and not self.m.transport
                  and self.m.activated and not self.m.riding)
    @rule(seconds=st.integers(30, 600))
    def rider_gets_on(self, seconds: int) -> None:
        self._ride(seconds)

    def _ride(self, seconds: int) -> None:
        self.sim.world.start_ride(self.row, seconds)
        assert self.kinds() == []
        self.m.riding, self.m.ride_end = True, self.sim.clock.now + seconds

    @precondition(lambda self: self.held is None and self.m.refusal("unlock") is None
                  and not self.m.riding)
    @rule(seconds=st.integers(30, 300), share=st.floats(0.2, 1.0))
    def rental_starts(self, seconds: int, share: float) -> None:
        """The partner unlocks, a rider gets on and speeds up: rides are common, not a lucky
        sequence."""
        self._command("unlock", {})
        if not self.m.locked:  # not held back or refused by a fault rule
            self._ride(seconds)
            self._speed_up(share)

    @rule(seconds=st.integers(1, 600))
    def time_passes(self, seconds: int) -> None:
        self._advance(seconds)

    @precondition(lambda self: self.m.riding)
    @rule(share=st.floats(0.2, 1.0))
    def rider_speeds_up(self, share: float) -> None:
        self._speed_up(share)

    def _speed_up(self, share: float) -> None:
        """As fast as the scooter lets them (or slower): what the physics would do, by hand."""
        self.sim.fleet.speed[self.row] = share * self.m.cap()
        self.m.speed = float(self.sim.fleet.speed[self.row])  # as the fleet keeps it (float32)

    @rule()
    def back_in_service(self) -> None:
        """The operator's crew sets the scooter right (the control plane's PATCH would): flips
        leave it unreachable often, and most of what a scooter does needs it reachable."""
        healthy = {"activated": True, "online": True, "transport": False, "upgrading": False,
                   "dormant": False, "has_fix": True}
        for flag, value in healthy.items():
            self.sim.fleet.column(flag)[self.row] = value
            setattr(self.m, flag, value)

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def scooter_matches_the_model(self) -> None:
        f, i, m = self.sim.fleet, self.row, self.m
        actual = (bool(f.riding[i]), int(f.head_light[i]), int(f.tail_light[i]),
                  [int(x) for x in f.mode_limit[i]], int(f.sound_work_mode[i]),
                  int(f.sound_volume[i]), f.bt_key[i].decode(), int(f.loc_unlock_interval[i]))
        assert actual == (m.riding, m.head_light, m.tail_light, m.limits, m.work_mode,
                          m.volume, m.bt_key, m.upload_interval)
        assert float(f.speed[i]) == m.speed

    @invariant()
    def never_faster_than_the_mode_allows(self) -> None:
        f, i = self.sim.fleet, self.row
        cap = float(vehicle.speed_cap_kmh(f, np.array([i]))[0])
        assert abs(cap - self.m.cap()) < 1e-9
        assert float(f.speed[i]) <= cap * (1 + 1e-6)  # float32 of a float64 cap

    @invariant()
    def a_scooter_still(self) -> None:
        f, i = self.sim.fleet, self.row
        assert int(f.model[i]) == INDEX["scooter"] and not f.has_mech_lock[i]
        assert not (f.riding[i] and f.locked[i])


ScooterMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50)
TestScooterMachine = ScooterMachine.TestCase

"""The control plane's domain rules without HTTP: what a PATCH and an event do to a vehicle
(simulator/world/overrides.py, happenings.py), driven synchronously with plain values."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.core.errors import SimError
from simulator.core.events import ALERT, COMPONENTS, STATUS, Event
from simulator.sim import Simulator
from simulator.world import happenings, overrides


class Hands:
    """A living world that only records what it is asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def start_ride(self, row: int, seconds: float | None = None) -> None:
        self.calls.append(("ride", row, seconds))

    def charger(self, row: int, plugged: bool) -> None:
        self.calls.append(("charger", row, plugged))


def heard(sim: Simulator) -> list[Event]:
    events: list[Event] = []
    sim.bus.subscribe(events.append)
    return events


@pytest.mark.parametrize(("values", "field"), [
    ({"online": True, "transport": True}, "online"),
    ({"cover_open": True}, "cover_open"),
    ({"mech_lock_open": True}, "mech_lock_open"),
    ({"locked": False, "has_mech_lock": False, "mech_lock_open": True}, "mech_lock_open"),
])
def test_impossible_flags_are_refused_by_python_name(sim: Simulator, values: dict[str, Any],
                                                     field: str) -> None:
    with pytest.raises(SimError) as caught:
        overrides.check(overrides.flags(sim.fleet, 0), values)
    assert caught.value.field == field


def test_unlock_then_lock_publish_after_every_field(sim: Simulator) -> None:
    events, now = heard(sim), sim.clock.now
    overrides.apply_patch(sim.fleet, 0, {"locked": False, "power": 40.0}, now, sim.bus)
    assert not sim.fleet.locked[0] and sim.fleet.power[0] == 40.0
    assert [e.kind for e in events] == [STATUS]
    overrides.apply_patch(sim.fleet, 0, {"locked": True}, now, sim.bus)
    assert [e.kind for e in events] == [STATUS, STATUS, COMPONENTS]


def test_a_charge_level_moves_the_low_power_alert_at_once(sim: Simulator) -> None:
    events, now = heard(sim), sim.clock.now  # the example vehicle's lowPowerValue is 5
    overrides.apply_patch(sim.fleet, 0, {"power": 3.0}, now, sim.bus)
    assert [(e.kind, e.data) for e in events] == [(ALERT, {"code": 12, "alertStatus": 0})]
    overrides.apply_patch(sim.fleet, 0, {"power": 60.0}, now, sim.bus)
    assert sim.fleet.alerts[0] == 0


def test_a_new_vehicle_reports_nothing_of_its_making(sim: Simulator) -> None:
    events = heard(sim)
    overrides.set_up(sim.fleet, 1, {"online": False, "charging": True}, sim.clock.now)
    assert not sim.fleet.online[1] and sim.fleet.charging[1] and sim.fleet.plugged[1]
    assert events == []


def test_events_reach_the_living_world_through_its_hands(sim: Simulator) -> None:
    hands, now = Hands(), sim.clock.now
    happenings.happen(sim.fleet, 0, "charger", {"plugged": True}, now, sim.bus, hands)
    with pytest.raises(happenings.Conflict):  # the example vehicle starts locked
        happenings.happen(sim.fleet, 0, "ride", {}, now, sim.bus, hands)
    sim.fleet.locked[0] = False
    happenings.happen(sim.fleet, 0, "ride", {"seconds": 60.0}, now, sim.bus, hands)
    assert hands.calls == [("charger", 0, True), ("ride", 0, 60.0)]


def test_fault_and_firmware_come_as_domain_values(sim: Simulator) -> None:
    hands, now = Hands(), sim.clock.now
    happenings.happen(sim.fleet, 0, "fault", {"code": "E5"}, now, sim.bus, hands)
    assert sim.fleet.faults[0] != 0
    happenings.happen(sim.fleet, 0, "upgrade-end", {"firmware": 10601}, now, sim.bus, hands)
    assert sim.fleet.firmware[0] == 10601 and not sim.fleet.upgrading[0]
    with pytest.raises(SimError):
        happenings.happen(sim.fleet, 0, "explode", {}, now, sim.bus, hands)

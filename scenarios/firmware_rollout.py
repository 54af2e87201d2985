"""Firmware rollout: vehicles upgrade in waves; commands get 15500 meanwhile, work afterwards.

Half the fleet runs firmware 1.3.5, too old for /setting/interval (15707). The operator rolls
out 1.6.0 in two waves. While a wave downloads and installs, every command the partner app
sends it gets 15500 (device upgrading) and rentals are refused; when the upgrade ends each
vehicle reboots (offline, then online after 40 s, both reported) and answers again: the speed
mode can be set, and the new firmware takes interval settings. The other half is not touched.
"""

from __future__ import annotations

from simulator.scenarios.model import (
    HEALTHY,
    MIN,
    Command,
    FleetSpec,
    Happen,
    Patch,
    Rent,
    Scenario,
    Story,
)
from simulator.scenarios.outcomes import Answers, Pushes, State
from simulator.world.names import person

OLD, NEW = "1.3.5", "1.6.0"
WAVES = (5 * MIN, 25 * MIN)
INSTALL_S, REBOOT_S = 8 * MIN, 40
INTERVAL = {"locationInterval": {"lockStatus": 600}}


def story(s: Story) -> None:
    rollout = s.pick(max(2, s.size // 2))
    waves = (rollout[0::2], rollout[1::2])
    s.at(0, Patch(rollout, {**HEALTHY, "firmware": OLD}),
         f"{len(rollout)} vehicles run firmware {OLD}")
    s.at(MIN, Command(rollout, "setting/interval", INTERVAL),
         "the partner app asks for 10-minute location reports: the old firmware cannot")
    reboots = []
    for n, (start, wave) in enumerate(zip(WAVES, waves, strict=True), start=1):
        done = start + INSTALL_S
        s.at(start, Happen(wave, "upgrade-start"),
             f"wave {n}: {len(wave)} vehicles start installing {NEW}")
        s.at(start + 2 * MIN, Command(wave, "setting/speed-mode", {"speedMode": 1}),
             "the partner app sends them commands: 15500, device upgrading")
        s.at(start + 3 * MIN, Rent(wave[0], 5 * MIN),
             f"{person(s.seed, s.scenario.fleet.platform, wave[0])}, a customer, tries to rent one")
        s.at(done, Happen(wave, "upgrade-end", {"firmware": NEW}),
             f"wave {n} is done: the vehicles reboot")
        s.at(done, Happen(wave, "offline"))
        s.at(done + REBOOT_S, Happen(wave, "online"))
        s.at(done + 2 * MIN, Command(wave, "setting/speed-mode", {"speedMode": 1}),
             "commands work again")
        s.at(done + 2 * MIN, Command(wave, "setting/interval", INTERVAL))
        back = done + REBOOT_S
        reboots.append(Pushes(f"wave {n} is back online {REBOOT_S} s after its reboot",
                              "status", {"online": True}, wave, (back, back), each=True,
                              at_most=1))

    s.expect(
        Answers("old firmware cannot set intervals (15707)", "setting/interval", 15707,
                rollout, (0, WAVES[0]), each=True),
        Answers("commands during the upgrade get 15500", "setting/speed-mode", 15500, rollout,
                each=True, at_most=1),
        Answers("rentals during the upgrade are refused (15500)", "unlock", 15500,
                at_least=len(WAVES)),
        Pushes("each reboot is reported (offline)", "status", {"online": False}, rollout,
               (WAVES[0], s.duration), each=True, at_most=1),
        *reboots,
        Answers("commands work again afterwards", "setting/speed-mode", 0, rollout, each=True),
        Answers("the new firmware takes interval settings", "setting/interval", 0, rollout,
                each=True),
        State(f"all on {NEW}, done upgrading, online", rollout,
              {"firmware": NEW, "upgrading": False, "online": True}),
    )
    rest = s.rest(rollout)
    if rest:
        s.expect(Pushes("the rest of the fleet is not disturbed", "status", {"online": False},
                        rest, at_least=0, at_most=0))


SCENARIO = Scenario(
    name="firmware-rollout",
    description="vehicles upgrading in waves: 15500 on commands, back afterwards",
    seed=13,
    fleet=FleetSpec(size=40, platform="A30002", minimum=2),
    duration=WAVES[-1] + INSTALL_S + 5 * MIN,
    story=story,
)

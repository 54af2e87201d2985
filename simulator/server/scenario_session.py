"""Where a scenario run happens, wired up: an in-process simulator served on loopback, or a
running one at a base URL; a push receiver unless the partner's callback is given; the event
log; replay. (`segway-sim scenario` plays and replays through here.)

It lives with the server because it starts one: the scenario library (simulator.scenarios) only
ever drives a server through its URLs, so the dependency points one way, server -> scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.scenarios.drivers import Driver, HttpDriver, LocalDriver
from simulator.scenarios.model import Plan
from simulator.scenarios.receiver import Receiver
from simulator.scenarios.record import (
    Log,
    LogError,
    PushIds,
    Recorded,
    Recording,
    differences,
    first_attempts,
    push_line,
)
from simulator.scenarios.record import read as read_log
from simulator.scenarios.runner import Pacing, Result, Run, Watcher
from simulator.server.keys import DISPATCHER
from simulator.server.runner import Running, start
from simulator.sim import Config, Simulator
from simulator.world.physics import PhysicsConfig

CONFIG_FIELDS = ("seed", "vehicles", "start", "riders", "tick_s", "token_lifetime", "extra")


def local_config(plan: Plan) -> Config:
    """The in-process simulator of a run: the scenario's seed and chance rates, its clock moved
    by the run only, riders played by the story (each rental's ride is the story's)."""
    return Config(seed=plan.seed, vehicles=1, paused=True, riders=False,
                  physics=PhysicsConfig.parse(plan.scenario.physics))


def config_json(config: Config, physics: str) -> dict[str, Any]:
    return {**{k: getattr(config, k) for k in CONFIG_FIELDS}, "physics": physics}


def config_from_json(data: dict[str, Any]) -> Config:
    try:
        fields = {k: data[k] for k in CONFIG_FIELDS}
        return Config(**fields, paused=True, physics=PhysicsConfig.parse(data["physics"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise LogError(f"the log's config cannot be used: {exc}") from None


async def serve_local(config: Config) -> tuple[Simulator, Running]:
    sim = Simulator(config)
    return sim, await start(sim, "127.0.0.1", 0, pace=False)


async def play(plan: Plan, *, speed: float | None = None, callback: str | None = None,
               base_url: str | None = None, record: str | Path | None = None,
               watcher: Watcher | None = None, receiver: Receiver | None = None) -> Result:
    """Run `plan` in process (or against `base_url`), pushing to `callback` (or to `receiver`,
    or to a receiver of its own on loopback), optionally writing the event log to `record`."""
    own = receiver is None and callback is None
    if own:
        receiver = await Receiver().start()
    url = callback or (receiver.url if receiver else None)
    running: Running | None = None
    log: Log | None = None
    try:
        driver: HttpDriver
        header: dict[str, Any] = {"callback": callback}
        if base_url:
            driver = HttpDriver(base_url)
        else:
            config = local_config(plan)
            sim, running = await serve_local(config)
            driver = LocalDriver(sim, running.url, running.runner.app[DISPATCHER])
            header["config"] = config_json(config, plan.scenario.physics)
        if record is not None:
            log = Log(record, header)
        used: Driver = Recording(driver, log) if log else driver
        run = Run(plan, used,
                  url, watcher or Watcher(), Pacing(speed), log)
        return await run.play()
    finally:
        if log is not None:
            log.close()
        if running is not None:
            await running.stop()
        if own and receiver is not None:
            await receiver.stop()


@dataclass
class Replayed:
    recorded: Recorded
    pushes: list[dict[str, Any]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # vendor answers that came out otherwise

    @property
    def differences(self) -> list[str]:
        return differences(self.recorded.pushes, self.pushes) + self.answers[:5]

    @property
    def ok(self) -> bool:
        return not self.differences


async def replay(path: str | Path, receiver: Receiver | None = None) -> Replayed:
    """Perform a log's operations against a fresh in-process simulator of its config and
    compare the pushes made with the recorded ones."""
    recorded = read_log(path)
    header = recorded.header
    if header.get("target") != "in-process" or not isinstance(header.get("config"), dict):
        raise LogError("only an in-process run can be replayed: a remote simulator's fleet "
                       "comes from that server's own seed and configuration")
    config = config_from_json(header["config"])
    own = receiver is None
    if receiver is None:
        receiver = await Receiver().start()
    sim, running = await serve_local(config)
    driver = LocalDriver(sim, running.url, running.runner.app[DISPATCHER])
    out = Replayed(recorded)
    sent = PushIds()
    platforms: list[str] = []

    async def collect() -> None:
        for code in platforms:
            out.pushes += [push_line(r) for r in first_attempts(await driver.pushes(code), sent)]

    try:
        await driver.open()
        for op in recorded.ops:
            kind = op.get("op")
            if kind == "platform":
                await driver.add_platform({**op["body"], "callbackUrl": receiver.url})
                platforms.append(op["body"]["clientId"])
            elif kind == "token":
                await driver.token(op["clientId"], op["clientSecret"])
            elif kind == "vendor":
                answer = await driver.vendor(op["method"], op["path"], op["token"], op["body"],
                                             op["query"])
                if answer["code"] != op["code"]:
                    out.answers.append(f"{op['method']} {op['path']} at {op['t']}: recorded "
                                       f"code {op['code']}, replayed {answer['code']}")
            elif kind == "event":
                await driver.event(op["iotCode"], op["body"])
            elif kind == "patch":
                await driver.patch(op["iotCode"], op["body"])
            elif kind == "fault":
                await driver.add_fault(op["body"])
            elif kind == "unfault":
                await driver.delete_fault(op["id"])
            elif kind == "advance":
                await driver.advance_to(op["t"])
                await collect()
            else:
                raise LogError(f"unknown op {kind!r}")
        await driver.settle()
        await collect()
    finally:
        await driver.close()
        await running.stop()
        if own:
            await receiver.stop()
    return out


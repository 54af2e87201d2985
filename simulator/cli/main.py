"""`segway-sim`: serve | listen | scenario | contract | bench."""

from __future__ import annotations

import os
import time

import click
import numpy as np

from simulator import __version__
from simulator.cli.bench import bench
from simulator.cli.checks import PORT, URL, Failed, FiniteRange, OneLineErrors, bind_errors
from simulator.cli.contract import contract
from simulator.cli.listen import listen
from simulator.cli.scenario import scenario
from simulator.cli.state import SAVE_EVERY_S, open_state
from simulator.cli.uses import uses
from simulator.core import models
from simulator.core.errors import SimError
from simulator.core.latency import LatencyModel
from simulator.core.platforms import TOKEN_CLOCKS
from simulator.push.dispatcher import DEFAULT_CONCURRENCY, DELIVERIES
from simulator.server import loops
from simulator.server.guard import CONTROL_TOKEN_ENV, Guard, loopback
from simulator.server.state_dir import StateDir
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, Config, Simulator
from simulator.world.physics import PhysicsConfig

LAST_START = 4_102_444_800.0  # 2100-01-01: later than any test needs, well inside every clock


@click.group(name="segway-sim", cls=OneLineErrors)  # the name CliRunner and `python -m` show
@click.version_option(__version__, prog_name="segway-sim")
def main() -> None:
    """A high-fidelity simulator of the Segway fleet cloud."""


@main.command(short_help="Serve the vendor API and control plane over a seeded fleet.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=PORT,
              help="Port; 0 picks a free one.")
@click.option("--vehicles", default=20, show_default=True, type=click.IntRange(1, 5_000_000),
              help="Fleet size of the demo platform (includes the reference's 3 example IMEIs).")
@click.option("--seed", default=1, show_default=True, help="Seed of the fleet and of all chance.")
@click.option("--callback", default=None, type=URL,
              help="Push base URL of the demo platform (http or https, as the control plane's "
                   "callbackUrl).")
@click.option("--speed", default=1.0, show_default=True,
              type=FiniteRange(min=0, min_open=True), help="Virtual seconds per wall second.")
@click.option("--start", default=None, type=FiniteRange(0, LAST_START),
              help="Virtual start time, epoch seconds up to 2100 (default: now).")
@click.option("--paused", is_flag=True,
              help="Start with the clock paused: it moves only by POST /_sim/clock (advance, to) "
                   "or an unpause, so runs of one seed answer alike whatever the wall time.")
@click.option("--riders", type=click.Choice(["on", "off"]), default="on", show_default=True,
              help="off: unlocked vehicles stay parked (deterministic tests).")
@click.option("--physics", "physics_text", default="", metavar="RATES",
              help="Chance rates of the living fleet: 'quiet' (none), or name=value pairs, e.g. "
                   "offline_per_hour=0.1,faults_per_hour=0 (names: simulator/world/config.py).")
@click.option("--models", "models_text", default=models.DEFAULT, show_default=True,
              metavar="MODEL[=SHARE][,MODEL=SHARE]",
              help="Vehicle models of the demo fleet: one (scooter) or shares (a200=70,"
                   "scooter=30); the reference's example IMEIs take the first named. "
                   "GET /_sim/models lists them.")
@click.option("--token-clock", type=click.Choice(TOKEN_CLOCKS), default="virtual",
              show_default=True,
              help="The clock tokens expire on: wall keeps tokens that clients cache by their "
                   "own clock valid while the virtual clock jumps days ahead.")
@click.option("--latency", "latency_choice", default="instant", show_default=True,
              metavar="instant|realistic|FILE",
              help="How long answers take: instant, realistic (cloud ~40 ms, commands ~1.2 s over "
                   "cellular, 15302 past 10 s) or a TOML file (docs/load-testing.md).")
@click.option("--loop", type=click.Choice(loops.CHOICES), default="auto", show_default=True,
              help="Event loop: auto is uvloop when installed (faster), else asyncio.")
@click.option("--push-delivery", type=click.Choice(["auto", *DELIVERIES]), default="auto",
              show_default=True,
              help="Where pushes are sent from: a child process (another core), this process, "
                   "or auto: the child when this process may use two cores or more.")
@click.option("--push-concurrency", default=DEFAULT_CONCURRENCY, show_default=True,
              type=click.IntRange(1, 10_000),
              help="Pushes in flight per platform (a receiver that hangs holds one each until "
                   "the 5 s timeout).")
@click.option("--read-timeout", default=10.0, show_default=True,
              type=FiniteRange(min=0, min_open=True), metavar="SECONDS",
              help="A request head must arrive, and a body may stall, within this (else 408).")
@click.option("--max-connections", default=1000, show_default=True,
              type=click.IntRange(1, 1_000_000),
              help="Open connections beyond this are answered 503 and closed.")
@click.option("--state-dir", default=None, type=click.Path(file_okay=False), metavar="DIR",
              help="Keep the world in DIR/state.json: loaded at start (the world options are "
                   "then ignored), saved when stopped, every --save-every seconds and on POST "
                   "/_sim/snapshot/save.")
@click.option("--save-every", default=None, type=FiniteRange(min=0), metavar="SECONDS",
              help=f"With --state-dir: wall seconds between saves, 0 for none "
                   f"[default: {SAVE_EVERY_S:g}].")
@click.option("--control-token", envvar=CONTROL_TOKEN_ENV, default=None, metavar="TOKEN",
              help="Bearer token the control plane, /metrics and the dashboard require (env "
                   f"{CONTROL_TOKEN_ENV}); a browser opens /?token=TOKEN once. Required to "
                   "bind a non-loopback --host.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Another name the Host header may carry (repeatable; '*' any). Loopback "
                   "names and the bound address always may.")
def serve(host: str, port: int, vehicles: int, seed: int, callback: str | None, speed: float,
          start: float | None, paused: bool, riders: str, physics_text: str, models_text: str,
          token_clock: str, latency_choice: str,
          loop: str, push_delivery: str, push_concurrency: int, read_timeout: float,
          max_connections: int, state_dir: str | None, save_every: float | None,
          control_token: str | None, allow_hosts: tuple[str, ...]) -> None:
    """Serve the vendor API and the control plane over a seeded virtual fleet."""
    guard = _guard(host, control_token, allow_hosts)
    try:
        physics = PhysicsConfig.parse(physics_text)
    except SimError as err:
        raise click.BadParameter(str(err), param_hint="'--physics'") from None
    try:
        mix = models.parse_mix(models_text)
    except SimError as err:
        raise click.BadParameter(err.message, param_hint="'--models'") from None
    try:
        latency = LatencyModel.parse(latency_choice)
    except SimError as err:
        raise click.BadParameter(str(err), param_hint="'--latency'") from None
    config = Config(seed=seed, vehicles=vehicles, callback_url=callback, speed=speed,
                    start=float(int(time.time())) if start is None else start,
                    paused=paused, riders=riders == "on", physics=physics, latency=latency,
                    models=mix, token_clock=token_clock,
                    extra={"push_delivery": _delivery(push_delivery),
                           "push_concurrency": push_concurrency})
    try:
        loops.loop_factory(loop)
    except ImportError:
        raise Failed("--loop uvloop: uvloop is not installed (pip install uvloop, or --loop "
                     "auto)") from None
    state = open_state(state_dir, save_every)  # last: it creates DIR
    with bind_errors():
        loops.run(_serve(config, host, port, read_timeout=read_timeout,
                         max_connections=max_connections, state=state, guard=guard,
                         save_every=SAVE_EVERY_S if save_every is None else save_every), loop)


def _delivery(choice: str) -> str:
    if choice != "auto":
        return choice
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return "process" if (cores or 1) >= 2 else "local"


def _guard(host: str, token: str | None, allow_hosts: tuple[str, ...]) -> Guard:
    """Who is let in (server/guard.py); a non-loopback bind without a token is refused: a token
    generated and printed would be lost by the scripts and containers that start servers."""
    if token is not None and (not token or len(token.split()) != 1 or token != token.strip()):
        raise click.BadParameter("a token is one word, without spaces",
                                 param_hint="'--control-token'")
    if not token and not loopback(host):
        raise click.UsageError(f"--host {host!r} lets other machines in: give a --control-token "
                               f"(or {CONTROL_TOKEN_ENV}) to guard the control plane, or bind "
                               "127.0.0.1")
    return Guard(token, (host, *allow_hosts))


async def _serve(config: Config, host: str, port: int, *, read_timeout: float,
                 max_connections: int, state: StateDir | None = None,
                 save_every: float = 0, guard: Guard | None = None) -> None:
    from simulator.cli import state as durable
    from simulator.server.runner import start, until_signalled

    sim = Simulator(config)
    restored = durable.restore(state, sim)  # before binding: a bad state file stops the start
    running = await start(sim, host, port, read_timeout=read_timeout,
                          max_connections=max_connections, state=state, guard=guard)
    imeis = ", ".join(sim.fleet.imeis[:5])
    click.echo(
        f"segway-sim {__version__} serving {len(sim.fleet)} vehicles on {running.url}\n"
        f"  client_id={DEMO_CLIENT_ID}  client_secret={DEMO_CLIENT_SECRET}\n"
        f"  bearer token {DEMO_TOKEN}\n"
        f"  IMEIs: {imeis}\n"
        f"  dashboard: {running.url}/{'?token=TOKEN' if guard and guard.token else ''}\n"
        f"  control plane: {running.url}/_sim/health   (Ctrl-C stops)"
        + (f"\n  models: {_models_line(sim)}" if config.models != ((models.DEFAULT, 1.0),)
           else "")
        + ("\n  tokens expire on the wall clock (--token-clock wall): clock jumps keep them"
           if sim.tokens.clock == "wall" else "")
        + (f"\n  latency: {_latency_line(config.latency)}" if config.latency else "")
        + (f"\n  clock paused at {sim.clock.now:.0f}: POST /_sim/clock "
           '{"advance": s} or {"to": t} moves it' if sim.clock.paused else "")
        + (durable.banner_line(state, restored, save_every) if state else "")
    )
    saver = durable.start_saving(state, sim, save_every)
    await until_signalled()
    await durable.stop(running, sim, state, saver)  # bounded, then the state is written
    click.echo("segway-sim stopped")


def _models_line(sim: Simulator) -> str:
    counts = np.bincount(sim.fleet.model, minlength=len(models.PROFILES))
    return ", ".join(f"{counts[n]} {p.name}" for n, p in enumerate(models.PROFILES) if counts[n])


def _latency_line(model: LatencyModel) -> str:
    return (f"queries ~{model.cloud.median_s * 1000:.0f} ms, commands ~{model.device.median_s:g} s"
            f" (median), 15302 past {model.timeout_s:g} s")


main.add_command(contract)  # segway-sim contract (contract.py)
main.add_command(listen)  # segway-sim listen (listen.py)
main.add_command(scenario)  # segway-sim scenario (scenario.py)
main.add_command(bench)  # segway-sim bench (bench.py: benchmarks/bench_rest.py)
main.add_command(uses)  # segway-sim uses (uses.py): a uses file for contract --uses


if __name__ == "__main__":  # python -m simulator.cli.main, as the console script
    main(prog_name="segway-sim")

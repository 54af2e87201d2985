"""`segway-sim`: serve | listen | scenario | contract | bench."""

from __future__ import annotations

import time

import click

from simulator import __version__
from simulator.cli.bench import bench
from simulator.cli.checks import PORT, URL, Failed, FiniteRange, OneLineErrors, bind_errors
from simulator.cli.contract import contract
from simulator.cli.listen import listen
from simulator.cli.scenario import scenario
from simulator.cli.uses import uses
from simulator.core.errors import SimError
from simulator.server import loops
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
@click.option("--loop", type=click.Choice(loops.CHOICES), default="auto", show_default=True,
              help="Event loop: auto is uvloop when installed (faster), else asyncio.")
def serve(host: str, port: int, vehicles: int, seed: int, callback: str | None, speed: float,
          start: float | None, paused: bool, riders: str, physics_text: str, loop: str) -> None:
    """Serve the vendor API and the control plane over a seeded virtual fleet."""
    try:
        physics = PhysicsConfig.parse(physics_text)
    except SimError as err:
        raise click.BadParameter(str(err), param_hint="'--physics'") from None
    config = Config(seed=seed, vehicles=vehicles, callback_url=callback, speed=speed,
                    start=float(int(time.time())) if start is None else start,
                    paused=paused, riders=riders == "on", physics=physics)
    try:
        loops.loop_factory(loop)
    except ImportError:
        raise Failed("--loop uvloop: uvloop is not installed (pip install uvloop, or --loop "
                     "auto)") from None
    with bind_errors():
        loops.run(_serve(config, host, port), loop)


async def _serve(config: Config, host: str, port: int) -> None:
    from simulator.server.runner import start, until_signalled

    sim = Simulator(config)
    running = await start(sim, host, port)
    imeis = ", ".join(sim.fleet.imeis[:5])
    click.echo(
        f"segway-sim {__version__} serving {len(sim.fleet)} vehicles on {running.url}\n"
        f"  client_id={DEMO_CLIENT_ID}  client_secret={DEMO_CLIENT_SECRET}\n"
        f"  bearer token {DEMO_TOKEN}\n"
        f"  IMEIs: {imeis}\n"
        f"  dashboard: {running.url}/\n"
        f"  control plane: {running.url}/_sim/health   (Ctrl-C stops)"
        + (f"\n  clock paused at {sim.clock.now:.0f}: POST /_sim/clock "
           '{"advance": s} or {"to": t} moves it' if sim.clock.paused else "")
    )
    await until_signalled()
    await running.stop()
    click.echo("segway-sim stopped")


main.add_command(contract)  # segway-sim contract (contract.py)
main.add_command(listen)  # segway-sim listen (listen.py)
main.add_command(scenario)  # segway-sim scenario (scenario.py)
main.add_command(bench)  # segway-sim bench (bench.py: benchmarks/bench_rest.py)
main.add_command(uses)  # segway-sim uses (uses.py): a uses file for contract --uses


if __name__ == "__main__":  # python -m simulator.cli.main, as the console script
    main(prog_name="segway-sim")

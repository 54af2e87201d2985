"""`segway-sim scenario NAME`: play a seeded fleet story in virtual time and check its outcomes.

The story runs against an in-process simulator (served on loopback, so rentals go through the
vendor API) or, with --base-url, against a running one through its control plane. Pushes go to
--callback, or to a receiver of the run's own on loopback. A progress bar follows virtual time
with live counters, notes say what happens, and a table sums up the expected outcomes; the exit
code is 1 if one of them did not happen (2: the run could not be played at all).
"""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from simulator.cli.checks import URL, Failed, FiniteRange, simulator_at
from simulator.core.control_token import CONTROL_TOKEN_ENV

if TYPE_CHECKING:  # rich and the library load when the command runs, not with every CLI call
    from rich.console import Console

    from simulator.scenarios.model import Plan
    from simulator.scenarios.runner import Result, Run


class NotPlayed(Failed):
    """The story could not be played at all (exit 2; 1 says an outcome did not happen)."""

    exit_code = 2


def clock_text(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"


def counters_text(c: Mapping[str, int]) -> str:
    return (f"rentals {c['rentals']:,} ({c['refused']:,} refused) · pushes {c['pushes']:,} sent, "
            f"{c['failed']:,} failed · alerts {c['alerts']:,} · faults {c['faults']:,}")


def _display(console: Console, plan: Plan) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn

    from simulator.scenarios.runner import Watcher

    class Display(Watcher):
        def __init__(self) -> None:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.fields[clock]}"), TextColumn("{task.fields[counters]}"),
                console=console, disable=not console.is_terminal, refresh_per_second=8)
            self.task: Any = None

        def started(self, run: Run) -> None:
            fleet = plan.scenario.fleet
            console.print(f"[bold]{plan.scenario.name}[/]: {plan.scenario.description}\n"
                          f"  {plan.size} {fleet.noun} of platform {run.platform} "
                          f"({fleet.city}), seed {plan.seed}, {run.driver.kind} simulator, "
                          f"{clock_text(plan.scenario.duration)} of virtual time")
            self.progress.start()
            self.task = self.progress.add_task(
                plan.scenario.name, total=plan.scenario.duration,
                clock=self._clock(0), counters=counters_text(run.counters))

        def _clock(self, t: float) -> str:
            return f"{clock_text(t)} / {clock_text(plan.scenario.duration)}"

        def note(self, t: float, text: str) -> None:
            self.progress.console.print(f"[dim]{clock_text(t)}[/] {text}")

        def progressed(self, t: float, counters: Mapping[str, int]) -> None:
            self.progress.update(self.task, completed=t, clock=self._clock(t),
                                 counters=counters_text(counters))

    return Display()


def summary(console: Console, result: Result) -> None:
    from rich.table import Table

    table = Table(title=f"{result.plan.scenario.name}: expected outcomes", title_justify="left")
    for col in ("", "outcome", "expected", "observed"):
        table.add_column(col)
    for v in result.verdicts:
        table.add_row("[green]ok[/]" if v.ok else "[red]FAILED[/]", v.what, v.expected,
                      v.observed)
    console.print(table)
    c = result.counters
    by_type = ", ".join(f"{k} {n:,}" for k, n in result.pushes_by_type.items()) or "none"
    console.print(
        f"rentals {c['rentals']:,} ok, {c['refused']:,} refused · vendor calls {c['calls']:,} · "
        f"pushes {c['pushes']:,} ({by_type}) · delivered {c['delivered']:,}, "
        f"retried {c['retried']:,}, failed {c['failed']:,} · alerts {c['alerts']:,} · "
        f"faults {c['faults']:,}\n"
        f"{clock_text(result.plan.scenario.duration)} of virtual time in "
        f"{result.wall_s:.1f} s ({result.plan.scenario.duration / max(result.wall_s, 1e-9):,.0f}"
        f"x) · platform {result.platform}")
    if c["unread"]:
        console.print(f"[yellow]{c['unread']:,} push attempts fell off the server's push journal "
                      "before the run read them: the outcomes about pushes count short (the "
                      "server is too busy, or its journal too small, for this fleet)[/]")
    ok = sum(v.ok for v in result.verdicts)
    verdict = "[green]all outcomes happened[/]" if result.ok else (
        f"[red]{len(result.verdicts) - ok} of {len(result.verdicts)} outcomes did not happen[/]")
    console.print(verdict)


def list_library(console: Console) -> None:
    """Name beside story, the facts under it: fits 80 columns without a cell wrapping word by
    word (a column per fact did, into 40 lines)."""
    from rich.table import Table

    from simulator.scenarios import library

    table = Table(title="scenarios (segway-sim scenario NAME)", title_justify="left",
                  box=None, padding=(0, 2, 0, 0))
    table.add_column("name", no_wrap=True, style="bold")
    table.add_column("story · fleet · virtual time · seed")
    for s in library():
        table.add_row(s.name, f"{s.description}\n[dim]{s.fleet.size} {s.fleet.noun} in "
                              f"{s.fleet.city} · {clock_text(s.duration)} · seed {s.seed}[/]")
    console.print(table)


@click.command(short_help="Play a seeded fleet story and check its outcomes.")
@click.argument("name", required=False)
@click.option("--list", "show_list", is_flag=True, help="List the library and exit.")
@click.option("--seed", type=int, default=None, help="Seed of the story (default: its own).")
@click.option("--speed", type=FiniteRange(min=0, min_open=True), default=None,
              help="Virtual seconds per wall second (default: as fast as possible).")
@click.option("--vehicles", type=click.IntRange(1, 1_000_000), default=None,
              help="Fleet size (default: the story's own).")
@click.option("--callback", default=None, type=URL,
              help="The partner's push URL (default: a receiver of the run's own on loopback).")
@click.option("--base-url", default=None, type=URL,
              help="Drive a running simulator through its control plane instead of an "
                   "in-process one.")
@click.option("--control-token", envvar=CONTROL_TOKEN_ENV, default=None, metavar="TOKEN",
              help=f"The --base-url server's control token (env {CONTROL_TOKEN_ENV}).")
@click.option("--record", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the event log (JSON lines) to this file.")
@click.option("--replay", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Replay an event log against a fresh simulator and compare the pushes.")
def scenario(name: str | None, show_list: bool, seed: int | None, speed: float | None,
             vehicles: int | None, callback: str | None, base_url: str | None,
             control_token: str | None, record: str | None, replay: str | None) -> None:
    """Play a seeded fleet story (NAME from --list, or a .py file with a SCENARIO).

    Exit code 0: every expected outcome happened; 1: one did not; 2: the story could not be
    played (a mistake in the options or the file, an unreachable --base-url).
    """
    from rich.console import Console

    if control_token:  # where every control-plane client of this process reads it
        os.environ[CONTROL_TOKEN_ENV] = control_token
    # Soft wrap: lines break where the terminal does, so what is said stays greppable.
    console = Console(highlight=False, soft_wrap=True)
    if show_list:
        list_library(console)
        return
    if replay:
        raise SystemExit(_replay(console, replay))
    if not name:
        raise click.UsageError("give a scenario NAME (see --list), or --replay FILE")
    from simulator.scenarios import UnknownScenario, get
    from simulator.scenarios.model import plan

    try:
        story = get(name)
    except UnknownScenario as exc:
        raise click.BadParameter(str(exc), param_hint="'NAME'") from None
    except Exception as exc:  # the file's own code failed: where, not a traceback
        raise NotPlayed(f"{name} could not be loaded: {_where(exc, Path(name))}") from None
    try:
        chosen = plan(story, seed, vehicles)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--vehicles'") from None
    if base_url and not simulator_at(base_url, NotPlayed):
        raise NotPlayed(f"{base_url} answers, but not as a segway-sim (GET /_sim/health): "
                        "--base-url names a running simulator")
    raise SystemExit(_play(console, chosen, speed, callback, base_url, record))


def _where(exc: Exception, path: Path) -> str:
    """The error, and the line of the story's file it came from."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if Path(f.filename).resolve() == path.resolve()]
    return f"{type(exc).__name__}: {exc}" + (f" (line {lines[-1]})" if lines else "")


def _play(console: Console, plan: Plan, speed: float | None, callback: str | None,
          base_url: str | None, record: str | None) -> int:
    from simulator.server.scenario_session import play

    display = _display(console, plan)
    try:
        result = asyncio.run(play(plan, speed=speed, callback=callback, base_url=base_url,
                                  record=record, watcher=display))
    except Exception as exc:  # a run that cannot be played: say why, not a traceback
        display.progress.stop()
        why = f"{type(exc).__name__}: {exc}"
        raise NotPlayed(f"the scenario could not be played: {why}") from None
    display.progress.stop()
    summary(console, result)
    if record:
        console.print(f"event log: {record}")
    return 0 if result.ok else 1


def _replay(console: Console, path: str) -> int:
    from simulator.scenarios.record import LogError
    from simulator.server.scenario_session import replay

    try:
        replayed = asyncio.run(replay(path))
    except LogError as exc:
        raise NotPlayed(f"cannot replay {path}: {exc}") from None
    header = replayed.recorded.header
    console.print(f"replayed {header['scenario']} (seed {header['seed']}, {header['vehicles']} "
                  f"vehicles): {len(replayed.recorded.ops):,} operations")
    if replayed.ok:
        console.print(f"[green]the same {len(replayed.pushes):,} pushes, byte for byte[/]")
        return 0
    console.print(f"[red]the pushes differ[/] (recorded {len(replayed.recorded.pushes):,}, "
                  f"replayed {len(replayed.pushes):,}):")
    for line in replayed.differences:
        console.print(f"  {line}", markup=False)
    return 1

"""`serve --state-dir DIR --save-every S`: the world read from DIR at start, saved there on the
way out (SIGTERM, Ctrl-C), every S seconds and on POST /_sim/snapshot/save, and a stop that
is bounded whatever is in flight (server/state_dir.py holds the file's format)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import click

from simulator.cli.checks import Failed
from simulator.server.state_dir import StateDir, StateError, keep_saving
from simulator.sim import Simulator

if TYPE_CHECKING:
    from simulator.server.runner import Running

SAVE_EVERY_S = 30.0
# The server's own stop takes at most twice runner.SHUTDOWN_GRACE_S; should an app hook hang
# past this, the state is written and the process leaves anyway (SIGTERM is done within 5 s).
STOP_BOUND_S = 3.0

log = logging.getLogger("segway_sim.state")


class StateFailed(Failed):
    """The state directory or its file cannot be used: the start stops (exit 2)."""

    exit_code = 2


def open_state(state_dir: str | None, save_every: float | None) -> StateDir | None:
    """The state directory of the options (created if missing), or None without one."""
    if state_dir is None:
        if save_every is not None:
            raise click.BadParameter("needs --state-dir (where to save)",
                                     param_hint="'--save-every'")
        return None
    state = StateDir(state_dir)
    try:
        state.prepare()
    except StateError as err:
        raise StateFailed(str(err)) from None
    return state


def restore(state: StateDir | None, sim: Simulator) -> bool:
    """Load the saved state into `sim` if there is one; a file that does not read stops here."""
    if state is None:
        return False
    try:
        return state.load(sim)
    except StateError as err:
        raise StateFailed(str(err)) from None


def banner_line(state: StateDir, restored: bool, save_every: float) -> str:
    when = f"every {save_every:g} s, " if save_every else ""
    origin = f"restored from {state.dir}" if restored else f"{state.dir} (no state yet)"
    return (f"\n  state: {origin}; saved {when}on POST /_sim/snapshot/save and when "
            "stopped")


def start_saving(state: StateDir | None, sim: Simulator,
                 every: float) -> asyncio.Task[None] | None:
    if state is None or not every:
        return None
    return asyncio.create_task(keep_saving(state, sim, every))


async def stop(running: Running, sim: Simulator, state: StateDir | None,
               saver: asyncio.Task[None] | None) -> None:
    """Stop serving (bounded), then write the state: what was answered is in it."""
    if saver is not None:
        saver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await saver
    try:
        await asyncio.wait_for(running.stop(), STOP_BOUND_S)
    except TimeoutError:
        log.warning("the server did not stop within %g s; leaving anyway", STOP_BOUND_S)
    if state is None:
        return
    try:
        saved = state.save(sim)
    except OSError as err:
        raise Failed(f"cannot save the state to {state.file}: {err.strerror or err}") from None
    pushes = f"{saved.pushes} undelivered push{'' if saved.pushes == 1 else 'es'}"
    click.echo(f"segway-sim saved {saved.vehicles} vehicles and {pushes} to {saved.path}")

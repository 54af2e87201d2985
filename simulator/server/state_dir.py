"""The state directory (`serve --state-dir DIR`): the world and its undelivered pushes in one file,
DIR/state.json, so that a long demo or a soak lives on across a restart.

The file is `{"format": "segway-sim/state", "version": 1, "snapshot": <GET /_sim/snapshot>,
"pushes": [<undelivered pushes>]}`. It is written whole, atomically: a temporary file beside it,
fsynced, renamed over it, and the directory fsynced, so a kill at any moment leaves either the
previous state or the new one, never half of one. The simulator writes it on SIGTERM, on
`POST /_sim/snapshot/save` and every `--save-every` seconds (the CLI), and reads it at start: a
file it cannot read stops the start and is left as it is, for the operator to look at.

The world travels as the snapshot (simulator/snapshot.py, all-or-nothing); the pushes as the
outbox lists them (push/outbox.py), queued again after the restart: at-least-once delivery.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from simulator import snapshot
from simulator.core.errors import SimError
from simulator.push.outbox import read_undelivered
from simulator.sim import Simulator

FORMAT = "segway-sim/state"
VERSION = 1
FILE = "state.json"

log = logging.getLogger("segway_sim.state")


class StateError(Exception):
    """The state directory cannot be used: one line saying why."""


@dataclass(frozen=True)
class Saved:
    path: str
    bytes: int
    vehicles: int
    pushes: int

    def to_json(self) -> dict[str, Any]:
        return {"saved": self.path, "bytes": self.bytes, "vehicles": self.vehicles,
                "pushes": self.pushes}


class StateDir:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.file = self.dir / FILE
        self._tmp = self.dir / (FILE + ".tmp")

    def prepare(self) -> None:
        """Create the directory if missing; StateError if it cannot hold the state."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StateError(f"{self.dir}: cannot create the state directory "
                             f"({err.strerror or err})") from None
        if not os.access(self.dir, os.W_OK | os.X_OK):
            raise StateError(f"{self.dir}: the state directory is not writable")

    # -- in ------------------------------------------------------------------------------------

    def load(self, sim: Simulator) -> bool:
        """Install the saved world and pushes into `sim`; False if there is no state yet."""
        try:
            raw = self.file.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as err:
            raise self._unusable(f"cannot read it ({err.strerror or err})") from None
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise self._unusable(f"not JSON ({err})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise self._unusable(f'not a segway-sim state file (no "format": "{FORMAT}")')
        if doc.get("version") != VERSION:
            raise self._unusable(f"version {doc.get('version')!r} is not one this simulator "
                                 f"reads ({VERSION})")
        try:
            pending = read_undelivered("pushes", doc.get("pushes"))
        except SimError as err:
            raise self._unusable(str(err)) from None
        try:
            snapshot.load(sim, doc.get("snapshot"))
        except SimError as err:  # its fields are named from inside the snapshot
            field = "snapshot" if err.field in (None, "body") else f"snapshot.{err.field}"
            raise self._unusable(f"{field}: {err.message}") from None
        except Exception as err:  # a loader's own bug must still not be a traceback at start
            raise self._unusable(f"snapshot: does not load ({type(err).__name__}: {err})") \
                from None
        sim.outbox.restore(pending)
        return True

    def _unusable(self, why: str) -> StateError:
        return StateError(f"{self.file}: {why} (move it away to start fresh)")

    # -- out -----------------------------------------------------------------------------------

    def save(self, sim: Simulator) -> Saved:
        """Write the state atomically (OSError if the disk refuses: the old file stays)."""
        pushes = sim.outbox.undelivered()
        data = orjson.dumps({"format": FORMAT, "version": VERSION,
                             "snapshot": snapshot.dump(sim), "pushes": pushes})
        with open(self._tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(self._tmp, self.file)
        fd = os.open(self.dir, os.O_RDONLY)  # the rename itself is durable only once this is
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return Saved(str(self.file), len(data), len(sim.fleet), len(pushes))


STATE_DIR = web.AppKey("state_dir", StateDir)  # set when the server has a --state-dir


async def keep_saving(state: StateDir, sim: Simulator, every: float) -> None:
    """Save every `every` wall seconds until cancelled; a failed save is one warning line per
    spell of failures (the server goes on, the previous state stays on disk)."""
    failing = False
    while True:
        await asyncio.sleep(every)
        try:
            state.save(sim)
        except OSError as err:
            if not failing:
                log.warning("cannot save the state to %s: %s (retrying every %g s)",
                            state.file, err.strerror or err, every)
            failing = True
        else:
            if failing:
                log.warning("saved the state to %s again", state.file)
            failing = False

"""The scenario library: named, seeded fleet stories, played by `segway-sim scenario NAME`.

Each story is a module here with a `SCENARIO` (scenarios/model.py); NAMES lists the library in
the order `--list` shows it. A story of one's own is a Python file with a `SCENARIO` of its own,
loaded by path (`segway-sim scenario ./my_story.py`).

May import the simulator (simulator.sim), push delivery and the core, never the server: a run
drives a server only through its URLs (drivers.py). The glue that starts a server to play on
lives above, in simulator/server/scenario_session.py and scenario_routes.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from simulator.scenarios.model import Scenario

NAMES = ("rush-hour", "theft", "battery-depletion", "cellular-outage", "firmware-rollout",
         "fall-and-fault", "warehouse", "scooter-rental")


class UnknownScenario(LookupError):
    pass


def get(name: str) -> Scenario:
    """A scenario of the library by name, or one of one's own by the path of its file."""
    if name.endswith(".py"):
        return load_file(Path(name))
    if name not in NAMES:
        raise UnknownScenario(f"no scenario {name!r}; the library: {', '.join(NAMES)}")
    module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
    scenario: Scenario = module.SCENARIO
    return scenario


def library() -> list[Scenario]:
    return [get(name) for name in NAMES]


def load_file(path: Path) -> Scenario:
    if not path.is_file():
        raise UnknownScenario(f"no scenario file {path}")
    name = f"segway_sim_story_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UnknownScenario(f"{path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses of the module look themselves up here
    spec.loader.exec_module(module)
    scenario = getattr(module, "SCENARIO", None)
    if not isinstance(scenario, Scenario):
        raise UnknownScenario(f"{path} has no SCENARIO = Scenario(...)")
    return scenario

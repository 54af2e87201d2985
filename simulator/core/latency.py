"""How long the cloud and the vehicle take to answer: the model of `serve --latency`.

The reference gives no figure for either (only the code a late device gets, 15302 "device
response timeout"), so every number here is the simulator's inference, marked so in FIDELITY.md:

- a *cloud* round trip answers the token, the queries (they read the state the vehicle last
  reported) and every refusal the cloud can make from that state (offline, dormant, ...): tens of
  milliseconds;
- a *device* round trip carries an admitted command, a setting, or a `realTimeLocation=true`
  query to the vehicle over cellular and back: about a second, with a long tail, and longer for a
  vehicle whose `networkSignal` is weak;
- a device round trip longer than the timeout answers 15302 when the timeout runs out. The
  command went down in the first half of the trip, so it took effect if half the trip fitted in
  the timeout: a 15302 does not say the command failed, as on any real IoT cloud.

Each spread is log-normal, given as its median and 99th percentile (what people measure and
quote), per class or per vendor operation. The draws come from a seeded stream: a run with the
same seed waits the same times in the same order of requests.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.core.errors import SimError
from simulator.core.vehicle import OPERATIONS

Z99 = 2.3263478740408408  # the standard normal's 99th percentile
LATENCY_OPERATIONS = ("token", *OPERATIONS)  # what a file may give a spread of its own


@dataclass(frozen=True)
class Spread:
    """A log-normal round trip: half the draws under `median_s`, 99 % under `p99_s`."""

    median_s: float
    p99_s: float

    @property
    def sigma(self) -> float:
        return math.log(self.p99_s / self.median_s) / Z99

    def draw(self, rng: np.random.Generator, factor: float = 1.0) -> float:
        if self.sigma == 0:  # a fixed round trip (median = p99): exactly that, no rounding
            return self.median_s * factor
        return float(rng.lognormal(math.log(self.median_s * factor), self.sigma))

    def share_over(self, limit_s: float, factor: float = 1.0) -> float:
        """The share of draws longer than `limit_s` (how often a timeout fires)."""
        if self.sigma == 0:
            return float(self.median_s * factor > limit_s)
        z = math.log(limit_s / (self.median_s * factor)) / self.sigma
        return 0.5 * math.erfc(z / math.sqrt(2))


@dataclass(frozen=True)
class LatencyModel:
    """The latency of every vendor operation; `REALISTIC` is `--latency realistic`."""

    cloud: Spread
    device: Spread
    timeout_s: float
    weak_signal_below: int
    weak_signal_factor: float
    operations: Mapping[str, Spread] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> LatencyModel:
        """The model a latency file describes (docs/load-testing.md), or SimError naming the
        first bad field."""
        known = {"timeout_ms", "weak_signal_below", "weak_signal_factor", "cloud", "device",
                 "operations"}
        _known_keys("", data, known)
        operations = data.get("operations", {})
        if not isinstance(operations, Mapping):
            raise SimError("operations", "must be a table of operation = {median_ms, p99_ms}")
        _known_keys("operations.", operations, set(LATENCY_OPERATIONS))
        return cls(
            cloud=_spread("cloud", data.get("cloud", REALISTIC_TABLE["cloud"])),
            device=_spread("device", data.get("device", REALISTIC_TABLE["device"])),
            timeout_s=_number("timeout_ms", data.get("timeout_ms", 10_000), 1, 600_000) / 1000,
            weak_signal_below=int(_number("weak_signal_below", data.get("weak_signal_below", 10),
                                          0, 32, integer=True)),
            weak_signal_factor=_number("weak_signal_factor",
                                       data.get("weak_signal_factor", 2.5), 1, 100),
            operations={op: _spread(f"operations.{op}", value)
                        for op, value in operations.items()},
        )

    @classmethod
    def parse(cls, choice: str) -> LatencyModel | None:
        """`--latency`: "instant" (None: no waiting at all), "realistic", or a TOML file."""
        if choice == "instant":
            return None
        if choice == "realistic":
            return REALISTIC
        path = Path(choice)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise SimError(None, f"{choice}: cannot read it ({err.strerror or err}); expected "
                                 "instant, realistic or a TOML file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise SimError(None, f"{choice}: not TOML ({err})") from None
        try:
            return cls.from_mapping(data)
        except SimError as err:
            raise SimError(None, f"{choice}: {err}") from None

    def spread(self, op: str, device: bool) -> Spread:
        return self.operations.get(op) or (self.device if device else self.cloud)

    def factor(self, signal: int) -> float:
        """How much longer a device round trip takes at this `networkSignal` (2-32)."""
        return self.weak_signal_factor if signal < self.weak_signal_below else 1.0


def _known_keys(prefix: str, data: Mapping[str, Any], known: set[str]) -> None:
    for key in data:
        if key not in known:
            raise SimError(f"{prefix}{key}", f"unknown; expected one of {', '.join(sorted(known))}")


def _number(name: str, value: Any, lo: float, hi: float, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            integer and not isinstance(value, int)):
        raise SimError(name, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not (lo <= value <= hi):  # NaN fails this too
        raise SimError(name, f"must be between {lo:g} and {hi:g}, got {value!r}")
    return float(value)


def _spread(name: str, value: Any) -> Spread:
    if not isinstance(value, Mapping):
        raise SimError(name, "must be a table with median_ms and p99_ms")
    _known_keys(f"{name}.", value, {"median_ms", "p99_ms"})
    for key in ("median_ms", "p99_ms"):
        if key not in value:
            raise SimError(f"{name}.{key}", "missing")
    median = _number(f"{name}.median_ms", value["median_ms"], 0.001, 600_000)
    p99 = _number(f"{name}.p99_ms", value["p99_ms"], 0.001, 600_000)
    if p99 < median:
        raise SimError(f"{name}.p99_ms", f"must be at least median_ms ({median:g})")
    return Spread(median / 1000, p99 / 1000)


# `--latency realistic`, in a latency file's own terms. Inferred, not measured (FIDELITY.md).
REALISTIC_TABLE: dict[str, Any] = {
    "timeout_ms": 10_000,
    "weak_signal_below": 10,
    "weak_signal_factor": 2.5,
    "cloud": {"median_ms": 40, "p99_ms": 200},
    "device": {"median_ms": 1_200, "p99_ms": 6_000},
}
REALISTIC = LatencyModel.from_mapping(REALISTIC_TABLE)


class Latency:
    """A model with its seeded stream: the wait of each request, drawn as it comes."""

    def __init__(self, model: LatencyModel, rng: np.random.Generator) -> None:
        self.model = model
        self.rng = rng

    def cloud(self, op: str) -> float:
        return self.model.spread(op, device=False).draw(self.rng)

    def device(self, op: str, signal: int) -> float:
        return self.model.spread(op, device=True).draw(self.rng, self.model.factor(signal))

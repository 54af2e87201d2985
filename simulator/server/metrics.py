"""`GET /metrics`: what a load-test stack scrapes, in Prometheus' text format (version 0.0.4).

Two kinds of figure, read two ways (docs/metrics.md lists every family):

- what happened (vendor requests and their latencies, push attempts): counted as it happens by
  listeners on the request and push journals, into plain dicts and bucket lists: a dict increment
  and a bisect per record, no lock and no prometheus_client object on the hot path;
- what is (the fleet by state, the push queues, the clock): read when scraped, by a collector
  that makes one vectorised pass over the fleet columns.

Each app has its own registry (tests make many apps in one process). Counts run from the app's
start for as long as it serves: a simulator reset does not set them back, because a Prometheus
counter only goes up (what a reset changes shows in the gauges).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import numpy as np
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.utils import floatToGoString

from simulator.core.clock import Pacer
from simulator.core.fleet import Fleet
from simulator.core.models import PROFILES
from simulator.server.keys import SIM
from simulator.sim import Simulator

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "segway_sim"

# Histogram bounds, seconds. Requests: from the instant default (about a millisecond) to a device
# round trip over cellular with its long tail. Push attempts: up to the dispatcher's timeout.
# Push lag: a retry is 5 virtual seconds late at least.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0)
ATTEMPT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# A vehicle counts in the first state that holds, in this order, so the states add up to the
# fleet: an inactive vehicle is inactive whatever else is set, an offline one offline, and a
# locked one is one that is nothing else.
STATES = ("inactive", "transport", "offline", "upgrading", "dormant", "riding", "charging",
          "unlocked", "locked")


def vehicle_states(fleet: Fleet) -> np.ndarray:
    """Each vehicle's index into STATES (uint8), vectorised."""
    state = np.full(len(fleet), STATES.index("locked"), np.uint8)
    masks = {"inactive": ~fleet.activated, "transport": fleet.transport, "offline": ~fleet.online,
             "upgrading": fleet.upgrading, "dormant": fleet.dormant, "riding": fleet.riding,
             "charging": fleet.charging, "unlocked": ~fleet.locked}
    for name in reversed(STATES[:-1]):  # the first state of STATES is written last: it wins
        state[masks[name]] = STATES.index(name)
    return state


class Histogram:
    """One series: counts per bucket (not yet cumulative) and their sum, observed in
    milliseconds as the journals record them; `unmeasured` counts records without a time."""

    __slots__ = ("bounds", "bounds_ms", "counts", "total_ms", "unmeasured")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.bounds_ms = [b * 1000 for b in bounds]
        self.counts = [0] * (len(bounds) + 1)  # the last: above every bound (+Inf only)
        self.total_ms = 0.0
        self.unmeasured = 0

    def observe(self, ms: float | None) -> None:
        if ms is None:
            self.unmeasured += 1
            return
        self.counts[bisect_left(self.bounds_ms, ms)] += 1  # a bound is an upper limit, `le`
        self.total_ms += ms

    @property
    def count(self) -> int:
        return sum(self.counts) + self.unmeasured

    def add(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.total_ms += other.total_ms
        self.unmeasured += other.unmeasured

    def buckets(self) -> list[tuple[str, float]]:
        """(le, cumulative count) pairs, +Inf last, as the exposition wants them."""
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip([*self.bounds, float("inf")], self.counts, strict=True):
            running += count
            out.append((floatToGoString(bound), running))
        return out


class Tally:
    """What the journals have recorded since the app started: the hot path's only work, one
    dict lookup and one bisect per record. A request's series holds its count and its latencies
    at once, per (endpoint, code, httpStatus); the scrape sums them up per operation."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, Any, Any], Histogram] = {}
        self.pushes: dict[tuple[str, str], Histogram] = {}  # (type, outcome): attempt times
        self.lag: dict[str, Histogram] = {}  # type: delivered pushes' lag
        self.drops: dict[tuple[str, str], int] = {}  # (type, reason)
        self.retries: dict[tuple[str], int] = {}  # (type,)

    def request(self, record: dict[str, Any]) -> None:
        key = (record["endpoint"], record.get("code"), record.get("httpStatus"))
        series = self.requests.get(key)
        if series is None:
            series = self.requests[key] = Histogram(REQUEST_BUCKETS)
        series.observe(record.get("latencyMs"))

    def push(self, record: dict[str, Any]) -> None:
        kind, outcome = record["type"], record["outcome"]
        series = self.pushes.get((kind, outcome))
        if series is None:
            series = self.pushes[kind, outcome] = Histogram(ATTEMPT_BUCKETS)
        series.observe(record.get("latencyMs"))  # None for a drop: nothing was attempted
        if outcome == "dropped":
            key = (kind, record.get("reason") or "unknown")
            self.drops[key] = self.drops.get(key, 0) + 1
            return
        if record["attempt"] > 1:
            self.retries[kind,] = self.retries.get((kind,), 0) + 1
        if outcome == "delivered":  # both in virtual epoch ms
            lag = self.lag.get(kind)
            if lag is None:
                lag = self.lag[kind] = Histogram(LAG_BUCKETS)
            lag.observe(record["t"] - record["due"])


def per(series: dict[Any, Histogram], label: Callable[[Any], str]) -> dict[str, Histogram]:
    """The series summed up per `label(key)`."""
    out: dict[str, Histogram] = {}
    for key, hist in list(series.items()):
        name = label(key)
        if name not in out:
            out[name] = Histogram(hist.bounds)
        out[name].add(hist)
    return out


def _name(short: str) -> str:
    return f"{PREFIX}_{short}"


def _code_labels(code: Any, status: Any) -> tuple[str, str]:
    """(code, status) labels. The token route answers OAuth JSON, not an envelope: its code is
    "0" for a token granted and "error" otherwise, and its HTTP status says which error."""
    if code is None:
        return ("0" if status == 200 else "error"), str(status)
    return str(code), "200"


def _histograms(name: str, doc: str, label: str, series: dict[str, Histogram]
                ) -> HistogramMetricFamily:
    family = HistogramMetricFamily(_name(name), doc, labels=[label])
    for value, hist in sorted(list(series.items())):
        family.add_metric([value], hist.buckets(), hist.total_ms / 1000)
    return family


def _counters(name: str, doc: str, labels: list[str], counts: dict[Any, int]
              ) -> CounterMetricFamily:
    family = CounterMetricFamily(_name(name), doc, labels=labels)
    for key, value in sorted(list(counts.items())):
        family.add_metric(list(key), value)
    return family


class SimulatorCollector:
    """Every family of docs/metrics.md, from the tally and, at scrape time, the simulator."""

    def __init__(self, sim: Simulator, tally: Tally, pacer: Pacer | None) -> None:
        self.sim = sim
        self.tally = tally
        self.pacer = pacer

    def collect(self) -> Iterable[Metric]:
        yield from self._happened()
        yield from self._fleet()
        yield from self._pushes_now()
        yield from self._clock()

    def _happened(self) -> Iterator[Metric]:
        t = self.tally
        requests: dict[tuple[str, str, str], int] = {}
        for (op, code, status), series in list(t.requests.items()):
            key = (op, *_code_labels(code, status))
            requests[key] = requests.get(key, 0) + series.count
        yield _counters("requests", "Vendor API requests answered, by operation (the request "
                        "journal's endpoint), vendor code and HTTP status",
                        ["operation", "code", "status"], requests)
        yield _histograms("request_duration_seconds", "Wall seconds from a vendor request's "
                          "arrival to its answer, by operation", "operation",
                          per(t.requests, lambda key: key[0]))
        yield _counters("pushes", "Push attempts by type and outcome (delivered, retry: failed "
                        "and retried 5 s later, failed: the retry failed too, dropped)",
                        ["type", "outcome"],
                        {key: series.count for key, series in list(t.pushes.items())})
        yield _counters("push_retries", "Second attempts made (a first attempt failed)",
                        ["type"], t.retries)
        yield _counters("push_drops", "Pushes dropped unsent, by reason (overflow: the "
                        "platform's queue was full; chaos: a drop rule)", ["type", "reason"],
                        t.drops)
        yield _histograms("push_attempt_duration_seconds", "Wall seconds of a push attempt "
                          "until the receiver answered (or the attempt failed)", "type",
                          per(t.pushes, lambda key: key[0]))
        yield _histograms("push_lag_seconds", "Virtual seconds from a delivered push's due "
                          "time to its delivery (retries and chaos delays included)", "type",
                          t.lag)

    def _fleet(self) -> Iterator[Metric]:
        sim = self.sim
        fleet = sim.fleet
        platforms = [p.code for p in sim.platform_list]
        kinds = len(PROFILES) * len(STATES)  # model x state, per platform
        counts = np.bincount(
            fleet.platform.astype(np.int64) * kinds
            + fleet.model.astype(np.int64) * len(STATES) + vehicle_states(fleet),
            minlength=len(platforms) * kinds)
        vehicles = GaugeMetricFamily(_name("vehicles"), "Vehicles by platform, model and state "
                                     "(each in the first state that holds: " + ", ".join(STATES)
                                     + ")", labels=["platform", "model", "state"])
        for p, code in enumerate(platforms):
            for m, profile in enumerate(PROFILES):
                for s, state in enumerate(STATES):
                    vehicles.add_metric([code, profile.name, state],
                                        int(counts[p * kinds + m * len(STATES) + s]))
        yield vehicles
        yield GaugeMetricFamily(_name("commands_in_flight"), "Commands waiting for their "
                                "device (a concurrent command to the vehicle gets 15104)",
                                value=len(sim.inflight))

    def _pushes_now(self) -> Iterator[Metric]:
        outbox = self.sim.outbox
        depth = GaugeMetricFamily(_name("push_queue_depth"), "Pushes waiting for delivery, by "
                                  "platform", labels=["platform"])
        for platform in self.sim.platform_list:
            depth.add_metric([platform.code], len(outbox.queues.get(platform.code, ())))
        yield depth
        yield GaugeMetricFamily(_name("push_queue_capacity"), "Pushes a platform's queue holds "
                                "before new ones are dropped (reason overflow)",
                                value=outbox.limit)

    def _clock(self) -> Iterator[Metric]:
        clock = self.sim.clock
        behind = self.pacer.behind(time.monotonic()) if self.pacer is not None else 0.0
        yield GaugeMetricFamily(_name("clock_speed"), "Virtual seconds per wall second",
                                value=clock.speed)
        yield GaugeMetricFamily(_name("clock_paused"), "1 while the virtual clock is paused",
                                value=int(clock.paused))
        yield GaugeMetricFamily(_name("clock_virtual_time_seconds"), "The virtual clock, epoch "
                                "seconds", value=clock.now)
        yield GaugeMetricFamily(_name("clock_lag_seconds"), "Virtual seconds the clock trails "
                                "wall time times the speed (0 while it keeps up, is paused or "
                                "is moved by hand)", value=behind)


METRICS = web.AppKey("metrics_registry", CollectorRegistry)


async def get_metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(request.app[METRICS]),
                        headers={"Content-Type": CONTENT_TYPE})


def setup(app: web.Application, pacer: Pacer | None) -> None:
    """`GET /metrics`; the counting runs while the app does."""
    sim: Simulator = app[SIM]
    tally = Tally()
    registry = CollectorRegistry()
    registry.register(SimulatorCollector(sim, tally, pacer))
    ProcessCollector(registry=registry)  # CPU seconds and memory of this process (Linux)
    app[METRICS] = registry
    app.router.add_get("/metrics", get_metrics)

    async def counting(app: web.Application) -> AsyncIterator[None]:
        sim.requests.listeners.append(tally.request)
        sim.pushes.listeners.append(tally.push)
        yield
        sim.requests.listeners.remove(tally.request)
        sim.pushes.listeners.remove(tally.push)

    app.cleanup_ctx.append(counting)


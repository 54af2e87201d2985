"""pytest plugin (entry point pytest11): the simulator as a fixture for partners' test suites.

Fixtures:
- `segway_sim`: the simulator on a free loopback port, clock paused, reset before each test; a
  facade with the demo credentials and helpers over the control plane (advance, fault, journals,
  vehicle state).
- `push_receiver`: a real HTTP receiver on a free loopback port, wired as the demo platform's
  callback URL, that verifies each push's signature and can be awaited (`await wait_for(...)`).
- `segway_sim_config` (session): the `Config` the server starts with; override it in a conftest.

Ini options: `segway_sim_seed`, `segway_sim_vehicles`, `segway_sim_models` (the text of `serve
--models`: `scooter`, `a200=70,scooter=30`) and `segway_sim_token_clock` (`virtual` or `wall`).

The server runs in a thread of its own with its own event loop: partners' tests are often
synchronous (requests, httpx sync) and sometimes async on a loop of their own; a server on a
separate loop answers both, and a test that blocks its own loop cannot stall it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from simulator.core import models
from simulator.core.errors import SimError
from simulator.core.platforms import TOKEN_CLOCKS
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, Config, Simulator
from simulator.testing.receiver import Push, PushReceiver, push_signature
from simulator.testing.server_thread import CALL_TIMEOUT_S, START_TIMEOUT_S, ServerThread

__all__ = ["Push", "PushReceiver", "SegwaySim", "SegwaySimError", "ServerThread",
           "push_signature"]
T = TypeVar("T")


class SegwaySimError(Exception):
    """The control plane refused a helper's request (HTTP status and its JSON error)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def http_json(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
              timeout: float = CALL_TIMEOUT_S) -> tuple[int, Any]:
    """A blocking JSON request with the standard library: (HTTP status, decoded body or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


class SegwaySim:
    """What a test sees of the simulator: where it is, who to be, and how to steer it."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.url = server.url
        self.client_id = DEMO_CLIENT_ID
        self.client_secret = DEMO_CLIENT_SECRET
        self.token = DEMO_TOKEN  # issued at every reset, as the reference's examples use it

    @property
    def imeis(self) -> list[str]:
        """The demo platform's vehicles, the reference's example IMEIs first."""
        code = self.client_id
        return self.call(lambda sim: [imei for row, imei in enumerate(sim.fleet.imeis)
                                      if sim.platform_of(row).code == code])

    def imeis_of(self, model: str) -> list[str]:
        """The demo platform's vehicles of one model (`segway_sim_models`), in fleet order."""
        if model not in models.BY_NAME:
            raise ValueError(f"{model!r} is not a model: one of {', '.join(models.NAMES)}")
        code = self.client_id
        return self.call(lambda sim: [
            imei for row, imei in enumerate(sim.fleet.imeis)
            if sim.platform_of(row).code == code and models.model_name(sim.fleet, row) == model])

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"bearer {self.token}"}

    def call(self, fn: Callable[[Simulator], T]) -> T:
        """Escape hatch: run `fn(sim)` on the server thread with the `Simulator` itself."""
        return self.server.call(fn)

    def control(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """A control-plane request (`/_sim/...`); raises SegwaySimError unless it succeeds."""
        params = {k: v for k, v in query.items() if v is not None}
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        status, payload = http_json(method, url, body)
        if not 200 <= status < 300:
            raise SegwaySimError(status, payload)
        return payload

    def reset(self) -> None:
        """Back to the seeded start (pushes already due are delivered first, not carried over)."""
        self.settle()
        self.control("POST", "/_sim/reset")

    def settle(self) -> None:
        """Wait until every push already due has been attempted (delivered, or failed)."""
        self.server.settle()

    def now(self) -> float:
        """Virtual epoch seconds."""
        return float(self.control("GET", "/_sim/clock")["now"])

    def advance(self, seconds: float) -> dict[str, Any]:
        """Live through `seconds` of virtual time (physics, riders, pushes, token expiry).

        Pushes already due are attempted first, so a refused one is retried at its right virtual
        time; pushes that fall due meanwhile are attempted before this returns.
        """
        self.settle()
        clock: dict[str, Any] = self.control("POST", "/_sim/clock", {"advance": seconds})
        self.settle()
        return clock

    def fault(self, code: int | None = None, *, iotCode: str | None = None,  # noqa: N803
              endpoint: str | None = None, platformCode: str | None = None,  # noqa: N803
              probability: float | None = None, times: int | None = None,
              delayMs: int | None = None) -> dict[str, Any]:  # noqa: N803
        """Inject a vendor error (or a delay) into matching requests; returns the rule."""
        rule = {"code": code, "iotCode": iotCode, "endpoint": endpoint,
                "platformCode": platformCode, "probability": probability, "times": times,
                "delayMs": delayMs}
        created: dict[str, Any] = self.control(
            "POST", "/_sim/faults", {k: v for k, v in rule.items() if v is not None})
        return created

    def clear_faults(self) -> None:
        self.control("DELETE", "/_sim/faults")

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """The journal of vendor API calls, oldest first, filtered (endpoint=, iotCode=, code=)."""
        return _records(self.control("GET", "/_sim/requests", **filters))

    def pushes(self, **filters: Any) -> list[dict[str, Any]]:
        """The journal of push attempts, oldest first, filtered (type=, iotCode=, status=)."""
        return _records(self.control("GET", "/_sim/pushes", **filters))

    def vehicle(self, imei: str) -> dict[str, Any]:
        """Full state of one vehicle, settings and active faults included."""
        state: dict[str, Any] = self.control("GET", f"/_sim/vehicles/{imei}")
        return state

    def set_vehicle(self, imei: str, **state: Any) -> dict[str, Any]:
        """Set state fields (online=False, powerPercent=5, ...); the vehicle reacts (pushes)."""
        updated: dict[str, Any] = self.control("PATCH", f"/_sim/vehicles/{imei}", state)
        return updated

    def event(self, imei: str, type: str, **fields: Any) -> Any:  # noqa: A002 - the wire name
        """Something happens to the vehicle: rider-lock, ride, alert, fault, charger, ..."""
        return self.control("POST", f"/_sim/vehicles/{imei}/events", {"type": type, **fields})


def _records(payload: Any) -> list[dict[str, Any]]:
    """Journal answers are a list, or an object holding one (`records`/`items`)."""
    if isinstance(payload, dict):
        for key in ("records", "items", "requests", "pushes"):
            if isinstance(payload.get(key), list):
                return list(payload[key])
    return list(payload)


# -- fixtures -----------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("segway_sim_seed", "seed of the segway_sim fixture's fleet", default="1")
    parser.addini("segway_sim_vehicles", "fleet size of the segway_sim fixture", default="20")
    parser.addini("segway_sim_models", "vehicle models of the segway_sim fixture's fleet, as "
                  "serve --models takes them: scooter, or a200=70,scooter=30",
                  default=models.DEFAULT)
    parser.addini("segway_sim_token_clock", "the clock tokens expire on: virtual (default) or "
                  "wall (a clock jump keeps them)", default="virtual")


def pytest_configure(config: pytest.Config) -> None:
    _model_options(config)  # a mistake in the ini stops the run at once, in one line


def _model_options(config: pytest.Config) -> tuple[models.Mix, str]:
    """The ini's model mix and token clock, or a usage error naming the option."""
    try:
        mix = models.parse_mix(str(config.getini("segway_sim_models")))
    except SimError as exc:
        raise pytest.UsageError(f"segway_sim_models: {exc.message}") from None
    clock = str(config.getini("segway_sim_token_clock")).strip()
    if clock not in TOKEN_CLOCKS:
        raise pytest.UsageError(f"segway_sim_token_clock: {clock!r} is not one of "
                                f"{', '.join(TOKEN_CLOCKS)}")
    return mix, clock


@pytest.fixture(scope="session")
def segway_sim_config(pytestconfig: pytest.Config) -> Config:
    """Paused clock, riders off, seeded: override this fixture to change the fleet."""
    mix, clock = _model_options(pytestconfig)
    return Config(seed=int(pytestconfig.getini("segway_sim_seed")),
                  vehicles=int(pytestconfig.getini("segway_sim_vehicles")),
                  paused=True, riders=False, models=mix, token_clock=clock)


@pytest.fixture(scope="session")
def segway_sim_server(segway_sim_config: Config) -> Iterator[ServerThread]:
    server = ServerThread(segway_sim_config).start()
    yield server
    server.stop()


@pytest.fixture
def segway_sim(segway_sim_server: ServerThread) -> SegwaySim:
    """The simulator, back at its seeded start (clock paused) for every test."""
    facade = SegwaySim(segway_sim_server)
    facade.reset()
    return facade


@pytest.fixture(scope="session")
def _segway_push_receiver(segway_sim_server: ServerThread) -> Iterator[PushReceiver]:
    receiver = PushReceiver(segway_sim_server, {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET})
    segway_sim_server.submit(receiver._start()).result(START_TIMEOUT_S)
    yield receiver
    segway_sim_server.submit(receiver._stop()).result(START_TIMEOUT_S)


@pytest.fixture
def push_receiver(segway_sim: SegwaySim, _segway_push_receiver: PushReceiver) -> PushReceiver:
    """A verified-push collector wired as the demo platform's callback URL (empty per test)."""
    receiver = _segway_push_receiver
    receiver.clear()

    def wire(sim: Simulator) -> None:
        sim.platforms[segway_sim.client_id].callback_url = receiver.url

    segway_sim.call(wire)
    return receiver

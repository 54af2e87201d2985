"""Every vendor operation, with its whole check order and its effect: no HTTP, no awaiting.

A query or command is checked in the order the real cloud evidently checks it, each step
answering the first vendor error of the reference's error tables and Appendix 1:

    token (15101) -> parameters (15004) -> vehicle lookup (15102, 15103) -> the vehicle's model
    has the operation (15705; models/) -> the first generation's vehicleCode (15304) -> injected
    fault rule -> command in flight (15104, commands only) -> vehicle state (vehicle.GUARDS)
    -> effect

Parameters are read by the rules of the vehicle's model (a command asked of the caller's own
vehicle whose model lacks it answers 15705 before they are read).

Fault rules (faults.py) are the simulator's own: a rule with a code and no delay answers right
after the lookup, before the in-flight check, so an injected failure never waits for the device.
A rule with `delayMs` holds the answer back for that many wall milliseconds (a slow device): a
command stays in flight meanwhile. The core never sleeps: the operation returns a `Pending` that
carries the delay, and the caller waits (the server: asyncio.sleep; a test: not at all) and then
calls `Pending.finish()` for the answer, or `abandon()` if it gives up. The latency model of
`serve --latency` (latency.py) holds answers back the same way when no rule matches.

The server parses requests and renders answers (simulator/server/vendor.py, oauth.py); tests and
Hypothesis state machines call these operations directly.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode

from simulator.core import readings, vehicle
from simulator.core.clock import Clock
from simulator.core.errors import VendorError
from simulator.core.events import Bus
from simulator.core.faults import FaultRules, Rule
from simulator.core.fleet import Fleet
from simulator.core.latency import Latency
from simulator.core.models import BY_NAME, DEFAULT, PROFILES, Profile
from simulator.core.params import IOT_CODE, Obj, command_params, only_imei, query_params
from simulator.core.platforms import Platform, Tokens

T = TypeVar("T")
Reading = dict[str, Any]  # a query's `data`, native types (readings.py)

READINGS: dict[str, Callable[[Fleet, int], Reading]] = {
    "status": readings.status,
    "location": readings.location,
    "battery-info": readings.battery_info,
    "bluetooth-key": readings.bluetooth_key,
    "v1/get": readings.v1_get,
    "v1/version": readings.v1_version,
}


def bodies_for_unknown(first: str) -> dict[str, Obj]:
    """The body parameters of a command asked of a vehicle that is not there (15102 follows):
    the first model's of the server's mix (`first`) where it has the command, else the first in
    the profiles' order that has it. An A200 fleet answers as the reference; a scooter fleet
    does not refuse a scooter's well-formed call with 15004 before its 15102."""
    out: dict[str, Obj] = {}
    for profile in (*reversed(PROFILES), BY_NAME[first]):
        out.update(profile.bodies)
    return out


# A first-generation call names the vehicle twice; iot/bind is what sets the second name.
_BINDS = "v1/iot/bind"


def reading(fleet: Fleet, row: int, op: str) -> Reading:
    """Query `op`'s data for the vehicle in `row`, its fields spelled as its model spells them."""
    data = READINGS[op](fleet, row)
    renames = PROFILES[fleet.model.item(row)].renames.get(op)
    return {renames.get(k, k): v for k, v in data.items()} if renames else data


def unsupported(profile: Profile, op: str) -> VendorError:
    return VendorError(15705, f"the {profile.name} model has no {op}")


class QueryString(Protocol):
    """A request's query string: as sent, and parsed (yarl.URL is one; parsed only if read)."""

    @property
    def raw_query_string(self) -> str: ...

    @property
    def query(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class Query:
    """A query string for callers without a URL (tests): `Query.of(iotCode="861477038719116")`."""

    raw_query_string: str
    query: Mapping[str, str]

    @classmethod
    def of(cls, **fields: str) -> Query:
        return cls(urlencode(fields), dict(fields))


class Unreadable(Enum):
    """A command body the server could not hand over as JSON (answered after the token check)."""

    NOT_JSON = "not JSON"
    UNDECODABLE = "undecodable"  # its Content-Encoding (gzip...) does not decode
    TOO_LARGE = "too large"


class BodyTooLarge(Exception):
    """The body exceeded the server's limit: an HTTP-level 413, not a vendor envelope."""


@dataclass(slots=True)
class Trace:
    """What an operation learned before it answered, for the request journal."""

    platform: str | None = None  # the token's platform code, once the token is verified
    iot_code: str | None = None  # the IMEI asked for, as sent
    params: dict[str, Any] | None = None  # a command's validated parameters


class InFlight:
    """Vehicles with a command sent and not yet answered: a second command meanwhile gets 15104.

    Reference, Appendix 1: 15104 "please wait until the last request has it's response".
    """

    def __init__(self) -> None:
        self.rows: set[int] = set()

    def begin(self, row: int) -> None:
        if row in self.rows:
            raise VendorError(15104, "previous command not answered yet")
        self.rows.add(row)

    def end(self, row: int) -> None:
        self.rows.discard(row)

    def clear(self) -> None:
        self.rows.clear()

    def __contains__(self, row: object) -> bool:
        return row in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[int]:
        return iter(self.rows)


def _nothing() -> None:
    pass


class Pending(Generic[T]):
    """An answer held back (a fault rule's delay, a round trip of the latency model): wait `delay`
    wall seconds, then `finish()`.

    `finish` gives the answer (or raises its VendorError) and releases what the operation holds
    (a command's in-flight mark); `abandon` only releases, for a caller that gives up waiting.
    Both may be called more than once; the release happens once.
    """

    def __init__(self, delay: float, answer: Callable[[], T],
                 release: Callable[[], None] = _nothing) -> None:
        self.delay = delay
        self._answer = answer
        self._release: Callable[[], None] | None = release

    def finish(self) -> T:
        try:
            return self._answer()
        finally:
            self.abandon()

    def abandon(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


@dataclass(frozen=True)
class TokenAnswer:
    """The token endpoint's answer: HTTP status and JSON body, and the client for the journal."""

    status: int
    body: dict[str, object]
    client: str | None


BAD_CLIENT: dict[str, object] = {"error": "invalid_client",
                                 "error_description": "Bad client credentials"}


def _fault(rule: Rule) -> VendorError:
    assert rule.code is not None
    return VendorError(rule.code, f"fault rule {rule.id}")


def _refused(delay: float, err: VendorError,
             release: Callable[[], None] = _nothing) -> Pending[Any]:
    def answer() -> Any:
        raise err

    return Pending(delay, answer, release)


def _device_trip(trip: float, timeout: float, answer: Callable[[], T],
                 release: Callable[[], None] = _nothing) -> Pending[T]:
    """The answer after a device round trip of `trip` seconds, or 15302 when `timeout` runs out
    first. The request reached the vehicle halfway through the trip: if that fitted in the
    timeout, it took effect though the answer says 15302 (FIDELITY.md, latency)."""
    if trip <= timeout:
        return Pending(trip, answer, release)

    def late() -> T:
        if trip / 2 <= timeout:
            # A refusal by the vehicle is not heard either: the caller has 15302 anyway.
            with contextlib.suppress(VendorError):
                answer()
        raise VendorError(15302, f"device round trip {trip:.1f} s > timeout {timeout:g} s")

    return Pending(timeout, late, release)


@dataclass(eq=False)
class Operations:
    """The vendor's operations over the simulator's state: what they read, and nothing else."""

    tokens: Tokens
    platforms: Mapping[str, Platform]  # by code (client_id)
    platform_list: Sequence[Platform]  # by index (Fleet.platform)
    fleet: Fleet
    faults: FaultRules
    inflight: InFlight
    clock: Clock
    bus: Bus
    latency: Latency | None = None  # serve --latency: None answers at once (latency.py)
    unknown_bodies: dict[str, Obj] = field(default_factory=lambda: bodies_for_unknown(DEFAULT))

    # -- the token endpoint ---------------------------------------------------------------------

    def token(self, fields: Mapping[str, str]) -> TokenAnswer:
        """`POST /oauth/token` ("request token"): OAuth2 client credentials.

        Client authentication first (401 invalid_client, the reference's "False" example), then
        the grant type (400, as Spring Security OAuth2 answers), then the token rule of
        platforms.Tokens.grant (the reference's Auth section: both tokens valid for 300 s).
        """
        client = fields.get("client_id")
        platform = self.platforms.get(client or "")
        secret = fields.get("client_secret", "")
        if platform is None or not hmac.compare_digest(platform.secret.encode(), secret.encode()):
            return TokenAnswer(401, dict(BAD_CLIENT), client)
        grant = fields.get("grant_type")
        if grant != "client_credentials":
            if not grant:
                body: dict[str, object] = {"error": "invalid_request",
                                           "error_description": "Missing grant type"}
            else:
                body = {"error": "unsupported_grant_type",
                        "error_description": f"Unsupported grant type: {grant}"}
            return TokenAnswer(400, body, platform.code)
        now = self.tokens.now(self.clock.now)
        token = self.tokens.grant(platform, now)
        return TokenAnswer(200, {"access_token": token.value, "token_type": "bearer",
                                 "expires_in": token.remaining(now),
                                 "scope": "read write trust"}, platform.code)

    # -- the steps every query and command takes ------------------------------------------------

    def authenticate(self, authorization: str) -> Platform:
        """The `Authorization` header: "bearer access_token" (every endpoint's Header table).

        The scheme is read case-insensitively, as real clients send both `bearer` and `Bearer`.
        """
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise VendorError(15101, "no bearer token")
        platform = self.tokens.verify(token.strip(), self.tokens.now(self.clock.now))
        if platform is None:
            raise VendorError(15101, "unknown or expired token")
        return platform

    def lookup(self, platform: Platform, imei: str) -> int:
        """The fleet row of `imei` as `platform` may see it (15102 unknown, 15103 not yours)."""
        row = self.fleet.find(imei)
        if row is None:
            raise VendorError(15102, f"no vehicle {imei}")
        if self.fleet.platform.item(row) != platform.index:
            owner = self.platform_list[self.fleet.platform.item(row)].code
            raise VendorError(15103, f"{imei} belongs to {owner}")
        return row

    def _rule(self, platform: Platform, imei: str, op: str) -> Rule | None:
        # No match call at all while there are no rules: the common case stays cheap.
        return self.faults.match(platform.code, imei, op) if self.faults.rules else None

    # -- queries --------------------------------------------------------------------------------

    def query(self, op: str, authorization: str, query: QueryString,
              trace: Trace | None = None) -> Reading | Pending[Reading]:
        """A GET query (vehicle.QUERIES): its reading, or a Pending one if a rule delays it.

        A rule's delay comes before the vehicle's state is looked at, as the device's answer would.
        """
        trace = Trace() if trace is None else trace
        platform = self.authenticate(authorization)
        trace.platform = platform.code
        imei = None if op.startswith("v1/") else only_imei(query.raw_query_string)
        params = {"iotCode": imei} if imei is not None else query_params(op, query.query)
        imei = trace.iot_code = params["iotCode"]
        row = self.lookup(platform, imei)
        profile = PROFILES[self.fleet.model.item(row)]
        if op not in profile.queries:
            raise unsupported(profile, op)
        if "vehicleCode" in params:
            self._same_vehicle(row, params["vehicleCode"])
        realtime = bool(params.get("realTimeLocation") or params.get("realTimeStatus"))
        rule = self._rule(platform, imei, op)
        if rule is None:
            if self.latency is None:
                return self._read(row, op, realtime)
            return self._late_read(self.latency, row, op, realtime)
        if not rule.delayMs:
            raise _fault(rule)

        def answer() -> Reading:
            if rule.code is not None:
                raise _fault(rule)
            return self._read(row, op, realtime)

        return Pending(rule.delayMs / 1000, answer)

    def _late_read(self, latency: Latency, row: int, op: str,
                   realtime: bool) -> Pending[Reading]:
        """A query answered after its round trip: the cloud's, or the device's when it asks the
        vehicle itself (realTimeLocation=true, admitted by the cloud first)."""
        if realtime:
            try:
                vehicle.admit_realtime(self.fleet, row)
            except VendorError as err:
                return _refused(latency.cloud(op), err)
            trip = latency.device(op, self.fleet.network_signal.item(row))
            return _device_trip(trip, latency.model.timeout_s,
                                lambda: self._read(row, op, realtime))
        return Pending(latency.cloud(op), lambda: self._read(row, op, realtime))

    def _read(self, row: int, op: str, realtime: bool) -> Reading:
        if realtime:
            # realTimeLocation=true asks the device itself: like a command, it must be reachable.
            vehicle.admit_realtime(self.fleet, row)
        vehicle.admit(self.fleet, row, op)
        return reading(self.fleet, row, op)

    # -- commands -------------------------------------------------------------------------------

    def command(self, op: str, authorization: str, body: object,
                trace: Trace | None = None) -> Pending[None] | None:
        """A POST command (vehicle.COMMANDS) with its JSON body (decoded, or Unreadable).

        Done (None) or, if a rule delays it, Pending: the vehicle holds the command in flight
        until `finish()` applies it (or raises the rule's code) or `abandon()` drops it.
        """
        trace = Trace() if trace is None else trace
        platform = self.authenticate(authorization)
        trace.platform = platform.code
        if body is Unreadable.TOO_LARGE:
            raise BodyTooLarge
        if body is Unreadable.NOT_JSON:
            raise VendorError(15004, "body is not JSON")
        if body is Unreadable.UNDECODABLE:
            raise VendorError(15004, "body does not decode as its Content-Encoding says")
        if isinstance(body, dict) and body.get("iotCode") is not None:
            trace.iot_code = str(body["iotCode"])
        params = trace.params = self._params(platform, op, body)
        imei = params["iotCode"]
        row = self.lookup(platform, imei)
        if "vehicleCode" in params and op != _BINDS:
            self._same_vehicle(row, params["vehicleCode"])
        rule = self._rule(platform, imei, op)
        if rule is not None and not rule.delayMs:
            raise _fault(rule)  # an injected failure does not wait for the command in flight
        self.inflight.begin(row)
        if rule is None:
            if self.latency is not None:
                return self._late_command(self.latency, row, op, params)
            try:
                self.execute(row, op, params)
            finally:
                self.inflight.end(row)
            return None

        def answer() -> None:
            if rule.code is not None:
                raise _fault(rule)
            self.execute(row, op, params)

        return Pending(rule.delayMs / 1000, answer, lambda: self.inflight.end(row))

    def _params(self, platform: Platform, op: str, body: object) -> dict[str, Any]:
        """A command's parameters by the rules of the vehicle's model; 15705 when the vehicle is
        the caller's and its model lacks the command (another platform's vehicle answers 15103
        after the parameters, as an unknown one answers 15102: its model is not told)."""
        spec = None
        if isinstance(body, dict):
            try:
                row = self.fleet.find(IOT_CODE.read("iotCode", body.get("iotCode")))
            except VendorError:
                row = None  # command_params names the bad iotCode
            if row is not None:
                profile = PROFILES[self.fleet.model.item(row)]
                spec = profile.bodies.get(op)
                if spec is None and self.fleet.platform.item(row) == platform.index:
                    raise unsupported(profile, op)
        return command_params(op, body, spec or self.unknown_bodies[op])

    def _same_vehicle(self, row: int, code: str) -> None:
        """A first-generation call's vehicleCode must be the one the IoT is bound to."""
        if code != readings.vehicle_code(self.fleet, row):
            raise VendorError(15304, f"vehicleCode {code} is not bound to {self.fleet.imeis[row]}")

    def _late_command(self, latency: Latency, row: int, op: str,
                      params: dict[str, Any]) -> Pending[None]:
        """A command that waits for its round trips, holding the vehicle (15104) meanwhile.

        The cloud refuses from the state the vehicle last reported (offline, dormant, ...) in a
        cloud round trip; an admitted command travels to the vehicle and back.
        """
        def release() -> None:
            self.inflight.end(row)

        try:
            vehicle.admit(self.fleet, row, op)
        except VendorError as err:
            return _refused(latency.cloud(op), err, release)
        if op == _BINDS:  # the cloud's own record: no trip to the vehicle
            return Pending(latency.cloud(op), lambda: self.execute(row, op, params), release)
        trip = latency.device(op, self.fleet.network_signal.item(row))
        return _device_trip(trip, latency.model.timeout_s,
                            lambda: self.execute(row, op, params), release)

    def execute(self, row: int, op: str, params: dict[str, Any]) -> None:
        """A validated command reaching the vehicle in `row`: its state guards, then its effect.

        The part of `command` after the in-flight mark, for callers that already hold the row
        (the world's riders, scenarios, tests): no token, parameters, fault rules or in-flight.
        """
        vehicle.admit(self.fleet, row, op)
        vehicle.apply(self.fleet, row, op, params, self.clock.now, self.bus)

"""REST drift: single changes a new release of the real cloud could plausibly ship, each
written from the vendor reference and from what partner code reads (real-clients.md).

Each mutation names the operation and the field it changes (what a report must name for the
drift to count as caught), rewrites the answers of that one operation only (a release touches
one service), and carries a probe: a request whose answer it changes, so a test can prove the
proxy really applies it. `mode` says what a read-only client can see: "read-only" drift shows
in answers to queries, token requests and refused commands; "control" drift only in a
command's success, which a read-only run never causes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drift.proxy import Exchange

Rewrite = Callable[[Exchange, dict[str, Any]], bool]
NOBODY = "000000000000000"  # nobody's IMEI: a command for it is refused with 15102
INTERVALS = {"unlockStatus", "lockStatus", "ridingStatus", "nonRiding"}
TEXTS = {15100: "incorrect platform info", 15103: "iot not unmatched platform"}  # Appendix 1


@dataclass(frozen=True)
class Probe:
    """A request whose answer (or effect) the mutation changes. `situation`: ok (the test
    vehicle's query, or a token), unknown / bad-param (a command for nobody's IMEI), mine (a
    command for the test vehicle), bad-token, bad-client, aged (a token asked for again 60 s
    later)."""

    endpoint: str
    situation: str = "ok"
    body: tuple[tuple[str, Any], ...] = ()  # extra body fields of a command

    def requests(self, path: str, imei: str, client_id: str, secret: str, token: str,
                 ) -> list[tuple[str, str, dict[str, str], bytes]]:
        """(method, path, headers, body) to send in order; the last one's answer counts."""
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.endpoint == "token":
            wrong = secret[::-1] if self.situation == "bad-client" else secret
            ask = ("POST", path, form, (f"client_id={client_id}&client_secret={wrong}"
                                        "&grant_type=client_credentials").encode())
            if self.situation == "aged":
                later = ("POST", "/_sim/clock", {"Content-Type": "application/json"},
                         json.dumps({"advance": 60}).encode())
                return [ask, later, ask]
            return [ask]
        bearer = "not-a-token" if self.situation == "bad-token" else token
        auth = {"Authorization": f"bearer {bearer}", "Content-Type": "application/json"}
        target = imei if self.situation in ("ok", "mine", "bad-token") else NOBODY
        if "/query/" in path:
            return [("GET", f"{path}?iotCode={target}", auth, b"")]
        return [("POST", path, auth, json.dumps({"iotCode": target, **dict(self.body)}).encode())]


@dataclass(frozen=True)
class RestMutation:
    name: str
    endpoint: str
    field: str  # the wire name a failure must mention
    what: str
    answer: Rewrite
    probe: Probe
    aliases: tuple[str, ...] = ()  # other names that count as naming the field
    request: Callable[[Exchange], bool] | None = None  # rewrites the request before it goes on
    mode: str = "read-only"  # or "control": visible only after a command succeeds


def on(endpoint: str, when: Callable[[Exchange], bool],
       change: Callable[[Exchange, dict[str, Any]], None]) -> Rewrite:
    """A rewrite of `endpoint`'s answers for which `when` holds."""

    def rewrite(ex: Exchange, state: dict[str, Any]) -> bool:
        if ex.endpoint != endpoint or not when(ex):
            return False
        change(ex, state)
        return True

    return rewrite


def success(ex: Exchange) -> bool:
    return ex.code == 0 and isinstance(ex.answer, dict)


def has_data(ex: Exchange) -> bool:
    return success(ex) and isinstance(ex.data, dict)


def failed(code: int | None = None) -> Callable[[Exchange], bool]:
    def when(ex: Exchange) -> bool:
        return isinstance(ex.code, int) and ex.code != 0 and code in (None, ex.code)

    return when


def always(ex: Exchange) -> bool:
    return True


def rename(old: str, new: str) -> Callable[[Exchange, dict[str, Any]], None]:
    def change(ex: Exchange, _: dict[str, Any]) -> None:
        data = ex.answer["data"]
        ex.answer["data"] = {(new if k == old else k): v for k, v in data.items()}

    return change


def drop(name: str) -> Callable[[Exchange, dict[str, Any]], None]:
    return lambda ex, _: ex.answer["data"].pop(name, None)


def retype(fn: Callable[[Any], Any], *names: str) -> Callable[[Exchange, dict[str, Any]], None]:
    def change(ex: Exchange, _: dict[str, Any]) -> None:
        for name in names:
            ex.answer["data"][name] = fn(ex.answer["data"][name])

    return change


def envelope(**values: Any) -> Callable[[Exchange, dict[str, Any]], None]:
    def change(ex: Exchange, _: dict[str, Any]) -> None:
        ex.answer.update(values)

    return change


def rename_id(old: str, new: str) -> Callable[[Exchange, dict[str, Any]], None]:
    def change(ex: Exchange, _: dict[str, Any]) -> None:
        ex.answer = {(new if k == old else k): v for k, v in ex.answer.items()}

    return change


def http_status(status: int) -> Callable[[Exchange, dict[str, Any]], None]:
    def change(ex: Exchange, _: dict[str, Any]) -> None:
        ex.status = status

    return change


def served_as(content_type: str) -> Callable[[Exchange, dict[str, Any]], None]:
    def change(ex: Exchange, _: dict[str, Any]) -> None:
        ex.content_type = content_type

    return change


def fix_typo(ex: Exchange, _: dict[str, Any]) -> None:
    ex.answer["data"]["batteryData"] = [
        {("temperature" if k == "temperatrue" else k): v for k, v in pack.items()}
        for pack in ex.answer["data"]["batteryData"]]


def count_slots(ex: Exchange, _: dict[str, Any]) -> None:
    ex.answer["data"]["batteryCount"] = 3  # the bike's slots, not the packs fitted


def frozen_lifetime(ex: Exchange, state: dict[str, Any]) -> None:
    ex.answer["expires_in"] = state.setdefault("expires_in", ex.answer["expires_in"])


def token_issued(ex: Exchange) -> bool:
    return ex.status == 200 and isinstance(ex.answer, dict) and "access_token" in ex.answer


def appendix_text(code: int) -> Callable[[Exchange, dict[str, Any]], None]:
    return envelope(code=code, msg=TEXTS[code])


def accept_out_of_range(endpoint: str, names: set[str], valid: range | set[int],
                        instead: int) -> Callable[[Exchange], bool]:
    """The service stops checking the range of `names`: an integer out of range goes on to the
    vehicle (the mock stands for it, so the proxy hands it a valid one) and the answer is what
    comes next: 15102 for nobody's IMEI, success for a real one. Wrong types are still refused."""

    def rewrite(ex: Exchange) -> bool:
        body = ex.request
        if ex.endpoint != endpoint or not isinstance(body, dict):
            return False
        changed = False
        for container in [body, *(v for v in body.values() if isinstance(v, dict))]:
            for name in names & set(container):
                value = container[name]
                if type(value) is int and value not in valid:
                    container[name] = instead
                    changed = True
        return changed

    return rewrite


def nothing(ex: Exchange, _: dict[str, Any]) -> bool:
    return False


def sent_nowhere(endpoint: str) -> Callable[[Exchange], bool]:
    """A command the cloud acknowledges but never sends to the vehicle: the proxy forwards it
    for nobody's IMEI (parameters are still checked) and answers Success for a real vehicle."""

    def rewrite(ex: Exchange) -> bool:
        body = ex.request
        if ex.endpoint != endpoint or not isinstance(body, dict):
            return False
        imei = body.get("iotCode")
        if not isinstance(imei, str) or imei not in ex.vehicles:
            return False
        ex.notes["sent nowhere"] = imei
        body["iotCode"] = NOBODY
        return True

    return rewrite


def acknowledged(endpoint: str) -> Rewrite:
    """Success for the command `sent_nowhere` diverted (refused only as nobody's)."""
    return on(endpoint, lambda ex: "sent nowhere" in ex.notes and ex.code == 15102,
              envelope(code=0, msg="Success", data=None))


def digit(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


MUTATIONS: list[RestMutation] = [
    # Fields of the query answers: renamed, dropped, retyped, rescaled.
    RestMutation("status-renames-totalRidingSecs", "status", "totalRidingSecs",
                 "totalRidingSecs -> totalRidingSeconds",
                 on("status", has_data, rename("totalRidingSecs", "totalRidingSeconds")),
                 Probe("status"), aliases=("totalRidingSeconds",)),
    RestMutation("location-renames-satelliteNumber", "location", "satelliteNumber",
                 "satelliteNumber -> satelliteCount",
                 on("location", has_data, rename("satelliteNumber", "satelliteCount")),
                 Probe("location"), aliases=("satelliteCount",)),
    RestMutation("battery-info-fixes-temperatrue", "battery-info", "temperatrue",
                 "batteryData[].temperatrue -> temperature (the typo fixed)",
                 on("battery-info", has_data, fix_typo), Probe("battery-info"),
                 aliases=("temperature",)),
    RestMutation("bluetooth-key-renames-key", "bluetooth-key", "key", "key -> bluetoothKey",
                 on("bluetooth-key", has_data, rename("key", "bluetoothKey")),
                 Probe("bluetooth-key"), aliases=("bluetoothKey",)),
    RestMutation("status-drops-lockVoltage", "status", "lockVoltage", "lockVoltage left out",
                 on("status", has_data, drop("lockVoltage")), Probe("status")),
    RestMutation("location-drops-altitude", "location", "altitude", "altitude left out",
                 on("location", has_data, drop("altitude")), Probe("location")),
    RestMutation("battery-info-drops-iotVoltage", "battery-info", "iotVoltage",
                 "iotVoltage left out",
                 on("battery-info", has_data, drop("iotVoltage")), Probe("battery-info")),
    RestMutation("status-powerPercent-as-string", "status", "powerPercent", '85 -> "85"',
                 on("status", has_data, retype(str, "powerPercent")), Probe("status")),
    RestMutation("status-booleans-as-digits", "status", "locked", "true/false -> 1/0",
                 on("status", has_data, retype(digit, "online", "locked", "charging")),
                 Probe("status"), aliases=("online", "charging")),
    RestMutation("location-coordinates-as-strings", "location", "latitude",
                 'latitude/longitude 1.26 -> "1.26" (BigDecimal as text)',
                 on("location", has_data, retype(str, "latitude", "longitude")),
                 Probe("location"), aliases=("longitude",)),
    RestMutation("battery-info-counts-slots", "battery-info", "batteryCount",
                 "batteryCount 3 (the slots) with fewer packs",
                 on("battery-info", has_data, count_slots), Probe("battery-info")),
    RestMutation("status-networkSignal-in-dBm", "status", "networkSignal",
                 "networkSignal as dBm (-113 + 2 x CSQ) instead of 2-32",
                 on("status", has_data, retype(lambda v: -113 + 2 * v, "networkSignal")),
                 Probe("status")),
    RestMutation("status-iotCode-as-number", "status", "iotCode", '"8614..." -> 8614...',
                 on("status", has_data, retype(int, "iotCode")), Probe("status")),
    RestMutation("status-statusUtcTime-in-ms", "status", "statusUtcTime",
                 "statusUtcTime in epoch ms instead of s",
                 on("status", has_data, retype(lambda v: v * 1000, "statusUtcTime")),
                 Probe("status")),
    # The envelope: msg texts and case, codes, the id field, t.
    RestMutation("status-msg-lowercase", "status", "msg", '"Success" -> "success"',
                 on("status", success, envelope(msg="success")), Probe("status")),
    RestMutation("unlock-error-msg-capitalised", "unlock", "msg",
                 '"device not found" -> "Device not found" (every error of unlock)',
                 on("unlock", failed(),
                    lambda ex, _: ex.answer.update(msg=str(ex.answer["msg"]).capitalize())),
                 Probe("unlock", "unknown")),
    RestMutation("speed-mode-15004-reworded", "setting/speed-mode", "msg",
                 '15004 "parameter error" -> "parameter invalid"',
                 on("setting/speed-mode", failed(15004), envelope(msg="parameter invalid")),
                 Probe("setting/speed-mode", "bad-param", (("speedMode", 9),))),
    RestMutation("anti-theft-unknown-as-15103", "anti-theft", "code",
                 "an unknown IMEI answers 15103 (iot not unmatched platform), not 15102",
                 on("anti-theft", failed(15102), appendix_text(15103)),
                 Probe("anti-theft", "unknown", (("controlType", 1),))),
    RestMutation("location-bad-token-as-15100", "location", "code",
                 "a bad token answers 15100 (incorrect platform info), not 15101",
                 on("location", failed(15101), appendix_text(15100)),
                 Probe("location", "bad-token")),
    RestMutation("status-opId-as-resId", "status", "opId", "envelope id opId -> resId",
                 on("status", always, rename_id("opId", "resId")), Probe("status"),
                 aliases=("resId",)),
    RestMutation("battery-info-resId-as-opId", "battery-info", "resId",
                 "envelope id resId -> opId (the reference's resId)",
                 on("battery-info", always, rename_id("resId", "opId")),
                 Probe("battery-info"), aliases=("opId",)),
    RestMutation("mech-lock-opId-as-resId", "mech-lock", "opId", "envelope id opId -> resId",
                 on("mech-lock", always, rename_id("opId", "resId")),
                 Probe("mech-lock", "unknown"), aliases=("resId",)),
    RestMutation("location-t-in-seconds", "location", "t", "t in epoch s instead of ms",
                 on("location", always, lambda ex, _: ex.answer.update(t=ex.answer["t"] // 1000)),
                 Probe("location")),
    RestMutation("sound-error-data-empty-object", "sound", "data", "errors carry data: {}",
                 on("sound", failed(), envelope(data={})), Probe("sound", "unknown",
                                                                 (("controlType", 2),))),
    RestMutation("switch-code-as-string", "setting/switch", "code", 'code 15004 -> "15004"',
                 on("setting/switch", failed(), lambda ex, _: ex.answer.update(
                     code=str(ex.answer["code"]))), Probe("setting/switch", "bad-param")),
    # HTTP statuses and content types.
    RestMutation("status-15101-as-http-401", "status", "HTTP status",
                 "15101 served with HTTP 401", on("status", failed(15101), http_status(401)),
                 Probe("status", "bad-token"), aliases=("http", "401")),
    RestMutation("unlock-15102-as-http-404", "unlock", "HTTP status",
                 "15102 served with HTTP 404", on("unlock", failed(15102), http_status(404)),
                 Probe("unlock", "unknown"), aliases=("http", "404")),
    RestMutation("bluetooth-setting-15004-as-http-400", "setting/bluetooth-key", "HTTP status",
                 "15004 served with HTTP 400",
                 on("setting/bluetooth-key", failed(15004), http_status(400)),
                 Probe("setting/bluetooth-key", "bad-param", (("key", "abc"),)),
                 aliases=("http", "400")),
    RestMutation("bluetooth-key-as-text-plain", "bluetooth-key", "Content-Type",
                 "served as text/plain;charset=UTF-8",
                 on("bluetooth-key", always, served_as("text/plain;charset=UTF-8")),
                 Probe("bluetooth-key"), aliases=("content type", "content_type", "text/plain")),
    RestMutation("whole-shutdown-as-text-html", "whole-shutdown", "Content-Type",
                 "served as text/html",
                 on("whole-shutdown", always, served_as("text/html")),
                 Probe("whole-shutdown", "unknown"),
                 aliases=("content type", "content_type", "text/html")),
    # The token.
    RestMutation("token-expires-in-frozen", "token", "expires_in",
                 "expires_in stays at the first value (never counts down)",
                 on("token", token_issued, frozen_lifetime), Probe("token", "aged")),
    RestMutation("token-type-capitalised", "token", "token_type", '"bearer" -> "Bearer"',
                 on("token", token_issued, lambda ex, _: ex.answer.update(token_type="Bearer")),
                 Probe("token")),
    RestMutation("token-bad-client-as-http-400", "token", "HTTP status",
                 "invalid_client served with HTTP 400, not 401",
                 on("token", lambda ex: ex.status == 401, http_status(400)),
                 Probe("token", "bad-client"), aliases=("http", "400", "401")),
    # Checks the cloud stops making.
    RestMutation("sound-controlType-unchecked", "sound", "controlType",
                 "controlType's range no longer enforced", nothing,
                 Probe("sound", "unknown", (("controlType", 99),)),
                 request=accept_out_of_range("sound", {"controlType"}, {2, 10, 11, 12, 13}, 2)),
    RestMutation("interval-range-unchecked", "setting/interval", "unlockStatus",
                 "interval's 10-65535 range no longer enforced", nothing,
                 Probe("setting/interval", "unknown", (
                     ("locationInterval", {"unlockStatus": 5, "lockStatus": 900}),)),
                 aliases=("locationInterval", "statusInterval", "lockStatus", "ridingStatus",
                          "nonRiding"),
                 request=accept_out_of_range("setting/interval", INTERVALS, range(10, 65536),
                                             10)),
    # Visible only after a command succeeds (--allow-control / --allow-settings).
    RestMutation("unlock-success-msg-lowercase", "unlock", "msg",
                 'a successful unlock answers msg "success"',
                 on("unlock", success, envelope(msg="success")), Probe("unlock", "mine"),
                 mode="control"),
    RestMutation("unlock-does-nothing", "unlock", "locked",
                 "unlock answers Success but the vehicle stays locked",
                 acknowledged("unlock"), Probe("unlock", "mine"), request=sent_nowhere("unlock"),
                 mode="control"),
    RestMutation("speed-mode-ignored", "setting/speed-mode", "speedMode",
                 "speed mode answers Success but the vehicle keeps its mode",
                 acknowledged("setting/speed-mode"),
                 Probe("setting/speed-mode", "mine", (("speedMode", 3),)),
                 request=sent_nowhere("setting/speed-mode"), mode="control"),
]

# Not drift: a release that only adds a field must not fail a partner's run (issue 16).
ADDED_FIELD = RestMutation(
    "status-adds-batteryTemp", "status", "batteryTemp", "status data gains batteryTemp: 21",
    on("status", has_data, lambda ex, _: ex.answer["data"].update(batteryTemp=21)),
    Probe("status"))
UNCHANGED = RestMutation("unmutated", "-", "-", "every answer as the mock gives it", nothing,
                         Probe("status"))

"""The event log of a run: JSON lines with virtual times, written as the run goes.

Line kinds, in the order they happen:
- `{"format": "segway-sim/scenario-log", "version": 1, "scenario", "seed", "vehicles",
  "target", "callback", "config"}`: the header (config: the in-process simulator's Config);
- `{"op": ..., "t": <virtual epoch s>, ...}`: every operation the run performed on the world,
  in order: `platform`, `token`, `vendor` (with the answer `code`), `event` (with the HTTP
  `status`), `patch`, `fault` (the rule `id`), `unfault`, `advance` (to `t`);
- `{"push": <pushId>, "type", "iotCode", "due": <virtual epoch ms>, "body"}`: every push sent,
  its form body exactly as sent (signature included), in pushId order within a step;
- `{"summary": {...}}`: outcomes and counters, last.

Nothing wall-clock lives in the log (no latencies, no opIds, no ports), so two in-process runs
of the same scenario and seed write the same bytes. Replaying performs the `op` lines against a
fresh simulator of the header's config and compares the pushes it makes with the `push` lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from simulator.push.outbox import encode
from simulator.scenarios.drivers import HttpDriver

FORMAT = "segway-sim/scenario-log"
VERSION = 1


class LogError(ValueError):
    """The file is not a scenario log this version can replay."""


class PushIds:
    """The pushIds a run has seen. A simulator numbers its pushes 1, 2, 3 ..., so a byte per
    number from the first one seen is exact and small: a set of the millions of pushes of a
    run at 100,000 vehicles would take hundreds of megabytes."""

    def __init__(self) -> None:
        self.base = 0  # the pushId of seen[0]
        self.seen = bytearray()

    def add(self, push_id: int) -> bool:
        """Remember `push_id`; False if it was seen already."""
        if not self.seen:
            self.base = push_id
        elif push_id < self.base:  # first attempted after younger ones (many are in flight)
            self.seen[:0] = bytes(self.base - push_id)
            self.base = push_id
        k = push_id - self.base
        if k >= len(self.seen):
            self.seen += bytes(k + 1 - len(self.seen) + len(self.seen) // 2)
        if self.seen[k]:
            return False
        self.seen[k] = 1
        return True


def first_attempts(records: list[dict[str, Any]], sent: PushIds) -> list[dict[str, Any]]:
    """The pushes among journal `records` not seen before (`sent` remembers them), each once,
    by its first attempt, in pushId order (a chaos duplicate is the same push)."""
    out = [r for r in records
           if r["attempt"] == 1 and r["outcome"] != "dropped" and sent.add(r["pushId"])]
    return sorted(out, key=lambda r: r["pushId"])


def push_line(record: dict[str, Any]) -> dict[str, Any]:
    return {"push": record["pushId"], "type": record["type"], "iotCode": record["iotCode"],
            "due": record["due"], "body": encode(record["fields"]).decode()}


class Log:
    def __init__(self, path: str | Path, header: dict[str, Any] | None = None) -> None:
        self.file: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed by close()
        self.header = header or {}  # what the session adds: callback, config

    def line(self, data: dict[str, Any]) -> None:
        self.file.write(orjson.dumps(data) + b"\n")

    def begin(self, scenario: str, seed: int, vehicles: int, target: str) -> None:
        """The header line, as a run (runner.py) begins: what it plays, where."""
        self.line({"format": FORMAT, "version": VERSION, "scenario": scenario, "seed": seed,
                   "vehicles": vehicles, "target": target, **self.header})

    def pushes(self, records: list[dict[str, Any]]) -> None:
        for r in records:
            self.line(push_line(r))

    def summary(self, result: dict[str, Any]) -> None:
        """The last line: the run's Result.to_json()."""
        self.line({"summary": result})

    def close(self) -> None:
        self.file.close()


class Recording:
    """A driver that writes every operation it passes on to the log (reads are not logged)."""

    def __init__(self, inner: HttpDriver, log: Log) -> None:
        self.inner = inner
        self.log = log
        self.kind = inner.kind
        self.t = 0.0

    @property
    def unread(self) -> int:
        return self.inner.unread

    def _op(self, op: str, **data: Any) -> None:
        self.log.line({"op": op, "t": self.t, **data})

    async def open(self) -> None:
        await self.inner.open()
        self.t = await self.inner.now()

    async def close(self) -> None:
        await self.inner.close()

    async def now(self) -> float:
        return await self.inner.now()

    async def imeis(self, code: str) -> list[str]:
        return await self.inner.imeis(code)

    async def vehicle(self, imei: str) -> dict[str, Any]:
        return await self.inner.vehicle(imei)

    async def pushes(self, platform: str) -> list[dict[str, Any]]:
        return await self.inner.pushes(platform)

    async def settle(self) -> None:
        await self.inner.settle()

    async def add_platform(self, body: dict[str, Any]) -> tuple[int, Any]:
        status, platform = await self.inner.add_platform(body)
        # The callback is where this run's pushes went (a port of the moment): not the world's.
        self._op("platform", body={k: v for k, v in body.items() if k != "callbackUrl"},
                 status=status)
        return status, platform

    async def token(self, client_id: str, secret: str) -> str:
        token = await self.inner.token(client_id, secret)
        self._op("token", clientId=client_id, clientSecret=secret)
        return token

    async def vendor(self, method: str, path: str, token: str, body: Any = None,
                     query: dict[str, str] | None = None) -> dict[str, Any]:
        answer = await self.inner.vendor(method, path, token, body, query)
        self._op("vendor", method=method, path=path, token=token, body=body, query=query,
                 code=answer["code"])
        return answer

    async def event(self, imei: str, body: dict[str, Any]) -> int:
        status = await self.inner.event(imei, body)
        self._op("event", iotCode=imei, body=body, status=status)
        return status

    async def patch(self, imei: str, body: dict[str, Any]) -> None:
        await self.inner.patch(imei, body)
        self._op("patch", iotCode=imei, body=body)

    async def add_fault(self, body: dict[str, Any]) -> int:
        rule = await self.inner.add_fault(body)
        self._op("fault", body=body, id=rule)
        return rule

    async def delete_fault(self, rule_id: int) -> None:
        await self.inner.delete_fault(rule_id)
        self._op("unfault", id=rule_id)

    async def advance_to(self, t: float) -> None:
        await self.inner.advance_to(t)
        self.t = t
        self._op("advance")


@dataclass
class Recorded:
    header: dict[str, Any]
    ops: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None


def read(path: str | Path) -> Recorded:
    lines = Path(path).read_bytes().splitlines()
    try:
        header = orjson.loads(lines[0]) if lines else None
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise LogError(f"{path}: not a scenario log (no {FORMAT} header)")
    if header.get("version") != VERSION:
        raise LogError(f"{path}: log version {header.get('version')}, this reads {VERSION}")
    out = Recorded(header)
    for n, raw in enumerate(lines[1:], start=2):
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise LogError(f"{path}:{n}: not JSON ({exc})") from None
        if "op" in line:
            out.ops.append(line)
        elif "push" in line:
            out.pushes.append(line)
        elif "summary" in line:
            out.summary = line["summary"]
        else:
            raise LogError(f"{path}:{n}: neither an op, a push nor the summary")
    return out


def differences(recorded: list[dict[str, Any]], replayed: list[dict[str, Any]],
                limit: int = 5) -> list[str]:
    """How two lists of push lines differ (empty: the same pushes, byte for byte)."""
    a = {p["push"]: p for p in recorded}
    b = {p["push"]: p for p in replayed}
    out: list[str] = []
    for pid in sorted(a.keys() | b.keys()):
        if a.get(pid) != b.get(pid):
            out.append(f"push {pid}: recorded {_short(a.get(pid))}, replayed {_short(b.get(pid))}")
            if len(out) >= limit:
                break
    return out


def _short(line: dict[str, Any] | None) -> str:
    if line is None:
        return "nothing"
    return f"{line['type']} {line['iotCode']} at {line['due']} ms: {line['body'][:90]}"

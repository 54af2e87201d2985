"""`segway-sim serve --paused`: the same seed and the same calls give the same vendor answers, byte
for byte but for the operation's fresh id (opId, resId), however long the caller waited before its
first call (a partner's suite in any language drives the clock over HTTP, like the pytest
plugin's paused clock)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from simulator.sim import DEMO_TOKEN

START = 1_767_225_600  # 2026-01-01T00:00:00Z
SERVE = [sys.executable, "-c", "from simulator.cli.main import main; main()", "serve",
         "--port", "0", "--paused", "--seed", "7", "--start", str(START), "--vehicles", "50"]


@contextmanager
def serving() -> Iterator[str]:
    proc = subprocess.Popen(SERVE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "segway-sim 0.1.0 serving 50 vehicles on http://..."
        assert " on http://127.0.0.1:" in first, first
        yield first.rsplit(" on ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def request(url: str, method: str = "GET", body: object = None) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"bearer {DEMO_TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return bytes(resp.read())


def without_op_id(answer: bytes) -> bytes:
    masked, n = re.subn(rb'"(opId|resId)":"[0-9a-f-]{36}"', rb'"\1":"-"', answer)
    assert n == 1, answer
    return masked


def session(base: str) -> list[bytes]:
    """Queries, a ride and the clock moved by advance and to: the vendor's answers in order."""
    vehicles = json.loads(request(f"{base}/_sim/vehicles?limit=50"))["items"]
    imeis = [v["iotCode"] for v in vehicles][:12]
    answers = []
    for imei in imeis:
        answers.append(request(f"{base}/api/v2/vehicle/query/current/status?iotCode={imei}"))
    for imei in imeis[:6]:
        answers.append(request(f"{base}/api/v2/vehicle/control/unlock", "POST",
                               {"iotCode": imei}))
    request(f"{base}/_sim/clock", "POST", {"advance": 300})
    for imei in imeis:
        answers.append(request(f"{base}/api/v2/vehicle/query/current/location?iotCode={imei}"))
    request(f"{base}/_sim/clock", "POST", {"to": START + 3600})
    for imei in imeis:
        answers.append(request(f"{base}/api/v2/vehicle/query/current/status?iotCode={imei}"))
        answers.append(request(f"{base}/api/v2/vehicle/query/current/battery-info?iotCode={imei}"))
    return [without_op_id(a) for a in answers]


def test_two_paused_runs_answer_alike_whatever_the_wait() -> None:
    with serving() as first, serving() as second:
        # `second` has waited all of `first`'s session before its own first call.
        answers = session(first)
        assert json.loads(request(f"{second}/_sim/clock"))["now"] == START  # it did not move
        assert session(second) == answers
    rides = [json.loads(a) for a in answers[12:18]]
    assert sum(r["code"] == 0 for r in rides) >= 3  # the calls did something worth comparing
    assert len(set(answers[18:30])) > 6  # the riders took the vehicles to different places

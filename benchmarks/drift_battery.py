"""The held-out drift battery: how much realistic server-side drift `segway-sim contract`
catches, measured as a partner would meet it (issue 16, done-when 1).

    python benchmarks/drift_battery.py [--only NAME ...] [--jobs 2] [--check] [--json FILE]

REST drift: a mutating proxy (benchmarks/drift/proxy.py) in front of a mock standing in for
the live cloud (clock in wall time, nothing left to chance) plays one release's change
(benchmarks/drift/rest.py); the suite runs against the proxy in the default read-only live mode
(`--assume-live`, no --allow-control / --allow-settings). Drift that only a command's success
shows runs with both flags and is counted apart. Push drift: genuine pushes of every type
captured from the mock, one change per copy of the file (benchmarks/drift/push.py), checked with
`--push-capture`. The unmutated proxy, a release that only adds a field and the clean capture
must pass: no false alarm.

A mutation is caught when the run fails and one failure (JUnit test name and message) names
both its operation (or push type) and its field; a failing run that names neither is "not
named", one that never met the change (the proxy changed no answer) proves nothing.
The mutations were written from the vendor reference, real-clients.md and issue 16, without
reading the suite's checks, so the figures are not tuned to it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from aiohttp import web
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_IMEIS, Config
from simulator.testing.plugin import ServerThread, http_json
from simulator.world.physics import PhysicsConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))

from drift import push, rest  # noqa: E402
from drift.capture import capture  # noqa: E402
from drift.proxy import Proxy  # noqa: E402

RUN_TIMEOUT_S = 600
REST_TARGET = 0.90
PUSH_TARGET = 1.0
PATHS = {"token": "/oauth/token", "battery-info": "/api/v2/mopeds/query/current/battery-info",
         "setting/switch": "/api/v2/ebike/setting/switch"}
QUERIES = {"status", "location", "bluetooth-key"}


def live_config() -> Config:
    """The stand-in for the real cloud: a clock in wall time, nothing happening by chance."""
    return Config(seed=1, vehicles=20, paused=False, riders=False,
                  physics=PhysicsConfig.parse("quiet"))


def path_of(endpoint: str) -> str:
    if endpoint in PATHS:
        return PATHS[endpoint]
    if endpoint in QUERIES:
        return f"/api/v2/vehicle/query/current/{endpoint}"
    if endpoint.startswith("setting/"):
        return f"/api/v2/vehicle/{endpoint}"
    return f"/api/v2/vehicle/control/{endpoint}"


def endpoint_names(endpoint: str) -> list[str]:
    names = [endpoint, path_of(endpoint)]
    if "/" not in endpoint and endpoint != "token":
        names.append(path_of(endpoint).rsplit("/", 2)[1] + "/" + endpoint)  # control/sound
    return names


def push_names(kind: str) -> list[str]:
    return [kind, f"/v2/vehicle/{kind}"]


def mentions(text: str, names: Iterable[str]) -> bool:
    """Whether `text` names one of `names` as a whole word (`sound` is not `setting/sound`,
    `key` is not `bluetooth-key`, `code` is not `iotCode`)."""
    return any(re.search(rf"(?<![A-Za-z0-9_/-]){re.escape(n)}(?![A-Za-z0-9_])", text, re.I)
               for n in names)


@dataclass
class Case:
    """One run of the suite: a mutation (or a clean control) and what came of it."""

    name: str
    kind: str  # rest | control | push | clean
    where: str  # operation or push type
    field: str
    what: str
    where_names: list[str]
    field_names: list[str]
    mutation: Any = None  # rest.RestMutation, push.PushMutation, or None
    capture: list[str] | None = None  # the capture file's lines, for push cases
    expect_pass: bool = False
    result: str = "not run"
    exit_code: int | None = None
    applied: int = 0  # answers (REST) or pushes the mutation changed
    broken: list[str] = dataclasses.field(default_factory=list)  # the proxy's own errors
    evidence: str = ""
    reported: bool = True  # the run wrote its JUnit report
    seconds: float = 0.0
    failures: list[str] = dataclasses.field(default_factory=list)


def cases(clean_capture: list[str]) -> list[Case]:
    out = [
        Case("unmutated", "clean", "-", "-", "every answer as the mock gives it", [], [],
             rest.UNCHANGED, expect_pass=True),
        Case(rest.ADDED_FIELD.name, "clean", "status", "batteryTemp", rest.ADDED_FIELD.what,
             [], [], rest.ADDED_FIELD, expect_pass=True),
        Case("clean-capture", "clean", "pushes", "-", "the mock's own pushes, unchanged", [],
             [], None, capture=clean_capture, expect_pass=True),
    ]
    for m in rest.MUTATIONS:
        out.append(Case(m.name, "rest" if m.mode == "read-only" else "control", m.endpoint,
                        m.field, m.what, endpoint_names(m.endpoint), [m.field, *m.aliases], m))
    for p in push.MUTATIONS:
        lines = push.mutate(clean_capture, p, DEMO_CLIENT_SECRET)
        out.append(Case(p.name, "push", p.type, p.field, p.what, push_names(p.type),
                        [p.field, *p.aliases], p, capture=lines))
    return out


def failures(report: Path) -> list[str]:
    """Each failed or erroring test of a JUnit file: its name and its message."""
    root = ET.parse(report).getroot()
    found = []
    for case in root.iter("testcase"):
        for problem in [*case.iter("failure"), *case.iter("error")]:
            message = " ".join(problem.get("message", "").split())
            found.append(f"{case.get('classname', '')}::{case.get('name', '')} {message}")
    return found


def start_proxy(server: ServerThread, mutation: Any) -> tuple[Proxy, web.AppRunner, str]:
    status, page = http_json("GET", f"{server.url}/_sim/vehicles?limit=1000")
    assert status == 200
    proxy = Proxy(server.url, mutation, vehicles=frozenset(v["iotCode"] for v in page["items"]))
    runner = web.AppRunner(proxy.app(), access_log=None, handle_signals=False)
    server.submit(runner.setup()).result(10)
    server.submit(web.TCPSite(runner, "127.0.0.1", 0).start()).result(10)
    host, port = runner.addresses[0][:2]
    return proxy, runner, f"http://{host}:{port}"


def contract(url: str, workdir: Path, *more: str) -> tuple[int, list[str] | None, str]:
    """The suite as a partner runs it: exit code, failures (None: no report), output's end."""
    report = workdir / "contract.xml"
    try:
        run = subprocess.run(
            [sys.executable, "-m", "simulator.cli.main", "contract", "--base-url", url,
             "--assume-live", "--client-id", DEMO_CLIENT_ID, "--client-secret",
             DEMO_CLIENT_SECRET, "--iot-code", DEMO_IMEIS[0], "--junit-xml", str(report), *more],
            cwd=workdir, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return -1, None, f"no result within {RUN_TIMEOUT_S} s"
    found = failures(report) if report.exists() else None
    return run.returncode, found, (run.stdout + run.stderr)[-2000:]


def run_case(case: Case, clean: list[str] | None = None) -> Case:
    started = time.monotonic()
    server = ServerThread(live_config(), pace=True).start()
    runner = None
    try:
        with tempfile.TemporaryDirectory(prefix="drift-") as tmp:
            workdir = Path(tmp)
            more: list[str] = []
            url = server.url
            proxy = None
            if case.capture is not None:
                capture_file = workdir / "pushes.jsonl"
                capture_file.write_text("".join(line + "\n" for line in case.capture))
                more += ["--push-capture", str(capture_file)]
            else:
                proxy, runner, url = start_proxy(server, case.mutation)
            if case.kind == "control":
                more += ["--allow-control", "--allow-settings"]
            case.exit_code, found, tail = contract(url, workdir, *more)
            case.failures = found or []
            case.reported = found is not None
            if proxy is not None:
                case.applied, case.broken = proxy.applied, proxy.broken
            else:
                case.applied = len(set(case.capture or []) - set(clean or []))
    finally:
        if runner is not None:
            server.submit(runner.cleanup()).result(10)
        server.stop()
    case.seconds = time.monotonic() - started
    judge(case, tail)
    return case


def judge(case: Case, tail: str = "") -> None:
    if case.exit_code not in (0, 1) or not case.reported:
        case.result = "error"  # the suite did not run to the end: nothing was measured
        last = tail.strip().splitlines()[-1:]
        case.evidence = f"exit {case.exit_code}: {last[0] if last else ''}"
        return
    if case.broken:
        case.result = "proxy error"
        case.evidence = case.broken[0]
        return
    if case.expect_pass:
        case.result = "pass" if case.exit_code == 0 else "FALSE ALARM"
        case.evidence = "; ".join(case.failures[:3])
        return
    if case.applied == 0 and case.kind != "clean":
        case.result = "not applied"  # the suite never met the change: a catch would prove nothing
        return
    if case.exit_code == 0:
        case.result = "missed"
        return
    named = [f for f in case.failures  # "HTTP status" does not name the status query
             if mentions(re.sub("http status", "HTTP", f, flags=re.I), case.where_names)
             and mentions(f, case.field_names)]
    case.result = "caught" if named else "not named"
    case.evidence = (named or case.failures or [""])[0]


def figures(done: list[Case]) -> dict[str, Any]:
    def share(kind: str) -> dict[str, Any]:
        mine = [c for c in done if c.kind == kind]
        caught = sum(c.result == "caught" for c in mine)
        return {"caught": caught, "total": len(mine),
                "share": caught / len(mine) if mine else None,
                "not_named": sum(c.result == "not named" for c in mine)}

    clean = [c for c in done if c.kind == "clean"]
    return {"rest": share("rest"), "push": share("push"), "control": share("control"),
            "false_alarms": [c.name for c in clean if c.result != "pass"]}


def passes_check(fig: dict[str, Any]) -> bool:
    rest_ok = fig["rest"]["share"] is None or fig["rest"]["share"] >= REST_TARGET
    push_ok = fig["push"]["share"] is None or fig["push"]["share"] >= PUSH_TARGET
    return rest_ok and push_ok and not fig["false_alarms"]


def render(done: list[Case], fig: dict[str, Any], console: Console) -> None:
    table = Table(title="drift battery", show_lines=False)
    for column in ("mutation", "kind", "operation / push", "field", "result", "s", "evidence"):
        table.add_column(column, overflow="fold")
    colour = {"caught": "green", "pass": "green", "not named": "yellow"}
    for c in done:
        style = colour.get(c.result, "red")
        table.add_row(c.name, c.kind, c.where, c.field, f"[{style}]{c.result}[/]",
                      f"{c.seconds:.0f}", escape(c.evidence[:160]))
    console.print(table)

    def line(label: str, part: dict[str, Any]) -> str:
        if not part["total"]:
            return f"{label}: not run"
        return (f"{label}: {part['caught']}/{part['total']} caught "
                f"({100 * part['share']:.0f} %), {part['not_named']} failed without naming it")

    console.print(line("REST, read-only live", fig["rest"]), markup=False)
    console.print(line("push, --push-capture", fig["push"]), markup=False)
    console.print(line("REST, --allow-control --allow-settings (apart)", fig["control"]),
                  markup=False)
    console.print("false alarms: " + (", ".join(fig["false_alarms"]) or "none"), markup=False)


def run(only: list[str] | None = None, jobs: int = 2) -> tuple[list[Case], dict[str, Any]]:
    unknown = set(only or ()) - {c.name for c in cases([])}
    if unknown:
        raise click.BadParameter(f"unknown case(s): {', '.join(sorted(unknown))} (see --list)",
                                 param_hint="--only")
    clean = capture(live_config())
    todo = [c for c in cases(clean) if not only or c.name in only]
    with ThreadPoolExecutor(jobs) as pool:
        done = list(pool.map(lambda case: run_case(case, clean), todo))
    return done, figures(done)


@click.command()
@click.option("--only", multiple=True, metavar="NAME", help="Run only this case (repeatable).")
@click.option("--jobs", default=2, show_default=True, type=click.IntRange(1, 16),
              help="Suite runs in parallel.")
@click.option("--check", is_flag=True,
              help=f"Exit 1 unless REST >= {REST_TARGET:.0%}, push = 100 %, no false alarm.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the cases and figures here.")
@click.option("--list", "list_only", is_flag=True, help="List the cases; run nothing.")
def main(only: tuple[str, ...], jobs: int, check: bool, json_file: Path | None,
         list_only: bool) -> None:
    """Measure how much realistic cloud drift `segway-sim contract` catches."""
    if list_only:
        for c in cases([]):
            print(f"{c.name:40} {c.kind:8} {c.where:22} {c.field:16} {c.what}")
        return
    started = time.monotonic()
    done, fig = run(list(only), jobs)
    console = Console(width=200)
    render(done, fig, console)
    console.print(f"{len(done)} runs in {time.monotonic() - started:.0f} s", markup=False)
    if json_file is not None:
        json_file.write_text(json.dumps({
            "figures": fig,
            "cases": [{k: getattr(c, k) for k in ("name", "kind", "where", "field", "what",
                                                  "result", "exit_code", "applied",
                                                  "evidence", "seconds")} for c in done]},
            indent=1))
    if check and not passes_check(fig):
        sys.exit(1)


if __name__ == "__main__":
    main()

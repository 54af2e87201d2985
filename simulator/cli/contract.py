"""`segway-sim contract`: run the contract suite against the mock or a live cloud, then summarise.

The suite is plain pytest (installed as `simulator.contract`); this command passes the target
options through, adds JUnit XML on request, and prints a readable summary: outcomes by validation
marker, failures, what did not run against this target and why, and drift from recorded truth.
A --base-url target is checked first (does it answer, does it give a token), so a wrong target
is one line rather than a failure per test. pytest is imported here only when the command runs:
serving needs no pytest.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from simulator.cli.checks import URL, Failed, simulator_at

if TYPE_CHECKING:  # pytest and rich load only when the command runs, not with every CLI call
    import pytest
    from rich.console import Console

VALIDATION = ("validated_live", "unvalidated", "mock_only")


def suite_dir() -> Path:
    """The contract suite's folder: the installed `simulator.contract`, or the repo's contract/."""
    try:
        import simulator.contract as suite

        return Path(suite.__file__).parent
    except ImportError:  # a source checkout used without installing
        return Path(__file__).resolve().parents[2] / "contract"


class Summary:
    """A pytest plugin that keeps what the summary needs."""

    def __init__(self) -> None:
        self.marker: dict[str, str] = {}
        self.outcome: dict[str, str] = {}
        self.failures: dict[str, str] = {}
        self.deselected: Counter[str] = Counter()
        self.deselected_by_marker: Counter[str] = Counter()
        self.drift: list[dict[str, Any]] = []
        self.meaning: dict[str, str] = {}  # validation marker -> what it says (the suite's own)
        self._deselected: list[pytest.Item] = []

    @staticmethod
    def _validation(item: pytest.Item) -> str:
        return next((m for m in VALIDATION if item.get_closest_marker(m)), "unmarked")

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        self.marker[item.nodeid] = self._validation(item)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            why = dict(item.user_properties).get("deselected", "deselected (-k/-m)")
            self.deselected[str(why)] += 1
            self.deselected_by_marker[self._validation(item)] += 1
        self._deselected += items

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.outcome[report.nodeid] = "failed" if report.when == "call" else "error"
            self.failures.setdefault(report.nodeid, _first_line(report))
        elif report.skipped:
            self.outcome.setdefault(report.nodeid, "skipped")
        elif report.when == "call":
            self.outcome.setdefault(report.nodeid, "passed")
        if report.when == "call":
            self.drift += [json.loads(str(v)) for k, v in report.user_properties
                           if k == "drift"]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Take over the suite's plain-text drift and not-run sections: render() shows them as
        tables, once. (This runs before the terminal summary, where the suite prints them.)"""
        from simulator.contract.stash import DRIFT

        session.config.stash.get(DRIFT, []).clear()
        for item in self._deselected:
            item.user_properties[:] = [p for p in item.user_properties if p[0] != "deselected"]
        for line in session.config.getini("markers"):
            name, _, what = str(line).partition(":")
            if name in VALIDATION:
                self.meaning[name] = what.strip()


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return text.strip().splitlines()[0][:160] if text.strip() else report.outcome


def render(summary: Summary, target: str, console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Segway contract: {target}", title_justify="left")
    for col in ("marker", "passed", "failed", "error", "not run"):
        table.add_column(col, justify="left" if col == "marker" else "right")
    counts: dict[str, Counter[str]] = {m: Counter() for m in (*VALIDATION, "unmarked")}
    legend = []
    for nodeid, outcome in summary.outcome.items():
        counts[summary.marker.get(nodeid, "unmarked")][outcome] += 1
    for marker, c in counts.items():
        not_run = summary.deselected_by_marker[marker] + c["skipped"]
        if sum(c.values()) or not_run:
            table.add_row(marker, str(c["passed"]), _red(c["failed"]), _red(c["error"]),
                          str(not_run))
            if marker in summary.meaning:
                legend.append(f"{marker}: {summary.meaning[marker]}")
    console.print(table)
    for line in legend:  # what the markers mean, under the table (a caption wraps to its width)
        console.print(line, style="dim", highlight=False)
    if summary.failures:
        failed = Table(title="failures", title_justify="left", show_header=False)
        failed.add_column("test", style="red")
        failed.add_column("why")
        for nodeid, why in summary.failures.items():
            # test ids carry the endpoint in brackets (test_x[status]): text, not markup
            failed.add_row(escape(nodeid.split("::", 1)[-1]), escape(why))
        console.print(failed)
    if summary.deselected:
        skipped = Table(title="not run against this target", title_justify="left")
        skipped.add_column("tests", justify="right")
        skipped.add_column("why")
        for why, n in sorted(summary.deselected.items()):
            skipped.add_row(str(n), escape(why))
        console.print(skipped)
    if summary.drift:
        drift = Table(title="drift, field by field", title_justify="left")
        for col in ("where", "field", "what", "expected", "target", "against", "verdict"):
            drift.add_column(col)
        for d in summary.drift:
            drift.add_row(*(escape(str(v)) for v in (d["where"], d["field"], d["what"],
                                                     _show(d["expected"]), _show(d["actual"]),
                                                     d["against"])),
                          escape(d["excused"]) if d["excused"] else "[red]fails[/red]")
        console.print(drift)


def _red(n: int) -> str:
    return f"[red]{n}[/red]" if n else "0"


def _show(value: Any) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) < 40 else text[:37] + "..."


@click.command(context_settings={"ignore_unknown_options": True},
               short_help="Check the vendor surface against the mock or the real cloud.")
@click.option("--base-url", envvar="SEGWAY_BASE_URL", type=URL,
              help="Target (default: an in-process simulator). [env SEGWAY_BASE_URL]")
@click.option("--client-id", envvar="SEGWAY_CLIENT_ID", help="[env SEGWAY_CLIENT_ID]")
@click.option("--client-secret", envvar="SEGWAY_CLIENT_SECRET",
              help="[env SEGWAY_CLIENT_SECRET]")
@click.option("--iot-code", envvar="SEGWAY_IOT_CODE",
              help="IMEI of the named test vehicle. [env SEGWAY_IOT_CODE]")
@click.option("--other-iot-code", envvar="SEGWAY_OTHER_IOT_CODE",
              help="IMEI of a vehicle of another platform (15103 expected). "
                   "[env SEGWAY_OTHER_IOT_CODE]")
@click.option("--model", envvar="SEGWAY_MODEL", type=click.Choice(("a200", "scooter")),
              help="The test vehicle's model, which decides the tests: live, default a200; a "
                   "simulator's vehicle says its own; in-process, the fleet's. [env SEGWAY_MODEL]")
@click.option("--allow-control", is_flag=True,
              help="Live: run commands that move the test vehicle.")
@click.option("--allow-settings", is_flag=True,
              help="Live: change the test vehicle's settings (restored afterwards).")
@click.option("--queries-only", is_flag=True,
              help="Live: send the test vehicle no command, not even ones the reference says "
                   "are refused (invalid parameters: read-only runs send those).")
@click.option("--record", is_flag=True, help="Live: record the answers as a dated snapshot.")
@click.option("--recordings", type=click.Path(file_okay=False),
              help="Folder of extra recordings; --record writes there.")
@click.option("--push-capture", type=click.Path(exists=True, dir_okay=False),
              help="JSON lines of pushes your receiver recorded (segway-sim listen --capture): "
                   "each is checked against the push contract.")
@click.option("--accept-drift", type=click.Path(exists=True, dir_okay=False),
              help="TOML file of accepted drift ([[accept]] field, reason; where, what).")
@click.option("--uses", type=click.Path(exists=True, dir_okay=False),
              help="TOML/JSON file of the endpoints and fields your code uses: only they fail.")
@click.option("--fail-on-drift/--no-fail-on-drift", default=True, show_default=True,
              help="Drift from the newest recording fails the run (or is only reported).")
@click.option("--strict-fields", is_flag=True,
              help="An added field fails too (default: tolerated, reported).")
@click.option("--assume-live", is_flag=True, help="Treat a simulator target as live (dry run).")
@click.option("--junit-xml", type=click.Path(dir_okay=False), help="Write JUnit XML here.")
@click.option("-k", "keyword", help="Only tests matching this pytest -k expression.")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def contract(base_url: str | None, client_id: str | None, client_secret: str | None,
             iot_code: str | None, other_iot_code: str | None, model: str | None,
             allow_control: bool,
             allow_settings: bool,
             queries_only: bool, record: bool,
             recordings: str | None, push_capture: str | None, accept_drift: str | None,
             uses: str | None, fail_on_drift: bool, strict_fields: bool,
             assume_live: bool, junit_xml: str | None,
             keyword: str | None, pytest_args: tuple[str, ...]) -> None:
    """Check the vendor surface as a client sees it, against the mock or the real cloud.

    Read-only against a live target unless --allow-control / --allow-settings. A live target
    needs --client-id, --client-secret and --iot-code. Extra arguments go to pytest (e.g. -x, -v).
    """
    try:
        import pytest
    except ImportError:
        raise Failed("segway-sim contract runs its suite with pytest, which is not installed: "
                     "pip install 'segway-sim[pytest]'") from None
    check_files(push_capture, accept_drift, uses)
    if base_url:
        check_target(base_url, client_id, client_secret, iot_code, assume_live)
    folder = suite_dir()
    # The CLI has imported faker (a pytest plugin) already: pytest cannot rewrite it, and says so.
    args = [str(folder), "-c", str(folder / "pytest.ini"), "--rootdir", str(folder), "-q",
            "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    for flag, value in (("--base-url", base_url), ("--client-id", client_id),
                        ("--client-secret", client_secret), ("--iot-code", iot_code),
                        ("--other-iot-code", other_iot_code), ("--model", model),
                        ("--recordings", recordings), ("--push-capture", push_capture),
                        ("--accept-drift", accept_drift), ("--uses", uses), ("-k", keyword)):
        if value:
            args += [flag, value]
    for flag, on in (("--allow-control", allow_control), ("--allow-settings", allow_settings),
                     ("--queries-only", queries_only),
                     ("--record", record), ("--assume-live", assume_live),
                     ("--strict-fields", strict_fields),
                     ("--no-fail-on-drift", not fail_on_drift)):
        if on:
            args.append(flag)
    if junit_xml:
        args += [f"--junitxml={junit_xml}", "-o", "junit_family=xunit2"]
    from rich.console import Console

    summary = Summary()
    code = pytest.main([*args, *pytest_args], plugins=[summary])
    if code == pytest.ExitCode.USAGE_ERROR:  # pytest said why on stderr; nothing ran to sum up
        raise SystemExit(2)
    where = base_url or "in-process simulator"
    console = Console()
    if not console.is_terminal:  # CI logs and pipes: wide enough for the drift table
        console = Console(width=160)
    render(summary, where + (" (assumed live)" if assume_live else ""), console)
    if junit_xml:
        click.echo(f"JUnit XML: {junit_xml}")
    raise SystemExit(int(code))


def check_files(push_capture: str | None, accept_drift: str | None, uses: str | None) -> None:
    """The files the run reads, read once before it: a broken one is one line naming the line or
    entry (the suite reads them with the same functions)."""
    from simulator.contract.drift import PolicyFileError, load_accepted, load_uses
    from simulator.contract.pushes import CaptureError, read_capture

    for flag, path, read in (("--push-capture", push_capture, read_capture),
                             ("--accept-drift", accept_drift, load_accepted),
                             ("--uses", uses, load_uses)):
        if path:
            try:
                read(Path(path))
            except (CaptureError, PolicyFileError) as err:
                raise click.BadParameter(str(err), param_hint=f"'{flag}'") from None


def check_target(base_url: str, client_id: str | None, client_secret: str | None,
                 iot_code: str | None, assume_live: bool) -> None:
    """The target answers and gives a token to the credentials, or one line says why not."""
    from http.client import HTTPException

    from simulator.contract.target import Target
    from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_IMEIS

    mock = simulator_at(base_url) and not assume_live
    given = {"--client-id": client_id, "--client-secret": client_secret, "--iot-code": iot_code}
    missing = [flag for flag, value in given.items() if not value]
    if missing and not mock:
        envs = ", ".join("SEGWAY_" + flag[2:].replace("-", "_").upper() for flag in missing)
        raise Failed(f"a live target needs {', '.join(missing)} (or {envs}): the platform's "
                     "credentials and the IMEI of its named test vehicle")
    target = Target(base_url.rstrip("/"), client_id or DEMO_CLIENT_ID,
                    client_secret or DEMO_CLIENT_SECRET, iot_code or DEMO_IMEIS[0], mock,
                    allow_control=False, allow_settings=False)
    try:
        reply = target.token_request()
    except (OSError, HTTPException) as err:
        raise Failed(f"{base_url}/oauth/token did not answer: {err}") from None
    if reply.status != 200 or not isinstance(reply.body, dict) or "access_token" not in reply.body:
        answer = json.dumps(reply.body) if reply.body is not None else "no body"
        raise Failed(f"{base_url} gives no token to client_id {target.client_id}: "
                     f"HTTP {reply.status} {answer[:200]}")

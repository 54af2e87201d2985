"""`segway-sim scenario`: the library, options, exit codes, record/replay, remote targets."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from simulator.cli.main import main
from simulator.scenarios import NAMES
from simulator.scenarios.record import read
from simulator.sim import Config
from simulator.testing.plugin import ServerThread


def run(*args: str, columns: int = 80) -> Result:
    return CliRunner().invoke(main, ["scenario", *args], env={"COLUMNS": str(columns)})


def test_list_shows_the_library_within_80_columns() -> None:
    result = run("--list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80  # nothing for the terminal to wrap
    assert len(lines) <= 2 + 3 * len(NAMES)  # each story on a line or two, its facts on one
    for name in NAMES:
        assert any(line.startswith(name + " ") for line in lines), name
    assert "200 vehicles in Singapore · 1:16:00 · seed 7" in result.output
    assert "Amsterdam" in result.output


def test_a_story_tells_what_happens_and_sums_up(tmp_path: Path) -> None:
    log = tmp_path / "theft.jsonl"
    result = run("theft", "--seed", "3", "--vehicles", "8", "--record", str(log))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "8 vehicles of platform E30001 (Amsterdam), seed 3" in out
    assert "the alarm goes off" in out and "the vehicle goes dark" in out  # notes, as they come
    assert "expected outcomes" in out and "FAILED" not in out
    assert "all outcomes happened" in out and f"event log: {log}" in out
    header = read(log).header
    assert (header["scenario"], header["seed"], header["vehicles"]) == ("theft", 3, 8)


STORY = '''
from simulator.scenarios.model import MIN, FleetSpec, Happen, Scenario
from simulator.scenarios.outcomes import Pushes


def story(s):
    s.at(MIN, Happen((0,), "fault", {"code": "E3"}), "a file system error")
    s.expect(Pushes("the fault is pushed", "fault", {"code": "E3"}, (0,)),
             Pushes("an alert nobody raised", "alert", {"code": 3}, (0,)))


SCENARIO = Scenario("mine", "my own story", 1, FleetSpec(2, "C40001"), 5 * MIN, story)
'''


def test_an_outcome_that_did_not_happen_exits_1(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text(STORY)
    result = run(str(mine))
    assert result.exit_code == 1, result.output
    assert "a file system error" in result.output
    assert "ok" in result.output and "FAILED" in result.output
    assert "1 of 2 outcomes did not happen" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "no scenario 'nope'"),
    ([], "give a scenario NAME"),
    (["theft", "--vehicles", "0"], "--vehicles"),
    (["theft", "--speed", "0"], "--speed"),
    (["rush-hour", "--vehicles", "3"], "needs at least 4 vehicles"),
    (["theft", "--seed", "x"], "--seed"),
])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_a_file_without_a_scenario_is_a_usage_error(tmp_path: Path) -> None:
    other = tmp_path / "other.py"
    other.write_text("X = 1\n")
    result = run(str(other))
    assert result.exit_code == 2 and "has no SCENARIO" in result.output


def test_replay_compares_the_pushes(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    assert run("warehouse", "--vehicles", "5", "--record", str(log)).exit_code == 0
    same = run("--replay", str(log))
    assert same.exit_code == 0, same.output
    assert "byte for byte" in same.output and "replayed warehouse" in same.output
    lines = log.read_bytes().splitlines()
    kept = [raw for raw in lines if b'"push":' not in raw or b'"type":"status"' not in raw]
    log.write_bytes(b"\n".join(kept) + b"\n")  # the status pushes "went missing"
    differ = run("--replay", str(log))
    assert differ.exit_code == 1 and "the pushes differ" in differ.output
    assert "recorded nothing, replayed status" in differ.output
    log.write_bytes(b"nonsense\n")
    assert run("--replay", str(log)).exit_code == 2


def test_speed_paces_against_wall_time() -> None:
    result = run("firmware-rollout", "--vehicles", "4", "--speed", "100000")
    assert result.exit_code == 0, result.output
    assert "all outcomes happened" in result.output


@pytest.fixture
def server() -> Iterator[ServerThread]:
    thread = ServerThread(Config(seed=5, vehicles=3, paused=False, riders=False)).start()
    yield thread
    thread.stop()


def test_base_url_drives_a_running_simulator(server: ServerThread) -> None:
    result = run("theft", "--base-url", server.url)
    assert result.exit_code == 0, result.output
    assert "remote simulator" in result.output and "all outcomes happened" in result.output
    platforms = server.call(lambda sim: list(sim.platforms))
    assert platforms == ["A20081", "E30001"]
    assert server.call(lambda sim: sim.clock.paused) is False  # given back as it was


def test_push_records_the_run_could_not_read_are_said() -> None:
    thread = ServerThread(Config(seed=5, vehicles=3, paused=True, riders=False,
                                 extra={"push_journal_size": 3})).start()
    try:
        result = run("rush-hour", "--vehicles", "40", "--base-url", thread.url)
    finally:
        thread.stop()
    assert result.exit_code == 1, result.output  # its push outcomes count short
    said = re.search(r"([\d,]+) push attempts fell off the server's push journal before the run "
                     r"read them: the outcomes about pushes count short", result.output)
    assert said and int(said[1].replace(",", "")) > 0, result.output


def test_an_unreachable_simulator_exits_2() -> None:
    result = run("theft", "--base-url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert result.stderr == "Error: cannot reach http://127.0.0.1:9: Connection refused\n"


class Partner(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Partner.received.append((self.path, body))
        answer = orjson.dumps({"message": "success", "code": 0})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def test_callback_sends_the_pushes_to_the_partner(tmp_path: Path) -> None:
    Partner.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Partner)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    log = tmp_path / "run.jsonl"
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/partner"
        result = run("theft", "--callback", url, "--record", str(log))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.exit_code == 0, result.output
    pushes = read(log).pushes
    assert read(log).header["callback"] == url
    assert sorted(body for _, body in Partner.received) == sorted(
        p["body"].encode() for p in pushes)
    assert {path for path, _ in Partner.received} >= {"/partner/v2/vehicle/alert",
                                                      "/partner/v2/vehicle/location"}

"""Every CLI mistake and environment problem is one clear line on stderr and a non-zero exit.

Decided once for all commands: misuse of an option is one `Error:` line that ends with where the
help is (exit 2: click's usage error without its usage block); a problem of the environment is
one `Error:` line (exit 1; `scenario` exits 2 when a story cannot be played, as it documents).
No traceback either way. The real console script runs where the process itself matters (a port
held by another process, a missing package, what is left on stderr at exit); click's CliRunner
runs the rest, in-process, where an uncaught exception would show as `result.exception`.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli.main import main
from simulator.sim import Config
from simulator.testing.plugin import ServerThread

CLI = "from simulator.cli.main import main; main(prog_name='segway-sim')"


def error_line(stderr: str) -> str:
    """The one line a mistake says: all of stderr."""
    lines = stderr.rstrip("\n").splitlines()  # pytest ends its own with an empty line
    # pytest's own usage errors (options `contract` passes on to it) say ERROR:
    assert len(lines) == 1 and lines[0].startswith(("Error: ", "ERROR: ")), stderr
    return lines[0]


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    """A port another process would hold: a real socket listening on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def closed_url() -> str:
    """Where nothing listens (a port just freed): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class NotFound(BaseHTTPRequestHandler):
    """Some other web server: 404 to everything, as the real cloud answers /_sim/health."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_error(404)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def other_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def simulator() -> Iterator[ServerThread]:
    server = ServerThread(Config(seed=1, vehicles=3, paused=True, riders=False)).start()
    yield server
    server.stop()


# -- the real console script ---------------------------------------------------------------------

# (arguments, modules made missing, exit code, what the line says); {busy} and {closed} are
# filled in. All of them run at once: each is a fresh interpreter, ~0.5 s to start.
PROCESSES = {
    "serve on a busy port": (["serve", "--port", "{busy}"], (), 1, "the port is in use"),
    "serve on a bad host": (["serve", "--host", "999.1.1.1", "--port", "0"], (), 1,
                            "cannot listen on 999.1.1.1:0"),
    "serve on a port out of range": (["serve", "--port", "99999"], (), 2,
                                     "'--port': 99999 is not in the range"),
    "serve without uvloop": (["serve", "--loop", "uvloop"], ("uvloop",), 1,
                             "uvloop is not installed"),
    "listen on a busy port": (["listen", "--port", "{busy}"], (), 1, "the port is in use"),
    "contract, nothing at the target": (["contract", "--base-url", "{closed}"], (), 1,
                                        "cannot reach http://127.0.0.1:"),
    "contract without pytest": (["contract"], ("pytest",), 1,
                                "pip install 'segway-sim[pytest]'"),
    "contract, an option pytest refuses": (["contract", "--record"], (), 2,
                                           "--record records a live target"),
}


@pytest.fixture(scope="module")
def processes(busy_port: int, closed_url: str) -> dict[str, subprocess.CompletedProcess[str]]:
    started = {}
    for case, (args, missing, _, _) in PROCESSES.items():
        block = "".join(f"sys.modules[{name!r}] = None; " for name in missing)
        argv = [a.format(busy=busy_port, closed=closed_url) for a in args]
        started[case] = (argv, subprocess.Popen(
            [sys.executable, "-c", f"import sys; {block}{CLI}", *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    done = {}
    for case, (argv, proc) in started.items():
        try:
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()  # only if it did not stop by itself: none of these may serve
        done[case] = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    return done


@pytest.mark.parametrize("case", PROCESSES)
def test_the_console_script_says_one_line(
        processes: dict[str, subprocess.CompletedProcess[str]], case: str) -> None:
    run = processes[case]
    _, _, code, says = PROCESSES[case]
    assert run.returncode == code, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert "Unclosed" not in run.stderr  # nothing left behind for the garbage collector to say
    assert says in error_line(run.stderr)


# -- in-process ----------------------------------------------------------------------------------


def says(args: list[str], code: int) -> str:
    result = CliRunner().invoke(main, args)
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert result.exit_code == code, result.output
    return error_line(result.stderr)


@pytest.mark.parametrize(("args", "line"), [
    (["serve", "--port", "-1"], "'--port': -1 is not in the range 0<=x<=65535"),
    (["serve", "--callback", "not-a-url"], "'--callback': 'not-a-url' must be an http(s) URL"),
    (["serve", "--callback", "ftp://x.org"], "must be an http(s) URL"),
    (["serve", "--speed", "nan"], "'--speed': 'nan' is not a finite number"),
    (["serve", "--start", "-1"], "'--start'"),
    (["serve", "--physics", "nonsense=1"], "--physics"),
    (["listen", "--secret", "A20081="], "'--secret': 'A20081=': expected PLATFORM=SECRET"),
    (["listen", "--secret", "=s3cret"], "expected PLATFORM=SECRET"),
    (["listen", "--forward-to", "localhost:9000"], "'--forward-to'"),
    (["listen", "--fail-rate", "nan"], "'--fail-rate'"),
    (["contract", "--base-url", "127.0.0.1:8080"], "'--base-url': '127.0.0.1:8080' must be"),
    (["scenario", "nope"], "no scenario 'nope'; the library: rush-hour"),
    (["scenario", "theft", "--callback", "x"], "'--callback'"),
    (["scenario"], "give a scenario NAME"),
    (["bench", "--scenarios", "status,nope"], "unknown scenario(s) nope"),
    (["bench", "--rounds", "0"], "'--rounds'"),
    (["bench", "extra"], "unexpected extra argument"),
    (["nonsense"], "No such command 'nonsense'"),
])
def test_misuse_is_a_usage_error_with_one_line(args: list[str], line: str) -> None:
    said = says(args, 2)
    assert line in said
    assert said.endswith(" --help)")  # where the help is, in place of click's usage block


def test_the_bare_command_shows_the_help() -> None:
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 2
    assert result.stderr.startswith("Usage: segway-sim ") and "serve" in result.stderr


def test_the_control_plane_and_serve_share_one_url_rule(simulator: ServerThread) -> None:
    from simulator.testing.plugin import http_json

    for url in ("not-a-url", "ftp://x.org", "http://", "https://partner.example/hooks"):
        status, _ = http_json("PATCH", f"{simulator.url}/_sim/platforms/A20081",
                              {"callbackUrl": url})
        result = CliRunner().invoke(main, ["serve", "--callback", url, "--port", "-1"])
        # The port is out of range on purpose: a good URL gets as far as the port's error.
        assert ("'--callback'" not in result.stderr) == (status == 200), (url, status)


def test_contract_needs_credentials_for_a_live_target(other_server: str) -> None:
    line = says(["contract", "--base-url", other_server], 1)
    assert line == ("Error: a live target needs --client-id, --client-secret, --iot-code (or "
                    "SEGWAY_CLIENT_ID, SEGWAY_CLIENT_SECRET, SEGWAY_IOT_CODE): the platform's "
                    "credentials and the IMEI of its named test vehicle")


def test_contract_checks_the_token_first(other_server: str, simulator: ServerThread) -> None:
    creds = ["--client-id", "A20081", "--client-secret", "wrong", "--iot-code", "1"]
    line = says(["contract", "--base-url", other_server, *creds], 1)
    assert line.startswith(f"Error: {other_server} gives no token to client_id A20081: HTTP 404")
    line = says(["contract", "--base-url", simulator.url, *creds], 1)
    assert "HTTP 401" in line and "invalid_client" in line


def test_scenario_needs_a_simulator_at_its_base_url(closed_url: str, other_server: str) -> None:
    assert "cannot reach" in says(["scenario", "theft", "--base-url", closed_url], 2)
    assert "not as a segway-sim" in says(["scenario", "theft", "--base-url", other_server], 2)


def test_a_story_file_that_fails_says_where(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import math\n\nmath.sqrt(-1)\n")
    assert says(["scenario", str(broken)], 2) == (
        f"Error: {broken} could not be loaded: ValueError: math domain error (line 3)")
    replay = tmp_path / "log.jsonl"
    replay.write_text("nonsense\n")
    assert f"cannot replay {replay}" in says(["scenario", "--replay", str(replay)], 2)


# -- help ----------------------------------------------------------------------------------------


def help_text(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.output


def test_help_texts_are_whole_at_80_columns() -> None:
    top = help_text()
    for name, command in main.commands.items():
        short = command.get_short_help_str()
        assert f"  {name} " in top and short in top and not short.endswith("..."), name
        text = help_text(name)
        body = text.split("\n", 1)[1]  # the usage line ends in [ARGS]... by click's convention
        assert "..." not in body and max(map(len, text.splitlines())) <= 80, name


def test_bench_help_is_click_like_the_rest() -> None:
    text = help_text("bench")
    assert text.startswith("Usage: segway-sim bench [OPTIONS]")
    assert "--scenarios TEXT" in text and "[default: status,mix,push]" in text

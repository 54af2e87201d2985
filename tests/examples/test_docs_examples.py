"""The README's and docs' examples run as written, as a partner would run them.

Each page's blocks run in page order in a fresh folder outside the repository (the repository's
pytest configuration must not apply), with the installed `segway-sim` and `python` first on PATH:
python files with `python -m pytest` or `python`, shell blocks with bash against a real
`segway-sim serve` subprocess on a free port (the page's ports are replaced with free ones). The
convention that says which blocks run: tests/helpers/doc_blocks.py.

Run it in an environment with only the project and pytest installed (`tox -e examples`:
`pytest -c tests/examples/pytest.ini tests/examples`, outside this package's test set-up), or as
part of the suite.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers.doc_blocks import ROOT, RUN, Block, answers, pages, read_blocks

START_TIMEOUT_S = 30
BLOCK_TIMEOUT_S = 300
EXPECT_TIMEOUT_S = 15
DEFAULT_PORTS = {"segway-sim serve": 8080, "segway-sim listen": 8090}
# A port a page talks to: 8000-9999 (not 1, the port nothing listens on in an error example).
_PORT = re.compile(r"(?:(?<=127\.0\.0\.1:)|(?<=localhost:)|(?<=--port ))(?:8\d{3}|9\d{3})\b")
_MARK = "@@docs-example %s@@"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env() -> dict[str, str]:
    """The user's environment, with this environment's scripts first on PATH and nothing of the
    running pytest or of the checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "PYTHONPATH", "COV_"))}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["NO_COLOR"] = "1"
    return env


class Server:
    """A background command of a page (`segway-sim serve`, `segway-sim listen`) and its output."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.command = command
        self.lines: list[str] = []
        self.ended = False
        self.changed = threading.Condition()
        self.process = subprocess.Popen(["bash", "-c", "exec " + command], cwd=cwd, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        threading.Thread(target=self._read, daemon=True).start()
        if not self.wait_for("http://127.0.0.1:", START_TIMEOUT_S):  # its banner: it listens
            self.stop()
            pytest.fail(f"`{command}` did not start:\n{self.output}")
        found = re.search(r"http://127\.0\.0\.1:(\d+)", self.output)
        assert found is not None
        self.port = int(found[1])

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout as output:
            for line in output:
                with self.changed:
                    self.lines.append(line)
                    self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> bool:
        """Wakes on each printed line until one holds `text` or the output ends."""
        with self.changed:
            self.changed.wait_for(lambda: text in self.output or self.ended, timeout)
            return text in self.output

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with self.changed:
            self.changed.wait_for(lambda: self.ended, 10)
        return self.output


class PageRun:
    """One page's blocks, in order, in their own folder, with their own servers."""

    def __init__(self, blocks: list[Block], work: Path) -> None:
        self.blocks = blocks
        self.work = work
        self.env = clean_env()
        self.ports: dict[int, int] = {}  # the page's port -> a free one
        self.servers: dict[int, Server] = {}  # running, by the page's port
        self.started: list[Server] = []
        shell = "\n".join(b.text for b in blocks if b.language == "sh")
        self.run_by_shell = {b.file_name for b in blocks if b.file_name and b.file_name in shell}

    def port(self, page_port: int) -> int:
        return self.ports.setdefault(page_port, free_port())

    def local(self, text: str) -> str:
        return _PORT.sub(lambda m: str(self.port(int(m.group()))), text)

    def run(self) -> None:
        for block in self.blocks:
            if block.language == "python" and block.file_name:
                (self.work / block.file_name).write_text(block.text)
        try:
            for block in self.blocks:
                if block.language == "python":
                    self.run_python(block)
                elif block.language == "sh":
                    self.run_shell(block)
                for who, what in block.expects:
                    self.expect(block, who, what)
        finally:
            for server in self.started:
                server.stop()
        for server in self.started:
            assert "Traceback" not in server.output, (
                f"`{server.command}` printed a traceback:\n{server.output}")

    def run_python(self, block: Block) -> None:
        name = block.file_name
        assert name is not None
        if name in self.run_by_shell:
            return
        runner = ["-m", "pytest", "-q", "-p", "no:cacheprovider"] if name.startswith("test_") \
            else []
        done = subprocess.run([sys.executable, *runner, name], cwd=self.work, env=self.env,
                              capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{block.where}: {name} failed:\n{output}"
        if runner:
            summary = output.strip().splitlines()[-1]
            assert "passed" in summary and not re.search(r"skipped|xfail|deselected", summary), (
                f"{block.where}: {summary}")

    def run_shell(self, block: Block) -> None:
        if block.starts_servers:
            for command in block.commands():
                self.start(command)
            return
        for page_port in _PORT.findall(block.text):
            if int(page_port) not in self.servers:  # the server the page told the reader to start
                self.start(f"segway-sim serve --port {page_port}")
        commands = block.commands()
        script = []
        for i, command in enumerate(commands):
            script += [f"printf '\\n{_MARK}\\n' {i}", self.local(command),
                       'rc=$?; [ $rc -eq 0 ] || { echo "exit $rc"; exit $rc; }']
        done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=self.work, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=BLOCK_TIMEOUT_S)
        parts = re.split(_MARK % r"(\d+)", done.stdout)
        outputs = {int(parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}
        for i, command in enumerate(commands):
            output = outputs.get(i)
            assert output is not None, f"{block.where}: never reached `{command}`:\n{done.stdout}"
            if i == len(outputs) - 1:
                assert done.returncode == 0, (
                    f"{block.where}: `{command}` failed ({done.returncode}):\n{output}")
            for wanted in answers(command):  # whole: `"code":15` is not in `"code":15635`
                assert re.search(re.escape(wanted) + r"(?![\w.])", re.sub(r"\s+", "", output)), (
                    f"{block.where}: `{command}` should answer {wanted}:\n{output}")

    def start(self, command: str) -> None:
        """Starts a server of the page on the port the page already sent others to, else on a
        free port the server picks itself (`--port 0`, no race) and the page's later blocks use."""
        name = next(n for n in DEFAULT_PORTS if command.lstrip().startswith(n))
        found = re.search(r"--port (\d+)", command)
        page_port = int(found[1]) if found else DEFAULT_PORTS[name]
        if page_port in self.servers:  # the reader stops the one before (Ctrl-C)
            self.servers.pop(page_port).stop()
        port = self.ports.get(page_port, 0)
        command = self.local(re.sub(r" --port \d+", "", command)) + f" --port {port}"
        server = Server(command, self.work, self.env)
        self.ports[page_port] = server.port
        self.servers[page_port] = server
        self.started.append(server)

    def expect(self, block: Block, who: str, what: str) -> None:
        server = next((s for s in self.servers.values() if who in s.command), None)
        assert server is not None, f"{block.where}: no `{who}` runs to print {what!r}"
        assert server.wait_for(what, EXPECT_TIMEOUT_S), (
            f"{block.where}: `{who}` did not print {what!r}:\n{server.output}")


def page_ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in paths]


def runnable(path: Path) -> bool:
    return any(b.language in RUN for b in read_blocks(path)[0])


@pytest.mark.parametrize("path", pages(), ids=page_ids(pages()))
def test_every_block_says_whether_it_runs(path: Path) -> None:
    _, problems = read_blocks(path)
    assert not problems, "\n".join(problems)


def test_the_convention_leaves_no_block_out(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n    segway-sim serve\n\n- a list item\n\n    its second paragraph\n\n"
        "```\nbare\n```\n\n```bash\nls\n```\n\n```python\nprint(1)\n```\n\n"
        "```text\ncurl -s http://127.0.0.1:8080/\n```\n\n"
        '<!-- expect "segway-sim listen" to print "sig ok" -->\n'
        "```sh\ncurl -s x \\\n  -d y      # 15635: locked\ncurl z  # \"paused\": true\n```\n")
    blocks, problems = read_blocks(page)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "an indented code block (fence it, with a language)",
        "a fence without a language",
        "write `sh` or `python` (or `console`: not run)",
        "a python block starts with `# its_file_name.py`",
        "commands go in `sh` (run) or `console` (not run)"]
    shell = blocks[-1]
    assert shell.expects == [("segway-sim listen", "sig ok")]
    assert shell.commands() == ["curl -s x    -d y      # 15635: locked",
                                'curl z  # "paused": true']
    assert [answers(c) for c in shell.commands()] == [['"code":15635'], ['"paused":true']]
    assert not shell.starts_servers


RUNNABLE = [p for p in pages() if runnable(p)]


@pytest.mark.parametrize("path", RUNNABLE, ids=page_ids(RUNNABLE))
def test_the_examples_run_as_written(path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    blocks, _ = read_blocks(path)
    PageRun(blocks, tmp_path_factory.mktemp("page")).run()


def test_the_readme_links_the_tutorial_first() -> None:
    links = re.findall(r"\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert links[:1] == ["docs/tutorial.md"]


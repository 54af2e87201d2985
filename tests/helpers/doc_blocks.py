"""The code blocks of README.md and docs/*.md, read by the convention that says which of them run.

Every fenced block names its language, and the language says what the docs harness
(tests/examples/) does with it:

- `python`: runs. Its first line names the file a reader saves it as (`# test_partner.py`);
  `test_*.py` files run with `python -m pytest`, other files with `python`, unless a shell block of
  the same page runs the file itself (`segway-sim scenario ./my_story.py`).
- `sh`: runs with bash against a live `segway-sim serve`, in page order. A block of only
  `segway-sim serve` / `segway-sim listen` commands starts them in the background (the reader's
  other terminal) until the page ends; any other block runs to completion, each command must exit
  0, and a command whose comment starts with a code (`# 15635: it is locked`) or a JSON pair
  (`# "paused": true`) must answer it. A page's ports (8000-9999) become free ones; a port no
  server of the page holds yet gets a plain `segway-sim serve` (what the README's first command
  starts).
- `console`: commands the suite does not run: installs, CI, benchmarks, the real cloud.
- anything else (`json`, `text`, `nginx`, ...): data and output, not commands.

Indented code blocks and fences without a language are refused, so no block escapes the rule.
`<!-- expect "segway-sim listen" to print "sig ok" -->` makes the harness wait (15 s at most)
until that background command has printed that text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ("python", "sh")
NOT_RUN = "console"
SERVERS = ("segway-sim serve", "segway-sim listen")

_FENCE = re.compile(r"^(?P<fence>```+|~~~+)(?P<info>.*)$")
_EXPECT = re.compile(r'<!--\s*expect\s+"(?P<who>[^"]+)"\s+to print\s+"(?P<what>[^"]+)"\s*-->')
_COMMAND = re.compile(r"\s*(\$ )?(segway-sim|curl|pip|python3?|pytest|tox|bash) ")
_FILE_NAME = re.compile(r"^#\s*(?P<name>[\w.-]+\.py)\b")
# A trailing comment that states the answer: a vendor code, or a JSON pair.
_ANSWER = re.compile(r'\s#\s*(?:(?P<code>\d+)\b|(?P<pair>"\w+":\s*[^\s,}]+))')


@dataclass
class Block:
    page: str  # path relative to the repository
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    expects: list[tuple[str, str]] = field(default_factory=list)  # (command prefix, text)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def file_name(self) -> str | None:
        """The name a python block is saved under (its first line), or None."""
        found = _FILE_NAME.match(self.text)
        return found["name"] if found else None

    def commands(self) -> list[str]:
        """The shell commands of the block, continuation lines joined, comments kept."""
        commands: list[str] = []
        pending = ""
        for line in self.text.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            commands.append(pending + line)
            pending = ""
        if pending:
            commands.append(pending)
        return commands

    @property
    def starts_servers(self) -> bool:
        commands = self.commands()
        return bool(commands) and all(c.lstrip().startswith(SERVERS) for c in commands)


def pages() -> list[Path]:
    """The pages whose blocks a reader pastes: the README and every page of docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def read_blocks(path: Path) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a page, and what breaks the convention (a fence without a language,
    an indented code block, commands in an output block...), as `page:line: what` lines."""
    page = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    blocks: list[Block] = []
    problems: list[str] = []
    lines = path.read_text().splitlines()
    expects: list[tuple[str, str]] = []
    previous_blank, in_list = True, False
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = _FENCE.match(line)
        if opening:
            fence, language = opening["fence"], opening["info"].strip().split(" ")[0]
            end = next((j for j in range(i + 1, len(lines))
                        if lines[j].startswith(fence) and not lines[j].strip(fence[0])), len(lines))
            block = Block(page, i + 1, language, "\n".join(lines[i + 1:end]) + "\n", expects)
            blocks.append(block)
            problems += [f"{block.where}: {what}" for what in block_problems(block)]
            expects = []
            i, previous_blank = end + 1, False
            continue
        for found in _EXPECT.finditer(line):
            expects.append((found["who"], found["what"]))
        if line.strip():
            if re.match(r"^([-*]|\d+\.) ", line):
                in_list = True
            elif not line.startswith(" "):
                in_list = False
            # Four spaces after a blank line, outside a list item, is an indented code block.
            if previous_blank and line.startswith("    ") and not in_list:
                problems.append(f"{page}:{i + 1}: an indented code block (fence it, with a "
                                f"language)")
        previous_blank = not line.strip()
        i += 1
    return blocks, problems


def block_problems(block: Block) -> list[str]:
    if not block.language:
        return ["a fence without a language"]
    if block.language in ("bash", "shell", "shell-session", "py", "python3"):
        return ["write `sh` or `python` (or `console`: not run)"]
    if block.language == "python" and not block.file_name:
        return ["a python block starts with `# its_file_name.py`"]
    if block.language not in (*RUN, NOT_RUN) and _COMMAND.match(block.text):
        return ["commands go in `sh` (run) or `console` (not run)"]
    return []


def answers(command: str) -> list[str]:
    """What a command's comment says it answers, as text its output must contain (spaces
    removed): `# 15635: locked` -> `"code":15635`; `# "paused": true` -> `"paused":true`."""
    found = _ANSWER.search(command)
    if not found:
        return []
    if found["code"]:
        return [f'"code":{found["code"]}']
    return [re.sub(r"\s+", "", found["pair"])]

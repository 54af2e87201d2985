"""OpenAPI 3.1 descriptions of the vendor surface (vendor.json) and the control plane
(control.json), shipped in the package and served at /_sim/openapi/{vendor,control}.json.

The JSON files are generated from the builders beside them: `python -m simulator.server.openapi`
rewrites them, and a test fails while a file and its builder disagree.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
NAMES = ("vendor", "control")


def path(name: str) -> Path:
    if name not in NAMES:
        raise KeyError(name)
    return HERE / f"{name}.json"


@cache
def raw(name: str) -> bytes:
    """The shipped file, as served."""
    return path(name).read_bytes()


def load(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(raw(name))
    return spec


def build(name: str) -> dict[str, Any]:
    """What the builder says the file should hold."""
    from simulator import __version__

    if name == "vendor":
        from simulator.server.openapi import vendor

        return vendor.spec(__version__)
    from simulator.server.openapi import control

    return control.spec(__version__)


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    for name in NAMES:
        path(name).write_text(render(build(name)))
        print(f"wrote {path(name)}")

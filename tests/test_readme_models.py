"""The README's table of vehicle models is the profiles' own: rebuilt here from what GET
/_sim/models lists (simulator.server.model_routes.models_json), it must be the README's, row for
row. After a profile changes, print the new table with `python -m tests.test_readme_models` and
paste it between the README's markers."""

from __future__ import annotations

import re
from typing import Any

from simulator.server.model_routes import models_json
from tests.helpers.doc_blocks import ROOT

BEGIN = "<!-- vehicle models table: python -m tests.test_readme_models -->"
END = "<!-- end of the vehicle models table -->"
SURFACES = ("v2", "v1")
KINDS = ("query", "control", "setting")


def models_table(listed: dict[str, Any] | None = None) -> str:
    """Every vendor operation of every model, one row per method and path: which models have
    it, which of its parameters differ between the models that have it, and the answer fields a
    model spells otherwise."""
    items = (listed or models_json())["items"]
    names = [item["name"] for item in items]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        for op in item["operations"]:
            row = rows.setdefault((op["method"], op["path"]), {"op": op, "by": {}})
            row["by"][item["name"]] = op["parameters"]
    renames = {item["name"]: item.get("renames", {}) for item in items}
    lines = ["| method | path | operation | " + " | ".join(names) + " | what differs |",
             "|---|---|---|" + ":-:|" * len(names) + "---|"]
    for (method, path), row in sorted(rows.items(), key=lambda kv: (
            SURFACES.index(kv[1]["op"]["surface"]), KINDS.index(kv[1]["op"]["kind"]),
            kv[0][1], kv[0][0])):
        had = row["by"]
        differ = sorted({field for a in had.values() for b in had.values()
                         for field in {*a, *b} if a.get(field) != b.get(field)})
        op = row["op"]["operation"]
        spelt = [f"answer `{field}` ({name}: `{own}`)" for name in had
                 for field, own in renames[name].get(op, {}).items()]
        marks = " | ".join("✓" if name in had else "—" for name in names)
        lines.append(f"| {method} | `{path}` | `{op}` | {marks} | "
                     + ", ".join([*(f"`{field}`" for field in differ), *spelt]) + " |")
    return "\n".join(lines) + "\n"


def readme_table() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(re.escape(BEGIN) + r"\n\n(.*?\n)" + re.escape(END), text, re.S)
    assert found, f"README.md has no table between {BEGIN!r} and {END!r}"
    return found[1]


def test_the_readme_shows_which_operations_each_model_has() -> None:
    assert readme_table() == models_table(), (
        "README.md's model table is not the profiles': print the new one with "
        "`python -m tests.test_readme_models` and paste it between the markers")


def test_the_table_marks_what_a_model_lacks_and_what_differs() -> None:
    listed = {"items": [
        {"name": "x", "operations": [
            {"operation": "unlock", "method": "POST", "path": "/c/unlock", "kind": "control",
             "surface": "v2", "parameters": {"iotCode": {"type": "string"}}},
            {"operation": "sound", "method": "POST", "path": "/c/sound", "kind": "control",
             "surface": "v2", "parameters": {"controlType": {"enum": [2]}}}]},
        {"name": "y", "renames": {"status": {"speed": "velocity"}}, "operations": [
            {"operation": "sound", "method": "POST", "path": "/c/sound", "kind": "control",
             "surface": "v2", "parameters": {"controlType": {"enum": [1, 2]}}},
            {"operation": "v1/get", "method": "GET", "path": "/v1/get", "kind": "query",
             "surface": "v1", "parameters": {}},
            {"operation": "status", "method": "GET", "path": "/q/status", "kind": "query",
             "surface": "v2", "parameters": {}}]}]}
    assert models_table(listed).splitlines()[2:] == [
        "| GET | `/q/status` | `status` | — | ✓ | answer `speed` (y: `velocity`) |",
        "| POST | `/c/sound` | `sound` | ✓ | ✓ | `controlType` |",
        "| POST | `/c/unlock` | `unlock` | ✓ | — |  |",
        "| GET | `/v1/get` | `v1/get` | — | ✓ |  |",
    ]


if __name__ == "__main__":
    print(models_table(), end="")

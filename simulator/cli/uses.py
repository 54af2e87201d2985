"""`segway-sim uses`: what a partner's code used of the vendor surface, read from a running
simulator's journals after their own tests ran against it, written as a uses file for
`segway-sim contract --uses FILE` (consumer-driven checks: Pact's idea for a third-party cloud).

The request journal says which endpoints the code called; the push journal which pushes reached
its callback. Neither says which fields the code reads, so each gets `["*"]` (every field): narrow
them by hand to the fields your code depends on, and commit the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from simulator.cli.checks import URL, Failed, simulator_at

LIMIT = 1_000_000  # the journals' largest page: every retained record


def journal(base_url: str, route: str, **query: str) -> list[dict[str, Any]]:
    from urllib.parse import urlencode

    from simulator.contract.target import request

    reply = request("GET", f"{base_url}/_sim/{route}?" + urlencode({"limit": LIMIT, **query}))
    items = reply.body.get("items") if isinstance(reply.body, dict) else None
    if reply.status != 200 or not isinstance(items, list):
        raise Failed(f"{base_url}/_sim/{route} gives no journal: HTTP {reply.status}")
    return items


def used(requests: list[dict[str, Any]], pushes: list[dict[str, Any]]) -> dict[str, list[str]]:
    """{where: ["*"]} for each endpoint called and each push delivered, in the contract's names."""
    out: dict[str, list[str]] = {}
    for record in requests:
        if record.get("endpoint"):
            out[str(record["endpoint"])] = ["*"]
    for record in pushes:
        if record.get("type") and record.get("outcome") == "delivered":
            out[f"push:{record['type']}"] = ["*"]
    return dict(sorted(out.items()))


def to_toml(uses: dict[str, list[str]], source: str) -> str:
    lines = ["# What our code uses of the Segway cloud: derived by `segway-sim uses` from the",
             f"# journals of {source}. Narrow each [\"*\"] to the fields the code reads",
             "# (data.powerPercent, ...) and commit it: segway-sim contract --uses FILE.",
             "[uses]"]
    lines += [f"{json.dumps(where)} = {json.dumps(fields)}" for where, fields in uses.items()]
    return "\n".join(lines) + "\n"


@click.command(short_help="Write a uses file from a simulator's journals (contract --uses).")
@click.argument("base_url", type=URL)
@click.option("--platform", default=None, help="Only this platform's calls and pushes.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the file here (default: standard output).")
def uses(base_url: str, platform: str | None, output: str | None) -> None:
    """What your code used of the vendor surface, as a file for `contract --uses`.

    Run your own tests against a simulator at BASE_URL first (its request and push journals hold
    what they did; a reset empties them), then run this.
    """
    base_url = base_url.rstrip("/")
    if not simulator_at(base_url):
        raise Failed(f"{base_url} is not a segway-sim (no /_sim/health): only a simulator "
                     "keeps a journal of your calls")
    query = {"platformCode": platform} if platform else {}
    found = used(journal(base_url, "requests", **query), journal(base_url, "pushes", **query))
    if not found:
        whose = f" of {platform}" if platform else ""
        raise Failed(f"{base_url} has journaled no vendor call{whose}: run your tests against "
                     "it first")
    text = to_toml(found, base_url)
    if output:
        Path(output).write_text(text)
        click.echo(f"{len(found)} endpoints and pushes written to {output}", err=True)
    else:
        click.echo(text, nl=False)

"""Walk the OpenAPI descriptions with Schemathesis against a running simulator (bounded, seeded).

    python -m simulator.contract.fuzz [--max-examples 120] [--seed 20081] [--base-url URL]

Without --base-url it serves an in-process simulator (paused clock) on a free loopback port, one
per vehicle model: the vendor description's operations tagged with a model are walked against a
fleet of that model (the example IMEIs are its vehicles), so the scooter's and the v1 operations
reach vehicles that have them. The bar: no 5xx, and every response, status and content type as
the spec says. The checks that
assume plain REST habits are left out on purpose (see docs/contract.md): the vendor answers HTTP
200 with a vendor code for a missing token or a bad parameter, as the real cloud does.
Schemathesis is not a dependency of segway-sim: install it (tox -e fuzz does).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

DEMO_TOKEN = "f3bbd782-04c7-42e5-bed9-524cde3eb415"
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance,unsupported_method,"
          "use_after_free,ensure_resource_availability")
# Control-plane operations that live through virtual days or build whole fleets per request
# (correct, but one generated request can hold the server for many seconds), and the live stream.
SLOW_CONTROL = ("/_sim/clock", "/_sim/platforms", "/_sim/snapshot", "/_sim/reset",
                "/_sim/scenarios/{name}",  # starts a whole fleet story moving the clock
                "/_sim/live")  # an endless event stream


def schemathesis(spec_url: str, base_url: str, max_examples: int, seed: int,
                 extra: list[str]) -> int:
    if importlib.util.find_spec("schemathesis") is None:
        print("schemathesis is not installed: pip install 'segway-sim[fuzz]' "
              "(or tox -e fuzz)",
              file=sys.stderr)
        return 2
    # The same interpreter's schemathesis, whatever PATH says.
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", spec_url, "--url", base_url,
           "--max-examples", str(max_examples), "--seed", str(seed), "--workers", "1",
           "--checks", CHECKS,
           "--header", f"Authorization: bearer {DEMO_TOKEN}", "--no-color",
           "--suppress-health-check", "all", *extra]
    print("$", " ".join(cmd), flush=True)
    with tempfile.TemporaryDirectory() as scratch:  # it keeps a .schemathesis/ folder in cwd
        return subprocess.call(cmd, cwd=scratch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="a running simulator (default: start one here)")
    parser.add_argument("--max-examples", type=int, default=170,
                        help="generated cases per vendor operation (default 170: about 5,000 "
                             "requests with the examples and coverage phases)")
    parser.add_argument("--control-examples", type=int, default=25,
                        help="generated cases per control-plane operation")
    parser.add_argument("--seed", type=int, default=20081)
    parser.add_argument("--only", choices=("vendor", "control"))
    parser.add_argument("--models", default="a200,scooter",
                        help="in-process: the vehicle models whose operations are walked, each "
                             "against a fleet of its own (default a200,scooter)")
    args = parser.parse_args(argv)

    if args.base_url is not None:  # whatever fleet it serves: every operation, once
        base_url = args.base_url.rstrip("/")
        code = 0
        if args.only in (None, "vendor"):
            code |= vendor(base_url, args, [])
        if args.only in (None, "control"):
            code |= control(base_url, args)
        return code
    # Schemathesis probes with a NUL byte in a header; aiohttp answers 400 by itself and would
    # also log a traceback for it.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    code = 0
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    for n, model in enumerate(names):
        with served(model) as base_url:
            if args.only in (None, "vendor"):
                code |= vendor(base_url, args, ["--include-tag", model])
            if args.only in (None, "control") and n == 0:
                code |= control(base_url, args)
    return code


@contextmanager
def served(model: str) -> Iterator[str]:
    """An in-process simulator whose demo fleet is all of `model`."""
    from simulator.sim import Config
    from simulator.testing.plugin import ServerThread

    server = ServerThread(Config(seed=1, vehicles=20, paused=True, riders=False,
                                 models=((model, 1.0),))).start()
    try:
        yield server.url.rstrip("/")
    finally:
        server.stop()


def vendor(base_url: str, args: argparse.Namespace, extra: list[str]) -> int:
    return schemathesis(f"{base_url}/_sim/openapi/vendor.json", base_url, args.max_examples,
                        args.seed, extra)


def control(base_url: str, args: argparse.Namespace) -> int:
    skip = [a for p in SLOW_CONTROL for a in ("--exclude-path", p)]
    return schemathesis(f"{base_url}/_sim/openapi/control.json", base_url,
                        args.control_examples, args.seed, skip)


if __name__ == "__main__":
    raise SystemExit(main())

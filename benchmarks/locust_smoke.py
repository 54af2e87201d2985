"""The Locust recipe, run for a few seconds so it cannot rot (`tox -e load`).

    python benchmarks/locust_smoke.py [--seconds 15] [--users 20]

Serves a fresh simulator (`segway-sim serve --port 0 --riders off`), plays benchmarks/
locustfile.py against it headless, and exits 1 unless every kind of request the file makes was
made and none failed (instant latency and healthy vehicles: nothing may fail).
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXPECTED = {"token", "status", "location", "unlock", "rider-lock (control plane)"}


def serve() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli.main", "serve", "--port", "0",
                             "--vehicles", "300", "--riders", "off", "--physics", "quiet"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"serving \d+ vehicles on (http://\S+)", line)
        if found:
            return proc, found.group(1)
    raise SystemExit(f"segway-sim serve did not start (exit {proc.wait()})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--users", type=int, default=20)
    args = ap.parse_args()
    server, url = serve()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            prefix = str(Path(tmp) / "run")
            subprocess.run(["locust", "-f", str(HERE / "locustfile.py"), "--host", url,
                            "--headless", "--users", str(args.users), "--spawn-rate",
                            str(args.users), "--run-time", f"{args.seconds}s", "--only-summary",
                            "--csv", prefix], check=False, timeout=args.seconds + 60)
            with open(f"{prefix}_stats.csv", newline="") as f:
                rows = {row["Name"]: row for row in csv.DictReader(f)}
    finally:
        server.terminate()
        server.wait(timeout=30)
    made = {name for name, row in rows.items() if int(row["Request Count"]) > 0}
    failed = {name: row["Failure Count"] for name, row in rows.items()
              if name != "Aggregated" and int(row["Failure Count"])}
    missing = EXPECTED - made
    print(f"requests: { {n: rows[n]['Request Count'] for n in sorted(made)} }")
    if missing or failed:
        print(f"locustfile: missing {sorted(missing)}, failed {failed}")
        return 1
    print("locustfile: every request made, none failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A partner app under load, for Locust: what a sharing operator's backend does to the cloud.

    pip install locust
    segway-sim serve --vehicles 10000 --latency realistic
    locust -f benchmarks/locustfile.py --host http://127.0.0.1:8080 \
        --headless --users 200 --spawn-rate 50 --run-time 5m

Each Locust user is one backend worker of the operator's app:
- it caches its OAuth token and asks again only when fewer than 300 s are left (the reference's
  hand-over window) or when an answer says 15101, as a well-written client does;
- it polls the status of its vehicles (most of the load);
- now and then it runs a rental: unlock, poll the status until it says unlocked, and later the
  rider locks by hand. The A200 has no lock command, so the rider's lock is the control plane's
  `rider-lock` event, the one request here that is not the app's own.

Vendor answers are HTTP 200 whatever happened: a request counts as failed in Locust's figures when
its `code` is not 0, named by the code (15302 under `--latency realistic` is expected now and
then: a device that did not answer in time). Environment: SEGWAY_CLIENT_ID, SEGWAY_CLIENT_SECRET
(default: the demo platform), SEGWAY_SIM_CONTROL_TOKEN (if the server has a control token).
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from locust import HttpUser, between, events, task

CLIENT_ID = os.environ.get("SEGWAY_CLIENT_ID", "A20081")
CLIENT_SECRET = os.environ.get("SEGWAY_CLIENT_SECRET", "e2651be5-12d3-48f3-ba6c-bc2b04a447b6")
CONTROL = ({"Authorization": f"Bearer {os.environ['SEGWAY_SIM_CONTROL_TOKEN']}"}
           if os.environ.get("SEGWAY_SIM_CONTROL_TOKEN") else {})
Q = "/api/v2/vehicle/query/current"
HAND_OVER_S = 300  # the reference: old and new tokens both work in the last 300 s
IMEIS: list[str] = []  # the platform's vehicles, read once per run


@events.test_start.add_listener
def read_fleet(environment: Any, **_: Any) -> None:
    """The operator knows its vehicles: here, the healthy ones the simulator lists."""
    import requests

    base = environment.host.rstrip("/")
    offset = 0
    while len(IMEIS) < 5_000:
        page = requests.get(f"{base}/_sim/vehicles", headers=CONTROL, timeout=30, params={
            "limit": 1000, "offset": offset, "activated": "true", "online": "true",
            "dormant": "false", "upgrading": "false", "transport": "false"}).json()
        IMEIS.extend(item["iotCode"] for item in page["items"])
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            break


class PartnerApp(HttpUser):
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        self.token = ""
        self.renew_at = 0.0
        self.mine = random.sample(IMEIS, min(50, len(IMEIS)))

    # -- the token cache ---------------------------------------------------------------------

    def bearer(self) -> dict[str, str]:
        if time.monotonic() >= self.renew_at:
            with self.client.post("/oauth/token", name="token", catch_response=True, data={
                    "grant_type": "client_credentials", "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET}) as resp:
                if resp.status_code != 200:
                    resp.failure(f"HTTP {resp.status_code}")
                    return {}
                body = resp.json()
                self.token = body["access_token"]
                self.renew_at = time.monotonic() + max(1, body["expires_in"] - HAND_OVER_S)
        return {"Authorization": f"bearer {self.token}"}

    def vendor(self, method: str, path: str, name: str, **kw: Any) -> dict[str, Any] | None:
        """One vendor call; its `data` if `code` is 0, else None (a Locust failure)."""
        with self.client.request(method, path, name=name, headers=self.bearer(),
                                 catch_response=True, **kw) as resp:
            body = resp.json() if resp.status_code == 200 else {}
            code = body.get("code")
            if code == 0:
                data: dict[str, Any] = body.get("data") or {}
                return data
            if code == 15101:  # the token went: ask for a new one next time
                self.renew_at = 0.0
            resp.failure(f"code {code}: {body.get('msg')}" if code is not None
                         else f"HTTP {resp.status_code}")
            return None

    # -- what the app does -------------------------------------------------------------------

    @task(20)
    def poll_status(self) -> None:
        self.vendor("GET", f"{Q}/status", "status", params={"iotCode": random.choice(self.mine)})

    @task(3)
    def show_on_map(self) -> None:
        self.vendor("GET", f"{Q}/location", "location",
                    params={"iotCode": random.choice(self.mine)})

    @task(1)
    def rental(self) -> None:
        imei = random.choice(self.mine)
        status = self.vendor("GET", f"{Q}/status", "status", params={"iotCode": imei})
        if not status or not status.get("locked", True):
            return  # not rentable now
        if self.vendor("POST", "/api/v2/vehicle/control/unlock", "unlock",
                       json={"iotCode": imei}) is None:
            return
        for _ in range(5):  # the app waits until the status says it is unlocked
            status = self.vendor("GET", f"{Q}/status", "status", params={"iotCode": imei})
            if status and not status.get("locked", True):
                break
            time.sleep(0.5)
        time.sleep(random.uniform(1, 5))  # the ride, shortened
        self.client.post(f"/_sim/vehicles/{imei}/events", name="rider-lock (control plane)",
                         json={"type": "rider-lock"}, headers=CONTROL)

"""The control token's name in the environment, shared by the server (server/guard.py) and the
clients of a running simulator's control plane (contract/target.py, scenarios/drivers.py): one
variable set in a CI job or a docker-compose file reaches `serve` and every client alike."""

from __future__ import annotations

import os

CONTROL_TOKEN_ENV = "SEGWAY_SIM_CONTROL_TOKEN"


def control_headers() -> dict[str, str]:
    """`Authorization` for a control-plane request: the token in the environment, if any."""
    token = os.environ.get(CONTROL_TOKEN_ENV, "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}

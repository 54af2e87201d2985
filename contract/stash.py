"""What the suite's hooks and tests share during a run (pytest stash keys)."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.contract.drift import Drift

DRIFT = pytest.StashKey[list[tuple[Drift, str | None]]]()  # drift found, and why not failed
RECORDED = pytest.StashKey[dict[str, Any]]()  # situation -> the target's answer, for --record
PROFILE = pytest.StashKey[dict[str, Any]]()  # the resolved target and its permissions

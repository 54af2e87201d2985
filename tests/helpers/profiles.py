"""Hypothesis profiles, registered once and loaded by tests/conftest.py before any test module.

Pick one with the environment variable HYPOTHESIS_PROFILE (default: `default`):

- `default`: Hypothesis' own defaults (random examples, the local example database);
- `ci`: derandomized (the same examples on every run of the same code, so a red build is
  reproducible), no example database, and a reproduction blob printed for every failure;
- `dev`: few examples for a quick local loop; tests that set their own `max_examples` keep it.

Every profile drops the deadline: the tests talk HTTP over loopback to a real server and tick
numpy fleets, so an example's wall time measures the machine's load, not the code.
"""

from __future__ import annotations

import os

from hypothesis import settings

PROFILE_ENV = "HYPOTHESIS_PROFILE"

settings.register_profile("default", deadline=None)
settings.register_profile("ci", settings.get_profile("default"),
                          derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", settings.get_profile("default"), max_examples=10)


def load() -> str:
    """Load the profile HYPOTHESIS_PROFILE names; returns its name."""
    name = os.environ.get(PROFILE_ENV, "default")
    settings.load_profile(name)
    return name

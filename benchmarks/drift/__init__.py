"""The held-out drift battery's parts: what a new cloud release could change (`rest`, `push`),
the proxy that plays such a release in front of the mock (`proxy`), and the receiver that
records the mock's genuine pushes (`capture`). `benchmarks/drift_battery.py` runs them.

Written from the vendor reference, real-clients.md and issue 16 only, not from the contract
suite's checks: the battery measures the suite, so it must not be tuned to it.
"""

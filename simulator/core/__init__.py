"""The core domain: what the vendor's cloud is, with no I/O and no event loop.

Owns the virtual clock, random streams, errors as data, the fleet's arrays, the vehicle state
machine, platforms and tokens, fault rules, journals, the vendor's parameter tables and every
vendor operation with its whole check order; also timers on the virtual clock, the `Env` of
stable components the world and push delivery work on (env.py), and the JSON forms of state
that snapshots use (serial.py). Imports nothing else of `simulator` and never
aiohttp; never awaits, so tests and Hypothesis state machines drive it synchronously.
"""

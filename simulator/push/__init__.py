"""Push delivery: cadence (what is due when), chaos, signing, the outbox and the dispatcher.

May import `simulator.core` only (what vehicles do reaches it as the core's bus events, not
through the world); only the dispatcher touches aiohttp, as an HTTP client. Its components work
on the core's `Env` and keep their identity for the simulator's lifetime (a reset clears them).
"""

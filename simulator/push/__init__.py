"""Push delivery: cadence (what is due when), chaos, signing, the outbox and the dispatcher.

May import `simulator.core` (and the world's published events); only the dispatcher touches
aiohttp, as an HTTP client.
"""

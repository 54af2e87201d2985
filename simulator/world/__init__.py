"""The living world: riders, physics (movement, GPS, battery), incidents, on the virtual clock,
and what the control plane's changes and events do to a vehicle (overrides, happenings).

May import `simulator.core` only; nothing here knows about HTTP, pushes or the event loop, and
nothing here imports aiohttp. Functions take what they use (the fleet, the bus, the seed, a
PhysicsConfig, or the core's `Env` of stable components), never the whole simulator.
"""

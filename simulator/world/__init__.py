"""The living world: riders, physics (movement, GPS, battery), incidents, on the virtual clock.

May import `simulator.core`; nothing here knows about HTTP, pushes or the event loop.
"""

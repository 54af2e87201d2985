"""The aiohttp adapter: app factory, vendor routes, control plane, wire format."""

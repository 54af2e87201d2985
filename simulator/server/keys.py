"""Typed keys for what the app carries."""

from __future__ import annotations

from aiohttp import web

from simulator.push.dispatcher import Dispatcher
from simulator.sim import Simulator

SIM = web.AppKey("sim", Simulator)
DISPATCHER = web.AppKey("push_dispatcher", Dispatcher)  # delivers while the app runs (app.py)

"""Typed keys for what the app carries."""

from __future__ import annotations

from aiohttp import web

from simulator.sim import Simulator

SIM = web.AppKey("sim", Simulator)

"""Helpers for partners' test suites: the pytest plugin (`segway_sim`) and its push receiver.

A top layer: may import the server and everything below it.
"""

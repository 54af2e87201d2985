"""The `segway-sim` command line: serve, listen, scenario, contract, bench.

The top layer: may import anything below it; nothing imports it.
"""

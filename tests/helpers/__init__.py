"""Helpers shared by the simulator's own tests: plain functions, constants and small classes.

Fixtures live in tests/conftest.py and reach tests by injection; what a test imports by name lives
here, so no test module imports another test module or a conftest. The repository root is on
`sys.path` through pytest's `pythonpath` setting (pyproject.toml), hence `tests.helpers`.
"""

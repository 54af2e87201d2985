"""The simulator's own tests (a package, so helpers import as `tests.helpers`)."""

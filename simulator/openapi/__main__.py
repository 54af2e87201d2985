"""`python -m simulator.openapi`: regenerate vendor.json and control.json from their builders."""

from . import main

main()

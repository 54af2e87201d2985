"""`python -m simulator.server.openapi`: regenerate vendor.json and control.json from their
builders."""

from simulator.server.openapi import main

main()

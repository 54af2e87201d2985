"""Validating answers against the shipped OpenAPI descriptions."""

from __future__ import annotations

from typing import Any

from openapi_schema_validator import OAS31Validator

from simulator.server import openapi

VENDOR, CONTROL = openapi.load("vendor"), openapi.load("control")


def response_validator(spec: dict[str, Any], path: str, method: str,
                       status: str = "200") -> OAS31Validator:
    pointer = "/".join(p.replace("~", "~0").replace("/", "~1") for p in (
        "paths", path, method, "responses", status, "content", "application/json", "schema"))
    return OAS31Validator({**spec, "$ref": f"#/{pointer}"})

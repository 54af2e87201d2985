"""The reference's parameter tables as data, and one validator for all of them.

Every documented field, range and enum is enforced; anything else gets 15004. The reading is as
liberal as the vendor's Spring/Jackson stack: unknown fields are ignored, numbers may come as
numeric strings, an IMEI may come as a JSON number (the reference's own examples send one).
See FIDELITY.md for each choice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.core.errors import VendorError

# ASCII only: Python's \d also matches other scripts' digits, which Jackson would refuse.
_INT_TEXT = re.compile(r"[+-]?\d{1,18}", re.ASCII)
_IMEI = re.compile(r"\d{1,20}", re.ASCII)
_BT_KEY = re.compile(r"[A-Za-z0-9]{8}", re.ASCII)


def bad(field: str, why: str) -> VendorError:
    return VendorError(15004, f"{field}: {why}")


@dataclass(frozen=True)
class Int:
    """An integer in `allowed` (a range or an enumeration)."""

    allowed: range | tuple[int, ...]
    required: bool = True

    def read(self, field: str, value: Any) -> int:
        if isinstance(value, bool):
            raise bad(field, "boolean where a number is expected")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            value = int(value.strip())
        if not isinstance(value, int):
            raise bad(field, "not an integer")
        if value not in self.allowed:
            raise bad(field, f"{value} not in {_describe(self.allowed)}")
        return value

    def to_json(self) -> dict[str, Any]:
        """As GET /_sim/models and the OpenAPI description show it (JSON Schema words)."""
        if isinstance(self.allowed, range):
            limits: dict[str, Any] = {"minimum": self.allowed.start,
                                      "maximum": self.allowed.stop - 1}
        else:
            limits = {"enum": list(self.allowed)}
        return {"type": "integer", "required": self.required, **limits}


def _describe(allowed: range | tuple[int, ...]) -> str:
    if isinstance(allowed, range):
        return f"{allowed.start}-{allowed.stop - 1}"
    return "{" + ", ".join(map(str, allowed)) + "}"


@dataclass(frozen=True)
class Text:
    pattern: re.Pattern[str]
    required: bool = True
    numbers_ok: bool = False  # an IMEI may be sent as a JSON number

    def read(self, field: str, value: Any) -> str:
        if self.numbers_ok and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise bad(field, "not a string")
        if not self.pattern.fullmatch(value):  # as sent: Jackson does not trim a String
            raise bad(field, "malformed")
        return value

    def to_json(self) -> dict[str, Any]:
        return {"type": "string", "required": self.required,
                "pattern": f"^{self.pattern.pattern}$"}


@dataclass(frozen=True)
class Obj:
    fields: Mapping[str, Any]  # name -> Int | Text | Obj
    required: bool = True

    def read(self, field: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise bad(field, "not an object")
        out: dict[str, Any] = {}
        for name, spec in self.fields.items():
            path = f"{field}.{name}" if field else name
            raw = value.get(name)
            if raw is None:
                if spec.required:
                    raise bad(path, "missing")
                continue
            out[name] = spec.read(path, raw)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"type": "object", "required": self.required,
                "properties": {name: spec.to_json() for name, spec in self.fields.items()}}


def opt(spec: Int | Text | Obj) -> Any:
    return type(spec)(**{**spec.__dict__, "required": False})


IOT_CODE = Text(_IMEI, numbers_ok=True)
# The first generation's vehicle code (its QR code: letters and digits, as printed).
VEHICLE_CODE = Text(re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII), numbers_ok=True)
ON_OFF = Int(range(0, 3))  # 0 no setting, 1 off, 2 on
ON_OFF_FLICKER = Int(range(0, 4))  # ... 3 flicker
COLOR = Int(range(1, 8))
BRIGHT = Int(range(1, 4))
INTERVAL = Int(range(10, 65536))
SOUND_TYPES = (2, 3, 10, 11, 12, 13)  # 3: the reference's own example (FIDELITY.md)
LAMP_EFFECT = Obj({"mode": Int(range(1, 5)), "bright": opt(BRIGHT), "color": COLOR}, False)
EBAQ_SOUNDS = (
    "locked", "unlocked", "batteryOn", "illegalMoving", "fault", "alarm", "locating",
    "modeSwitch", "nfcReadSuccess", "nfcReadFailed", "batteryCoverUnlocked",
    "batteryCoverLocked", "fullyCharged", "cableLocked", "cusAudio01", "cusAudio02",
    "cusAudio03", "cusAudio04",
)

# Body of every command, by operation (see vehicle.COMMANDS).
BODIES: dict[str, Obj] = {
    "unlock": Obj({"iotCode": IOT_CODE}),
    "battery-cover": Obj({"iotCode": IOT_CODE}),
    "sound": Obj({"iotCode": IOT_CODE, "controlType": Int(SOUND_TYPES)}),
    "mech-lock": Obj({"iotCode": IOT_CODE}),
    "anti-theft": Obj({"iotCode": IOT_CODE, "controlType": Int((1, 2))}),
    "ambient": Obj(
        {"iotCode": IOT_CODE, "bright": BRIGHT, "mode": Int((0, 2, 3, 4)), "color": COLOR}
    ),
    "wireless-charging": Obj({"iotCode": IOT_CODE, "controlType": Int((0, 1))}),
    "whole-shutdown": Obj({"iotCode": IOT_CODE}),
    "setting/switch": Obj(
        {
            "iotCode": IOT_CODE,
            "bssDisplay": ON_OFF,
            "alertSensitivity": Int(range(1, 4)),
            "unlockHeadLight": ON_OFF,
            "unlockTailLight": ON_OFF_FLICKER,
            "brakeTailLight": ON_OFF_FLICKER,
            "wirelessCharge": ON_OFF,
            "climbInput": ON_OFF,
            "speedLimit": Int(range(6, 33), required=False),
            "lowPowerValue": Int(range(0, 31), required=False),
        }
    ),
    "setting/ambient": Obj(
        {
            "iotCode": IOT_CODE,
            "bright": BRIGHT,
            **{m: LAMP_EFFECT for m in
               ("lockedMode", "faultMode", "exerciseMode", "ecoMode", "turboMode")},
        }
    ),
    "setting/sound": Obj(
        {
            "iotCode": IOT_CODE,
            "workMode": ON_OFF,
            "volume": BRIGHT,
            "ebaqMask": Obj({s: Int(range(0, 3), required=False) for s in EBAQ_SOUNDS},
                            required=False),
        }
    ),
    "setting/speed-mode": Obj({"iotCode": IOT_CODE, "speedMode": Int(range(1, 4))}),
    "setting/bluetooth-key": Obj({"iotCode": IOT_CODE, "key": Text(_BT_KEY)}),
    "setting/interval": Obj(
        {
            "iotCode": IOT_CODE,
            "locationInterval": Obj(
                {"unlockStatus": opt(INTERVAL), "lockStatus": opt(INTERVAL)}, required=False
            ),
            "statusInterval": Obj(
                {
                    "ridingStatus": opt(INTERVAL),
                    "nonRiding": opt(INTERVAL),
                    "lockStatus": opt(INTERVAL),
                },
                required=False,
            ),
        }
    ),
}


def command_params(op: str, body: Any, spec: Obj | None = None) -> dict[str, Any]:
    """The validated parameters of command `op`: by `spec` (a vehicle model's), or the A200's."""
    if not isinstance(body, dict):
        raise bad("body", "not a JSON object")
    params = (BODIES[op] if spec is None else spec).read("", body)
    groups = _SOME_OF.get(op)
    if groups and all(params.get(g) in (None, {}) for g in groups[1]):
        raise bad("body", f"no {groups[0]} given")
    return params


# Commands whose every field is optional, but one must be there: op -> (what, the fields).
_SOME_OF = {"setting/interval": ("interval", ("locationInterval", "statusInterval")),
            "light": ("light", ("headLight", "tailLight"))}


# What Spring's String -> Boolean conversion takes for a query parameter ("" means absent).
_BOOL_TEXT = {"true": True, "on": True, "yes": True, "1": True,
              "false": False, "off": False, "no": False, "0": False}


_ONLY_IMEI = re.compile(r"iotCode=(\d{1,20})", re.ASCII)


def only_imei(raw_query: str) -> str | None:
    """The IMEI of a raw query string that is exactly `iotCode=<digits>`, as most are: read
    without parsing the query (the answer query_params would give); None for anything else."""
    found = _ONLY_IMEI.fullmatch(raw_query)
    return found[1] if found else None


def query_params(op: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The query string of a GET query: `iotCode`, and `realTimeLocation` on location; the
    first generation's (v1/...) also `vehicleCode`, and query/get `realTimeStatus`."""
    params: dict[str, Any] = {"iotCode": IOT_CODE.read("iotCode", query.get("iotCode"))}
    if op.startswith("v1/"):
        if query.get("vehicleCode") is None:
            raise bad("vehicleCode", "missing")
        params["vehicleCode"] = VEHICLE_CODE.read("vehicleCode", query.get("vehicleCode"))
    for flag in _FLAGS.get(op, ()):
        raw = query.get(flag, "").strip().lower()
        if raw:
            if raw not in _BOOL_TEXT:
                raise bad(flag, "not a boolean")
            params[flag] = _BOOL_TEXT[raw]
    return params


_FLAGS = {"location": ("realTimeLocation",), "v1/get": ("realTimeLocation", "realTimeStatus")}

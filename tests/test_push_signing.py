"""Push signatures: the reference's four steps, and the forms the simulator signs with them."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import MultiDict

from simulator.core.events import ALERT, COMPONENTS, FAULT, KINDS, LOCATION, STATUS
from simulator.push.outbox import encode, form, text
from simulator.push.signing import canonical, sign, verify_signature
from simulator.sim import DEMO_CLIENT_SECRET, Config, Simulator
from tests.helpers.push import reference_signature

# Keys and values as form fields carry them (no "&" or "=" inside, as the reference's split needs).
KEY = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1,
              max_size=12).filter(lambda k: k != "signature")
VALUE = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-_", max_size=20)
FIELDS = st.dictionaries(KEY, VALUE, min_size=1, max_size=16)
SECRET = st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s)


def test_the_four_steps_on_a_worked_example() -> None:
    fields = {"platformCode": "A20081", "iotCode": "861477038719116", "code": "1",
              "statusUtcTime": "1591067719", "alertStatus": "0"}
    text_ = ("alertStatus=0&code=1&iotCode=861477038719116&platformCode=A20081"
             "&statusUtcTime=1591067719&client_secret=" + DEMO_CLIENT_SECRET)
    assert canonical(fields) == text_.split("&client_secret=")[0]
    assert sign(fields, DEMO_CLIENT_SECRET) == hashlib.md5(text_.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{32}", sign(fields, DEMO_CLIENT_SECRET))


def test_ascii_order_puts_capitals_before_lower_case() -> None:
    assert canonical({"b": "1", "B": "2", "a": "3", "_": "4"}) == "B=2&_=4&a=3&b=1"


@settings(max_examples=100)
@given(FIELDS, SECRET)
def test_sign_agrees_with_an_independent_implementation(fields: dict[str, str],
                                                        secret: str) -> None:
    raw = "&".join(f"{k}={v}" for k, v in fields.items())
    assert sign(fields, secret) == reference_signature(raw, secret)


@settings(max_examples=100)
@given(FIELDS, SECRET, st.randoms(use_true_random=False))
def test_verify_accepts_every_shape_of_a_signed_form(fields: dict[str, str], secret: str,
                                                     rnd: object) -> None:
    signed = {**fields, "signature": sign(fields, secret)}
    items = list(signed.items())
    rnd.shuffle(items)  # type: ignore[attr-defined]
    raw = "&".join(f"{k}={v}" for k, v in items)
    for shape in (signed, dict(items), raw, raw.encode(), items, MultiDict(items)):
        assert verify_signature(shape, secret)
    assert verify_signature({**signed, "signature": signed["signature"].upper()}, secret)


@settings(max_examples=100)
@given(FIELDS, SECRET, st.data())
def test_verify_rejects_any_change(fields: dict[str, str], secret: str,
                                   data: st.DataObject) -> None:
    signed = {**fields, "signature": sign(fields, secret)}
    key = data.draw(st.sampled_from(sorted(fields)))
    assert not verify_signature({**signed, key: signed[key] + "x"}, secret)
    assert not verify_signature({**signed, "extra": "1"}, secret)  # every received field counts
    assert not verify_signature(signed, secret + "x")
    assert not verify_signature({k: v for k, v in signed.items() if k != key}, secret)
    assert not verify_signature(fields, secret)  # no signature at all


def test_verify_rejects_garbage_without_raising() -> None:
    assert not verify_signature(b"\xff\xfe", "s")
    assert not verify_signature("", "s")
    assert not verify_signature("signature=a&signature=b", "s")


def test_text_of_values() -> None:
    assert [text(True), text(False), text(0), text(1780000000)] == ["true", "false", "0",
                                                                    "1780000000"]
    assert text(22.634228) == "22.634228"
    assert text(1.38) == "1.38"
    assert text(1e-05) == "0.00001"
    assert "e" not in text(-3.5e-7)


# -- the forms the simulator signs --------------------------------------------------------------

PUSH_FIELDS = {
    STATUS: ["iotCode", "platformCode", "online", "locked", "lockVoltage", "networkSignal",
             "charging", "powerPercent", "speedMode", "speed", "odometer", "remainingRange",
             "totalRidingSecs", "statusUtcTime"],
    LOCATION: ["iotCode", "platformCode", "locationStatus", "latitude", "longitude",
               "satelliteNumber", "hdop", "altitude", "gpsUtcTime"],
    ALERT: ["iotCode", "platformCode", "statusUtcTime", "alertStatus", "code"],
    FAULT: ["iotCode", "platformCode", "statusUtcTime", "faultStatus", "code"],
    COMPONENTS: ["iotCode", "platformCode", "type", "status", "statusUtcTime"],
}
DATA: dict[str, dict[str, Any]] = {
    ALERT: {"code": 12, "alertStatus": 0}, FAULT: {"code": "E5", "faultStatus": 1},
    COMPONENTS: {"type": 5, "status": 2}, STATUS: {}, LOCATION: {}}
SIM = Simulator(Config(seed=3, vehicles=5, paused=True, riders=False))


@settings(max_examples=100)
@given(
    kind=st.sampled_from(KINDS),
    row=st.integers(0, 4),
    lat=st.floats(-89.9, 89.9),
    lon=st.floats(-179.9, 179.9),
    power=st.floats(0, 100),
    speed=st.floats(0, 32),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    dt=st.floats(0, 10**6),
)
def test_every_push_form_is_strings_signed_over_what_is_sent(
    kind: str, row: int, lat: float, lon: float, power: float, speed: float,
    flags: tuple[bool, bool, bool, bool], dt: float,
) -> None:
    f = SIM.fleet
    f.lat[row], f.lon[row], f.power[row], f.speed[row] = lat, lon, power, speed
    f.locked[row], f.charging[row], f.online[row], f.location_valid[row] = flags
    t = SIM.clock.now + dt
    fields = form(SIM.env, kind, row, t, DATA[kind])
    assert list(fields) == PUSH_FIELDS[kind]
    assert all(isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9.\-]+", v) for v in fields.values())
    fields["signature"] = sign(fields, DEMO_CLIENT_SECRET)
    raw = encode(fields).decode()
    # Nothing needed escaping: the raw body is exactly the signed strings.
    assert raw == "&".join(f"{k}={v}" for k, v in fields.items())
    assert reference_signature(raw, DEMO_CLIENT_SECRET) == fields["signature"]
    assert fields["platformCode"] == "A20081"
    if kind == STATUS:
        assert fields["locked"] == ("true" if flags[0] else "false")
        assert fields["online"] == ("true" if flags[2] else "false")
        assert fields["statusUtcTime"] == str(int(t))
    if kind == LOCATION:
        assert fields["locationStatus"] == ("valid" if flags[3] else "invalid")
        assert float(fields["latitude"]) == round(float(np.float64(lat)), 6)
        assert int(fields["gpsUtcTime"]) <= int(t)

"""Concurrency: many concurrent commands on one vehicle; no half-changed state, seen during the
storm or after it; races on tokens, rules and creations resolve to exactly one winner."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from conftest import CLIENT_ID, IMEI, IMEI2, IMEI3, SECRET, TOKEN, call, expect, module_server

AUTH = {"Authorization": f"bearer {TOKEN}"}
SWITCH = "/api/v2/ebike/setting/switch"


@pytest.fixture(scope="module")
def server(request):
    return module_server(request, "--paused", "--riders", "off", "--vehicles", "20")


def switch_set(k: int) -> dict:
    return {"bssDisplay": k, "alertSensitivity": k, "unlockHeadLight": k, "unlockTailLight": k,
            "brakeTailLight": k, "wirelessCharge": k, "climbInput": k, "speedLimit": 10 + k,
            "lowPowerValue": 10 + k}


def _switch(doc: dict) -> dict:
    stored = (doc.get("settings") or {}).get("switch") or {}
    return {k: stored.get(k) for k in switch_set(1)}


async def _json(session, method, url, **kw):
    async with session.request(method, url, **kw) as answer:
        try:
            return answer.status, await answer.json(content_type=None)
        except ValueError:
            return answer.status, None


def _run(coro):
    return asyncio.run(coro)


def test_switch_storm_never_half_applied(server):
    base = server.url
    initial = _switch(call(server.port, "GET", f"/_sim/vehicles/{IMEI}").json())
    allowed = [initial, switch_set(1), switch_set(2)]

    async def storm():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as s:
            writes = [_json(s, "POST", base + SWITCH,
                            json={"iotCode": IMEI, **switch_set(1 + i % 2)}, headers=AUTH)
                      for i in range(200)]
            reads = [_json(s, "GET", f"{base}/_sim/vehicles/{IMEI}") for _ in range(60)]
            results = await asyncio.gather(*writes, *reads)
            return results[:200], results[200:]

    writes, reads = _run(storm())
    codes = [doc.get("code") if isinstance(doc, dict) else status for status, doc in writes]
    expect(all(c in (0, 15104) for c in codes),
           f"200 concurrent setting/switch commands: codes {sorted(set(map(str, codes)))}")
    expect(0 in codes, "200 concurrent setting/switch commands: none succeeded")
    mixed = [_switch(doc) for status, doc in reads if status == 200 and _switch(doc) not in allowed]
    expect(not mixed, f"a read during the storm saw a half-applied switch setting: {mixed[:1]}")
    final = call(server.port, "GET", f"/_sim/vehicles/{IMEI}").json()
    expect(_switch(final) in allowed[1:], f"after the storm the switch setting is half-applied: "
           f"{_switch(final)}")
    expect(final.get("commandInFlight") is False, "after the storm commandInFlight is still true")


def test_commands_during_a_delayed_command_get_15104_and_change_nothing(server):
    base = server.url
    rule = call(server.port, "POST", "/_sim/faults",
                body={"delayMs": 2500, "endpoint": "setting/speed-mode", "iotCode": IMEI2,
                      "times": 1})
    expect(rule.status == 201, f"creating a delay rule answered {rule!r}")
    before = call(server.port, "GET", f"/_sim/vehicles/{IMEI2}").json()
    first_mode = 1 if before["settings"]["speedMode"] != 1 else 3

    async def race():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=150)) as s:
            first = asyncio.ensure_future(_json(
                s, "POST", base + "/api/v2/vehicle/setting/speed-mode",
                json={"iotCode": IMEI2, "speedMode": first_mode}, headers=AUTH))
            await asyncio.sleep(0.4)
            others = []
            for i in range(120):
                path, body = [
                    ("/api/v2/vehicle/setting/speed-mode", {"speedMode": 2}),
                    (SWITCH, switch_set(2)),
                    ("/api/v2/vehicle/control/sound", {"controlType": 2}),
                    ("/api/v2/vehicle/control/unlock", {}),
                ][i % 4]
                others.append(_json(s, "POST", base + path, json={"iotCode": IMEI2, **body},
                                    headers=AUTH))
            rest = await asyncio.gather(*others)
            others_done = time.monotonic()
            first_answer = await first
            return first_answer, rest, time.monotonic() - others_done

    first, rest, took = _run(race())
    expect(first[1] and first[1].get("code") == 0,
           f"the delayed speed-mode command answered {first}")
    codes = [doc.get("code") if isinstance(doc, dict) else status for status, doc in rest]
    wrong = [c for c in codes if c != 15104]
    expect(not wrong, f"{len(wrong)} of 120 commands sent while another was in flight did not "
           f"get 15104: {sorted(set(map(str, wrong)))}")
    expect(took > 0.3, "commands to a busy vehicle were held until the delayed command ended "
           "instead of answering 15104 at once")
    after = call(server.port, "GET", f"/_sim/vehicles/{IMEI2}").json()
    expect(after["settings"]["speedMode"] == first_mode,
           f"speedMode is {after['settings']['speedMode']}, expected the in-flight command's "
           f"{first_mode}")
    expect(after["locked"] == before["locked"] and _switch(after) == _switch(before),
           "a command refused with 15104 changed the vehicle")
    expect(after.get("commandInFlight") is False, "commandInFlight still true after the delay")


def test_unlock_storm_consistent_between_vendor_and_control(server):
    base = server.url

    async def storm():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as s:
            unlocks = [_json(s, "POST", base + "/api/v2/vehicle/control/unlock",
                             json={"iotCode": IMEI3}, headers=AUTH) for _ in range(100)]
            locks = [_json(s, "POST", f"{base}/_sim/vehicles/{IMEI3}/events",
                           json={"type": "rider-lock"}) for _ in range(30)]
            return await asyncio.gather(*unlocks, *locks)

    results = _run(storm())
    unlock_codes = {doc.get("code") if isinstance(doc, dict) else status
                    for status, doc in results[:100]}
    expect(unlock_codes <= {0, 15104}, f"concurrent unlocks answered codes {unlock_codes}")
    lock_status = {status for status, doc in results[100:]}
    expect(lock_status <= {200, 409}, f"concurrent rider-lock events answered {lock_status}")
    control = call(server.port, "GET", f"/_sim/vehicles/{IMEI3}").json()
    vendor = call(server.port, "GET", f"/api/v2/vehicle/query/current/status?iotCode={IMEI3}",
                  headers=AUTH).json()
    expect(vendor.get("code") == 0, f"status after the storm: {vendor}")
    expect(control["locked"] == vendor["data"]["locked"],
           f"after the storm the control plane says locked={control['locked']} and the vendor "
           f"status says locked={vendor['data']['locked']}")
    if control["locked"]:
        expect(not control["riding"] and not control["mechLockOpen"],
               "a locked vehicle is riding or has its mech lock open after the storm")
    expect(control.get("commandInFlight") is False, "commandInFlight still true after the storm")


def test_patch_storm_all_or_nothing(server):
    base = server.url
    sets = [{"powerPercent": 11, "latitude": 1.25, "longitude": 103.8, "speedMode": 1},
            {"powerPercent": 77, "latitude": 1.35, "longitude": 103.9, "speedMode": 3}]
    bad = {"powerPercent": 50, "latitude": 1.3, "longitude": 103.85, "speedMode": 9}

    def view(doc):
        return {"powerPercent": doc["status"]["powerPercent"],
                "latitude": round(doc["location"]["latitude"], 4),
                "longitude": round(doc["location"]["longitude"], 4),
                "speedMode": doc["settings"]["speedMode"]}

    async def storm():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as s:
            jobs = []
            for i in range(150):
                body = bad if i % 5 == 4 else sets[i % 2]
                jobs.append(_json(s, "PATCH", f"{base}/_sim/vehicles/{IMEI}", json=body))
            reads = [_json(s, "GET", f"{base}/_sim/vehicles/{IMEI}") for _ in range(50)]
            return await asyncio.gather(*jobs, *reads)

    before = view(call(server.port, "GET", f"/_sim/vehicles/{IMEI}").json())
    results = _run(storm())
    statuses = [status for status, _ in results[:150]]
    expect(all(s == (400 if i % 5 == 4 else 200) for i, s in enumerate(statuses)),
           f"concurrent PATCHes answered {sorted(set(statuses))} (valid 200, invalid 400)")
    allowed = [before, *sets]
    seen = [view(doc) for status, doc in results[150:] if status == 200]
    torn = [v for v in seen if v not in allowed]
    expect(not torn, f"a read during the PATCH storm saw a half-applied PATCH: {torn[:1]}")
    final = view(call(server.port, "GET", f"/_sim/vehicles/{IMEI}").json())
    expect(final in sets, f"after the PATCH storm the vehicle is {final}, not one whole PATCH")
    vendor = call(server.port, "GET", f"/api/v2/vehicle/query/current/status?iotCode={IMEI}",
                  headers=AUTH).json()
    expect(vendor["data"]["powerPercent"] == final["powerPercent"],
           "the vendor status and the control plane disagree on powerPercent after the storm")


def test_concurrent_token_requests_issue_one_token(server):
    created = call(server.port, "POST", "/_sim/platforms",
                   body={"clientId": "E77001", "clientSecret": "conc-secret"})
    expect(created.status == 201, f"creating platform E77001 answered {created!r}")
    base = server.url

    async def storm(client_id, secret):
        form = {"client_id": client_id, "client_secret": secret,
                "grant_type": "client_credentials"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as s:
            return await asyncio.gather(*[_json(s, "POST", base + "/oauth/token", data=form)
                                          for _ in range(100)])

    for client_id, secret in ((CLIENT_ID, SECRET), ("E77001", "conc-secret")):
        results = _run(storm(client_id, secret))
        statuses = {status for status, _ in results}
        expect(statuses == {200}, f"100 concurrent token requests for {client_id}: {statuses}")
        tokens = {doc["access_token"] for _, doc in results}
        expect(len(tokens) == 1, f"100 concurrent token requests for {client_id} issued "
               f"{len(tokens)} different tokens, expected 1")


def test_concurrent_rule_and_vehicle_creation_one_winner(server):
    base = server.url

    async def storm():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as s:
            rules = await asyncio.gather(*[
                _json(s, "POST", base + "/_sim/faults",
                      json={"code": 15303, "endpoint": "sound", "iotCode": IMEI3})
                for _ in range(100)])
            rule_id = rules[0][1]["id"] if rules[0][1] else None
            deletes = await asyncio.gather(*[_json(s, "DELETE", f"{base}/_sim/faults/{rule_id}")
                                             for _ in range(20)])
            vehicles = await asyncio.gather(*[
                _json(s, "POST", base + "/_sim/vehicles", json={"iotCode": "990000000000017"})
                for _ in range(40)])
            return rules, deletes, vehicles

    before = call(server.port, "GET", "/_sim/health").json()["vehicles"]
    rules, deletes, vehicles = _run(storm())
    ids = [doc["id"] for status, doc in rules if status == 201]
    expect(len(ids) == 100 and len(set(ids)) == 100,
           f"100 concurrent fault rules: {len(ids)} created with {len(set(ids))} distinct ids")
    deleted = sorted(status for status, _ in deletes)
    expect(deleted.count(200) == 1 and deleted.count(404) == 19,
           f"20 concurrent DELETEs of one rule answered {deleted}, expected one 200, 19 404")
    left = call(server.port, "GET", "/_sim/faults").json()["items"]
    expect(len([r for r in left if r["endpoint"] == "sound"]) == 99,
           f"after one delete {len(left)} rules remain, expected 99")
    created = sorted(status for status, _ in vehicles)
    expect(created.count(201) == 1 and created.count(409) == 39,
           f"40 concurrent creations of one IMEI answered {sorted(set(created))} "
           f"({created.count(201)} created)")
    after = call(server.port, "GET", "/_sim/health").json()["vehicles"]
    expect(after == before + 1, f"the fleet grew by {after - before}, expected 1")
    call(server.port, "DELETE", "/_sim/faults")

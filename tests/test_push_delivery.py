"""Delivery: any 2xx delivers; anything else is retried exactly once, 5 virtual seconds later;
dead and slow receivers cost bounded memory and never hold up the REST surface; the journal.

Every test runs with each sender (push/sender.py): HTTP on the simulator's loop, and in the
child process `serve` uses on two cores or more: the rules must not depend on where it runs."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.core import alerts
from simulator.push.dispatcher import DELIVERIES
from simulator.sim import Config
from simulator.world.physics import PhysicsConfig
from tests.helpers.push import Got, Rig
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call


@pytest.fixture(params=DELIVERIES)
def config(request: pytest.FixtureRequest) -> Config:
    return Config(seed=7, vehicles=20, paused=True, riders=False, physics=PhysicsConfig.quiet(),
                  extra={"push_delivery": request.param})


def answering(*statuses: int) -> Any:
    """A receiver behaviour answering these statuses in turn, then the last one forever."""
    queue = list(statuses)

    async def behaviour(got: Got) -> int:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return behaviour


def held(release: asyncio.Event, status: int) -> Any:
    """A receiver behaviour that holds every push until `release` is set, then answers `status`."""

    async def behaviour(got: Got) -> int:
        await release.wait()
        return status

    return behaviour


def raise_one_alert(rig: Rig) -> None:
    """Exactly one push: an alert of the example vehicle, now (its delivery under way)."""
    row = rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    alerts.raise_alert(rig.sim.fleet, row, 1, rig.sim.clock.now, rig.sim.bus)


async def one_alert(rig: Rig) -> None:
    """Exactly one push: an alert of the example vehicle, now, attempted."""
    raise_one_alert(rig)
    await rig.settle()


def attempts(rig: Rig) -> list[dict[str, Any]]:
    return rig.journal(type="alert")


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
async def test_any_2xx_is_delivered(rig: Rig, status: int) -> None:
    rig.receiver.behaviour = answering(status)
    await one_alert(rig)
    await rig.advance(60)
    [record] = attempts(rig)
    assert (record["outcome"], record["httpStatus"], record["attempt"]) == ("delivered", status, 1)
    assert record["error"] is None and record["latencyMs"] >= 0
    assert len(rig.receiver.of("alert")) == 1


@pytest.mark.parametrize("status", [500, 503, 404, 400, 401, 301, 302, 304])
async def test_anything_else_is_retried_once_5_s_later_then_dropped(rig: Rig, status: int) -> None:
    rig.receiver.behaviour = answering(status)
    t0 = rig.sim.clock.now
    await one_alert(rig)
    await rig.advance(4.999)
    assert len(rig.receiver.of("alert")) == 1  # not yet
    await rig.advance(0.001)
    await rig.advance(600)
    first, second = rig.receiver.of("alert")
    assert second.t == t0 + 5  # arrived 5 virtual seconds after the failed attempt
    assert second.raw == first.raw  # the same form, the same signature
    assert [(r["attempt"], r["outcome"], r["httpStatus"]) for r in attempts(rig)] == [
        (1, "retry", status), (2, "failed", status)]
    assert attempts(rig)[1]["t"] == (t0 + 5) * 1000
    assert rig.sim.outbox.counters["failed"] == len(rig.journal(outcome="failed")) >= 1


async def test_a_retry_that_succeeds_is_delivered(rig: Rig) -> None:
    rig.receiver.behaviour = answering(500, 200)
    await one_alert(rig)
    await rig.advance(5)
    assert [(r["attempt"], r["outcome"]) for r in attempts(rig)] == [(1, "retry"),
                                                                     (2, "delivered")]


async def test_no_answer_within_the_timeout_is_retried(rig: Rig) -> None:
    release = asyncio.Event()

    async def hang_first(got: Got) -> int:
        if len(rig.receiver.got) == 1:
            await release.wait()
        return 200

    rig.receiver.behaviour = hang_first
    rig.dispatcher.timeout = 0.2  # wall seconds: it is a real network wait
    await one_alert(rig)
    [record] = attempts(rig)
    assert record["outcome"] == "retry" and record["httpStatus"] is None
    assert "no answer within 0.2 s" in record["error"]
    await rig.advance(5)
    assert [r["outcome"] for r in attempts(rig)] == ["retry", "delivered"]
    release.set()


def dead_url() -> str:
    """A loopback port with nothing listening: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


async def test_a_dead_receiver_gets_one_retry_per_push_and_nothing_more(rig: Rig) -> None:
    rig.sim.platforms["A20081"].callback_url = dead_url()
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    await rig.settle()
    await rig.advance(5)
    await rig.advance(100)
    await rig.advance(5)  # the retries of the last failures
    status = rig.journal(type="status")
    assert [(r["attempt"], r["outcome"]) for r in status] == [(1, "retry"), (2, "failed")]
    assert all(r["httpStatus"] is None and r["error"].startswith("connection failed")
               for r in status)
    location = rig.journal(type="location", iotCode=EXAMPLE_IMEI)
    assert len(location) >= 20
    by_push: dict[int, list[dict[str, Any]]] = {}
    for r in location:
        by_push.setdefault(r["pushId"], []).append(r)
    now_ms = rig.sim.clock.now_ms
    for tries in by_push.values():
        first = tries[0]
        assert (first["attempt"], first["outcome"]) == (1, "retry")
        if first["t"] + 5000 <= now_ms:  # its retry was due: it failed, and that was the last
            assert [(r["attempt"], r["outcome"]) for r in tries] == [(1, "retry"), (2, "failed")]
            assert tries[1]["t"] == first["t"] + 5000
    assert rig.sim.outbox.pending() == 0
    assert rig.sim.outbox.counters["delivered"] == 0


async def test_a_full_queue_drops_and_journals_what_does_not_fit(rig: Rig) -> None:
    rig.sim.outbox.limit = 5
    for row in range(len(rig.sim.fleet)):
        rig.sim.fleet.loc_lock_interval[row] = 10
    # All reports of a step are queued before any delivery can start: 5 fit, the rest drop.
    rig.sim.advance(10)
    dropped = rig.journal(outcome="dropped")
    online = int((rig.sim.fleet.online & rig.sim.fleet.activated).sum())
    assert len(dropped) == online - 5
    assert {r["reason"] for r in dropped} == {"overflow"}
    assert all(r["type"] == "location" and r["iotCode"] for r in dropped)
    await rig.settle()
    assert len(rig.receiver.got) == 5
    assert rig.sim.outbox.counters["dropped"] == online - 5


async def test_a_hanging_receiver_never_holds_up_the_rest_surface(rig: Rig) -> None:
    release = asyncio.Event()
    rig.receiver.behaviour = held(release, 200)
    rig.sim.outbox.limit = 50
    rig.dispatcher.concurrency = 8  # the bound under test (the default is larger than the queue)
    for row in range(len(rig.sim.fleet)):
        rig.sim.fleet.loc_lock_interval[row] = 10
    rig.sim.advance(100)  # far more reports than can be in flight
    concurrency = rig.dispatcher.concurrency
    await rig.receiver.wait_for(concurrency)
    # Every delivery slot is taken by the hanging receiver; the vendor API answers regardless.
    answer = await vendor_call(rig.client, "status", iotCode=EXAMPLE_IMEI)
    assert answer["code"] == 0
    health = await rig.client.get("/_sim/health")
    assert health.status == 200
    assert not release.is_set()
    assert rig.dispatcher.workers["A20081"] == concurrency
    assert len(rig.receiver.got) == concurrency  # no more than the bound in flight
    assert rig.sim.outbox.pending() <= rig.sim.outbox.limit  # memory stays bounded
    release.set()
    await rig.settle()
    assert rig.sim.outbox.counters["delivered"] == len(rig.receiver.got)


async def test_a_reset_discards_the_old_world_and_delivers_the_new(rig: Rig) -> None:
    release = asyncio.Event()
    rig.receiver.behaviour = held(release, 500)
    rig.dispatcher.concurrency = 1
    row = rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    for code in (1, 2, 3):  # one in flight, two waiting
        alerts.raise_alert(rig.sim.fleet, row, code, rig.sim.clock.now, rig.sim.bus)
    await rig.receiver.wait_for(1)
    response = await rig.client.post("/_sim/reset")
    assert response.status == 200
    release.set()
    await rig.settle()
    rig.sim.advance(10)  # the old world's retry would have been due
    await rig.settle()
    # The attempt in flight ended in the old world; nothing of it is in the new journal, the
    # waiting ones were discarded, and it is not retried.
    assert len(rig.receiver.of("alert")) == 1
    assert len(rig.sim.pushes.records) == 0
    rig.receiver.behaviour = answering(200)
    rig.sim.platforms["A20081"].callback_url = rig.receiver.url
    await one_alert(rig)
    assert len(rig.receiver.of("alert")) == 2
    assert [r["outcome"] for r in attempts(rig)] == ["delivered"]


# -- the journal on the control plane ------------------------------------------------------------


async def test_the_journal_records_every_attempt(rig: Rig) -> None:
    rig.receiver.behaviour = answering(500, 200)
    await one_alert(rig)
    await rig.advance(5)
    response = await rig.client.get("/_sim/pushes", params={"type": "alert"})
    assert response.status == 200
    body = await response.json()
    first, second = body["items"]
    assert first["url"] == rig.receiver.url + "/v2/vehicle/alert"
    assert first["fields"]["iotCode"] == EXAMPLE_IMEI
    assert first["signature"] == first["fields"]["signature"]
    assert (first["attempt"], first["httpStatus"], first["outcome"]) == (1, 500, "retry")
    assert (second["attempt"], second["httpStatus"], second["outcome"]) == (2, 200, "delivered")
    assert first["pushId"] == second["pushId"]
    assert second["t"] - first["t"] == 5000
    assert isinstance(first["latencyMs"], float)
    for outcome in ("retry", "delivered", "failed", "dropped"):
        assert body["counters"][outcome] == len(rig.journal(outcome=outcome))


async def test_the_journal_filters(rig: Rig) -> None:
    rig.receiver.behaviour = answering(500, 200)
    await one_alert(rig)
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    await rig.advance(60)

    async def items(**params: str) -> list[dict[str, Any]]:
        response = await rig.client.get("/_sim/pushes", params=params)
        assert response.status == 200
        return list((await response.json())["items"])

    assert {r["type"] for r in await items(type="location")} == {"location"}
    assert {r["iotCode"] for r in await items(iotCode=EXAMPLE_IMEI)} == {EXAMPLE_IMEI}
    assert [r["type"] for r in await items(outcome="retry")] == ["alert"]
    assert [r["attempt"] for r in await items(attempt="2")] == [2]
    everything = await items()
    assert len(everything) == len(rig.sim.pushes.records) > 3
    assert await items(limit="2") == everything[-2:]
    assert await items(since=str(everything[0]["seq"]), limit="1") == everything[1:2]
    assert await items(platformCode="E99999") == []


@pytest.mark.parametrize(("params", "field"), [
    ({"type": "lock"}, "type"),
    ({"outcome": "ok"}, "outcome"),
    ({"attempt": "3"}, "attempt"),
    ({"limit": "0"}, "limit"),
    ({"limit": "x"}, "limit"),
    ({"since": "-1"}, "since"),
    ({"imei": "1"}, "imei"),
])
async def test_the_journal_refuses_bad_filters(rig: Rig, params: dict[str, str],
                                               field: str) -> None:
    response = await rig.client.get("/_sim/pushes", params=params)
    assert response.status == 400
    assert (await response.json())["field"] == field


async def test_the_journal_is_bounded(sim: Any, rig: Rig) -> None:
    rig.sim.pushes.records = type(rig.sim.pushes.records)(maxlen=10)
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    await rig.advance(300)
    body = await (await rig.client.get("/_sim/pushes")).json()
    assert body["retained"] == len(body["items"]) == body["capacity"] == 10
    assert body["seq"] > 30


async def test_a_2xx_is_delivered_whatever_its_body_says(rig: Rig) -> None:
    """Only the HTTP status counts (FIDELITY.md, pushes): a body's own `code` is not read."""
    rig.receiver.answer = {"code": 500, "message": "could not process"}
    await one_alert(rig)
    [record] = attempts(rig)
    assert record["outcome"] == "delivered" and record["httpStatus"] == 200


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.integers(200, 599))  # a final answer (1xx are interim)
async def test_delivered_means_2xx_whatever_the_status(rig: Rig, status: int) -> None:
    rig.receiver.behaviour = answering(status)
    before = len(rig.sim.pushes.records)
    await one_alert(rig)
    record = rig.sim.pushes.select(since=rig.sim.pushes.seq - 1)[0]
    assert len(rig.sim.pushes.records) == before + 1
    assert record["outcome"] == ("delivered" if 200 <= status < 300 else "retry")
    row = rig.sim.fleet.index[EXAMPLE_IMEI]
    alerts.clear_alert(rig.sim.fleet, row, 1, rig.sim.clock.now, rig.sim.bus)
    await rig.settle()


async def test_settle_answers_once_every_due_push_has_been_attempted(rig: Rig) -> None:
    """POST /_sim/pushes/settle: what a test in any language waits on instead of polling."""
    release = asyncio.Event()
    rig.receiver.behaviour = held(release, 500)
    raise_one_alert(rig)
    await rig.receiver.wait_for(1)
    # Asked while the receiver still holds the push: the answer waits for its refusal.
    settling = asyncio.ensure_future(rig.client.post("/_sim/pushes/settle"))
    release.set()
    answer = await settling
    assert answer.status == 200
    body = await answer.json()
    # The refusal is on record and its retry scheduled (5 s on), not yet made.
    assert body["pending"] == 0 and body["counters"]["retry"] == 1
    assert [r["outcome"] for r in attempts(rig)] == ["retry"]


async def test_settle_gives_up_after_its_timeout_naming_it(rig: Rig) -> None:
    release = asyncio.Event()
    rig.receiver.behaviour = held(release, 200)
    raise_one_alert(rig)
    await rig.receiver.wait_for(1)
    answer = await rig.client.post("/_sim/pushes/settle?timeout=1")
    assert answer.status == 409
    body = await answer.json()
    assert body["field"] == "timeout" and "after 1 s" in body["error"]
    release.set()
    await rig.settle()
    bad = await rig.client.post("/_sim/pushes/settle?timeout=0")
    assert bad.status == 400 and (await bad.json())["field"] == "timeout"

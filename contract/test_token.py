"""POST /oauth/token and how the vendor surface treats tokens (read-only: safe live)."""

from __future__ import annotations

import time

import pytest

from simulator.contract import checks
from simulator.contract.drift import VALUE, check
from simulator.contract.surface import BY_NAME, QUERIES
from simulator.contract.target import NOBODY_IMEI, Target

BAD_CLIENT = {"error": "invalid_client", "error_description": "Bad client credentials"}
OVERLAP_S = 300  # both tokens work during the last 300 s of the old one
LIVE_WAIT_S = 2.5  # a real cloud's clock cannot be moved: the one wait of the suite


@pytest.mark.unvalidated
def test_token_answer_is_oauth2_client_credentials(target: Target) -> None:
    checks.token(target.token_request())


@pytest.mark.unvalidated
def test_asking_again_returns_the_same_token(target: Target) -> None:
    first, second = checks.token(target.token_request()), checks.token(target.token_request())
    check(first["access_token"] == second["access_token"], "token", "(body).access_token", VALUE,
          "the same token while it is valid", "a new one")
    check(second["expires_in"] <= first["expires_in"], "token", "(body).expires_in", VALUE,
          f"<= {first['expires_in']}", second["expires_in"])


@pytest.mark.unvalidated
def test_expires_in_counts_down_with_time(target: Target) -> None:
    """The same token, its lifetime shorter by the time between (not a constant, not reset)."""
    def clock() -> float:
        return float(target.control("GET", "/_sim/clock")["now"]) if target.mock else time.time()

    before_first = clock()
    first = checks.token(target.token_request())["expires_in"]
    after_first = clock()
    if target.mock:  # virtual time: no waiting
        target.control("POST", "/_sim/clock", {"advance": 100})
    else:
        time.sleep(LIVE_WAIT_S)
    before_second = clock()
    second = checks.token(target.token_request())["expires_in"]
    after_second = clock()
    # Whole seconds either side: a second of rounding on each reading.
    shortest, longest = before_second - after_first, after_second - before_first
    check(first - second >= 1, "token", "(body).expires_in", VALUE,
          f"counts down from {first}", f"{second} after {shortest:.1f} s")
    check(shortest - 2 <= first - second <= longest + 2, "token", "(body).expires_in", VALUE,
          f"{first} less {shortest:.0f}-{longest:.0f} s", second)


@pytest.mark.unvalidated
@pytest.mark.parametrize("who", ["wrong secret", "unknown client", "empty secret"])
def test_bad_client_credentials_get_401(target: Target, who: str) -> None:
    reply = {
        "wrong secret": lambda: target.token_request(client_secret="not-the-secret"),
        "unknown client": lambda: target.token_request(client_id="Z99999"),
        "empty secret": lambda: target.token_request(client_secret=""),
    }[who]()
    check(reply.status == 401, "token", "(HTTP status)", VALUE, 401, reply.status)
    checks.json_content(reply, "token")
    check(reply.body == BAD_CLIENT, "token", "(body)", VALUE, BAD_CLIENT, reply.body)


@pytest.mark.unvalidated
@pytest.mark.parametrize("scheme", ["bearer", "Bearer", "BEARER"])
def test_authorization_scheme_is_case_insensitive(target: Target, scheme: str) -> None:
    status = BY_NAME["status"]
    reply = target.get(status.path, {"iotCode": target.iot_code}, headers=target.auth(scheme))
    assert reply.code != 15101, reply


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", QUERIES, ids=lambda e: e.name)
@pytest.mark.parametrize("header", ["none", "unknown token", "basic scheme", "token only"])
def test_queries_without_a_valid_token_get_15101(target: Target, endpoint, header: str) -> None:
    headers = {
        "none": {},
        "unknown token": target.auth(token="00000000-0000-4000-8000-000000000000"),
        "basic scheme": {"Authorization": f"Basic {target.token()}"},
        "token only": {"Authorization": target.token()},
    }[header]
    reply = target.get(endpoint.path, {"iotCode": target.iot_code}, headers=headers)
    checks.error(reply, 15101, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("name", ["unlock", "sound", "setting/speed-mode"])
def test_commands_without_a_valid_token_get_15101(target: Target, name: str) -> None:
    # Nobody's vehicle and no valid token: nothing can move, even on a live target.
    endpoint = BY_NAME[name]
    reply = target.post(endpoint.path, {**endpoint.example, "iotCode": NOBODY_IMEI},
                        headers=target.auth(token="00000000-0000-4000-8000-000000000000"))
    checks.error(reply, 15101, endpoint)


@pytest.mark.mock_only
def test_a_token_expires_after_expires_in(target: Target) -> None:
    reply = target.token_request()
    token, lifetime = reply.body["access_token"], reply.body["expires_in"]
    target.control("POST", "/_sim/clock", {"advance": lifetime + 1})
    status = BY_NAME["status"]
    late = target.get(status.path, {"iotCode": target.iot_code}, headers=target.auth(token=token))
    checks.error(late, 15101, status)


@pytest.mark.mock_only
def test_old_and_new_token_both_work_in_the_last_300s(target: Target) -> None:
    first = target.token_request().body
    target.control("POST", "/_sim/clock", {"advance": first["expires_in"] - OVERLAP_S + 10})
    second = target.token_request().body
    assert second["access_token"] != first["access_token"], "a new token near expiry"
    assert second["expires_in"] > OVERLAP_S
    status = BY_NAME["status"]
    for token in (first["access_token"], second["access_token"]):
        reply = target.get(status.path, {"iotCode": target.iot_code},
                           headers=target.auth(token=token))
        checks.success(reply, status)
    # ... until the old one runs out.
    target.control("POST", "/_sim/clock", {"advance": OVERLAP_S})
    old = target.get(status.path, {"iotCode": target.iot_code},
                     headers=target.auth(token=first["access_token"]))
    checks.error(old, 15101, status)
    new = target.get(status.path, {"iotCode": target.iot_code},
                     headers=target.auth(token=second["access_token"]))
    checks.success(new, status)

"""Bearer tokens: made and hashed for the CLI, verified once and cached, revocation."""

from __future__ import annotations

import hashlib

from booking_core import operators
from booking_core.kernel.actor import Actor, Channel
from hospital_api import auth
from hospital_api.auth import Caller, TokenCache, bearer_token, hash_token, new_token
from tests.hospital_api.helpers import Api, hospital_with_session, make_root, revoke_all_tokens


def test_new_tokens_are_random_and_stored_as_sha256():
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert token.startswith("gh_")
    assert len(token) == 3 + 43
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()


def test_bearer_header_parsing():
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer") is None
    assert bearer_token(None) is None
    assert bearer_token("Bearer " + "x" * 600) is None


def caller(n: int) -> Caller:
    return Caller(n, f"t{n}", "his", 1, "H001", Actor("token", f"t{n}", 1, Channel.HIS))


def test_token_cache_expires_and_is_bounded():
    now = [0.0]
    cache = TokenCache(30, max_entries=2, clock=lambda: now[0])
    cache.put("a", caller(1))
    cache.put("b", caller(2))
    assert cache.get("a") == caller(1)
    cache.put("c", caller(3))  # "b" was used least recently
    assert cache.get("b") is None
    assert len(cache) == 2
    now[0] = 29.9
    assert cache.get("a") == caller(1)
    now[0] = 30.0
    assert cache.get("a") is None
    assert TokenCache(0).get("a") is None


async def test_a_token_is_read_once_then_cached(api, monkeypatch):
    token_reads = []
    real = operators.token_with_hospital

    def counted(tx, token_hash):
        token_reads.append(token_hash)
        return (yield from real(tx, token_hash))

    monkeypatch.setattr(auth.operators, "token_with_hospital", counted)
    admin = await api.token("admin")
    for _ in range(5):
        status, _ = await api.call("GET", "/rules", admin)
        assert status == 200
    assert len(token_reads) == 1


async def test_revoked_token_is_refused_once_the_cache_forgets_it(aiohttp_client, services):
    client = await aiohttp_client(make_root(services, [], token_cache_seconds=0))
    api = Api(client, services)
    admin = await api.token("admin")
    status, _ = await api.call("GET", "/rules", admin)
    assert status == 200
    await revoke_all_tokens(services)
    status, problem = await api.call("GET", "/rules", admin)
    assert status == 401
    assert problem["code"] == "unauthorized"


async def test_a_scoped_token_acts_as_its_hospital(api):
    await hospital_with_session(api.services, "H001")
    his = await api.token("his", "H001", name="HIS of H001")
    status, rules = await api.call("GET", "/rules", his)
    assert status == 200
    assert rules["hospital"] == "H001"
    status, _ = await api.call("GET", "/slots", his)
    assert status == 200
    platform = await api.token("admin")
    status, problem = await api.call("GET", "/slots", platform)
    assert status == 422
    assert problem["errors"][0]["field"] == "hospital"

"""Passwords: argon2id round trips, rehash flags, the dummy verification, bad input."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters

from mega import MegaError
from mega.plugins.auth import AuthSettings, Passwords, PasswordTooLong, Verification, passwords
from mega.testing import boot_app

from .conftest import FAST, config


class CountingHasher(PasswordHasher):
    """The real argon2 hasher, noting what it is asked to verify and on which thread."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.verified: list[str] = []
        self.threads: set[int] = set()

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        self.verified.append(hash.decode() if isinstance(hash, bytes) else hash)
        self.threads.add(threading.get_ident())
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.add(threading.get_ident())
        return super().hash(password, salt=salt)


def counting(settings: AuthSettings) -> CountingHasher:
    return CountingHasher(
        time_cost=settings.time_cost,
        memory_cost=settings.memory_cost,
        parallelism=settings.parallelism,
        hash_len=settings.hash_len,
        salt_len=settings.salt_len,
    )


async def started(settings: AuthSettings) -> tuple[Passwords, CountingHasher]:
    hasher = counting(settings)
    found = Passwords(settings, hasher)
    await found.start()
    return found, hasher


async def test_a_hash_verifies_its_password_and_nothing_else():
    async with boot_app(config(), environ={}) as app:
        hashed = await passwords(app).hash("tulip-garden-42")
        assert hashed.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
        assert await passwords(app).verify(hashed, "tulip-garden-42") == Verification(ok=True)
        assert await passwords(app).verify(hashed, "tulip-garden-43") == Verification(ok=False)
        # a fresh salt each time
        assert await passwords(app).hash("tulip-garden-42") != hashed
        assert app.ctx().auth.passwords is passwords(app.ctx())


async def test_a_hash_made_with_other_parameters_verifies_and_asks_for_a_rehash():
    async with boot_app(config(), environ={}) as app:
        old = await passwords(app).hash("tulip-garden-42")
    stronger = {"time_cost": 6, "memory_cost": 9216}
    async with boot_app(config(stronger), environ={}) as app:
        checked = await passwords(app).verify(old, "tulip-garden-42")
        assert checked == Verification(ok=True, needs_rehash=True)
        new = await passwords(app).hash("tulip-garden-42")
        assert extract_parameters(new).memory_cost == 9216
        assert await passwords(app).verify(new, "tulip-garden-42") == Verification(ok=True)
        assert passwords(app).needs_rehash(old) and not passwords(app).needs_rehash(new)
        # a wrong password never asks for a rehash (there is nothing to store)
        assert await passwords(app).verify(old, "wrong-password-1") == Verification(ok=False)


async def test_hashes_of_another_argon2_variant_ask_for_a_rehash():
    argon2i = PasswordHasher(**FAST, type=__import__("argon2").Type.I).hash("tulip-garden-42")
    found, _ = await started(AuthSettings(**FAST))
    assert await found.verify(argon2i, "tulip-garden-42") == Verification(True, True)


async def test_an_unknown_account_costs_a_verification_with_the_configured_parameters():
    settings = AuthSettings(**FAST)
    found, hasher = await started(settings)
    assert await found.verify(None, "whatever-they-typed") == Verification(ok=False)
    [dummy] = hasher.verified
    # the hasher did a real argon2id verification, against a hash as costly as a user's
    assert extract_parameters(dummy) == extract_parameters(await found.hash("x"))
    assert extract_parameters(dummy).memory_cost == settings.memory_cost
    await found.dummy_verify("something-else")
    assert hasher.verified == [dummy, dummy]


async def test_hashing_and_verifying_run_off_the_event_loop():
    found, hasher = await started(AuthSettings(**FAST))
    await found.verify(await found.hash("tulip-garden-42"), "tulip-garden-42")
    await found.verify(None, "x")
    assert hasher.threads and threading.get_ident() not in hasher.threads


async def test_a_damaged_stored_hash_matches_no_password_and_still_costs_a_verification():
    found, hasher = await started(AuthSettings(**FAST))
    assert await found.verify("not-a-hash", "tulip-garden-42") == Verification(ok=False)
    assert await found.verify("$argon2id$v=19$m=7168,t=5,p=1$broken", "x") == Verification(False)
    assert hasher.verified[-1] == hasher.verified[-3]  # the dummy, after the refused value
    assert found.needs_rehash("not-a-hash")


async def test_a_too_long_password_is_refused_before_hashing_with_a_clear_error():
    found, hasher = await started(AuthSettings(**FAST, max_password_length=64))
    with pytest.raises(PasswordTooLong) as refused:
        await found.hash("p" * 65)
    assert isinstance(refused.value, MegaError) and refused.value.http_status == 422
    assert refused.value.code == "auth.password_too_long"
    assert refused.value.details == {"field": "password", "length": 65, "max_length": 64}
    assert "max_password_length" in refused.value.message
    before = len(hasher.verified)
    assert await found.verify(await found.hash("p" * 64), "p" * 65) == Verification(ok=False)
    assert len(hasher.verified) == before  # no hashing spent on it


async def test_any_str_has_a_hash_even_a_lone_surrogate_from_json():
    found, _ = await started(AuthSettings(**FAST))
    odd = "pass\ud800word-1"
    hashed = await found.hash(odd)
    assert (await found.verify(hashed, odd)).ok
    assert not (await found.verify(hashed, "pass\ud801word-1")).ok


async def test_hashes_made_by_argon2_cffi_itself_verify_and_the_other_way_round():
    found, _ = await started(AuthSettings(**FAST))
    plain = PasswordHasher(**FAST)
    assert (await found.verify(plain.hash("한국어-password-1"), "한국어-password-1")).ok
    assert plain.verify(await found.hash("한국어-password-1"), "한국어-password-1")

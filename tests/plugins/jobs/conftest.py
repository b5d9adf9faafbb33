"""The job suite's fixtures: a real bus of each driver, unique subjects, a queue harness."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from mega.plugins.jobs import (
    Consumption,
    Job,
    JobQueue,
    LocalBus,
    LocalBusOptions,
    NatsBus,
    NatsOptions,
)
from mega.testing.services import require


async def wait_until(
    condition: Callable[[], Any], within: float = 10.0, step: float = 0.02
) -> None:
    """Wait for ``condition()`` to be true; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(step)


def make_job_class(base: type[Job], subject: str, **attrs: Any) -> type[Job]:
    """A concrete job class: ``base``'s ``run`` on ``subject``, with class attributes."""
    return type(base.__name__, (base,), {"subject": subject, **attrs})


async def make_bus(driver: str, tmp_path: Any) -> Any:
    if driver == "local":
        bus: Any = LocalBus(
            alias="default",
            options=LocalBusOptions(path=str(tmp_path / "jobs.sqlite3"), poll_ms=20),
        )
    else:
        host, port = require("nats")
        bus = NatsBus(
            alias="default",
            options=NatsOptions(
                servers=[f"nats://{host}:{port}"], stream_prefix=f"T{uuid.uuid4().hex[:8]}"
            ),
        )
    await bus.connect()
    return bus


@pytest.fixture
def until():
    """``await until(lambda: ..., within=10)``."""
    return wait_until


@pytest.fixture
def job_class():
    """``job_class(Base, subject, **attrs)``: a concrete job class on ``subject``."""
    return make_job_class


@pytest.fixture(params=["local", "nats"])
async def bus(request, tmp_path):
    """A connected bus of each driver; every stream made through ``subject`` is deleted after."""
    bus = await make_bus(request.param, tmp_path)
    bus.test_subjects = []
    yield bus
    for subject in bus.test_subjects:
        await bus.delete_streams(subject)
    await bus.close()


@pytest.fixture
def subject(bus):
    """``subject()``: a subject no other test uses (its streams are removed afterwards)."""

    def make() -> str:
        name = f"t{uuid.uuid4().hex[:10]}.work"
        bus.test_subjects.append(name)
        return name

    return make


class Harness:
    """A ``JobQueue`` on the test's bus, recording every event, with consumption helpers."""

    def __init__(self, bus: Any, **settings: Any) -> None:
        self.queue = JobQueue(bus, **settings)
        self.bus = bus
        self.events: list[Any] = []
        for name in self.queue.events.names:
            self.queue.events.on(name, self.events.append)
        self.consumptions: list[Consumption] = []

    def named(self, name: str, **match: Any) -> list[Any]:
        return [
            e
            for e in self.events
            if e.name == name and all(e.data.get(k) == v for k, v in match.items())
        ]

    async def consume(self, job: type[Job], concurrency: int | None = None) -> Consumption:
        consumption = await Consumption.start(
            self.queue, job, lambda delivery: delivery, concurrency=concurrency
        )
        self.consumptions.append(consumption)
        return consumption

    async def stop(self, deadline_s: float = 5.0) -> None:
        for consumption in self.consumptions:
            await consumption.stop(deadline_s=deadline_s)
        self.consumptions = []
        await self.queue.close()


@pytest.fixture
async def harness(bus):
    """``harness(**queue_settings)`` → a started ``Harness``; stopped after the test."""
    made: list[Harness] = []

    def make(**settings: Any) -> Harness:
        made.append(Harness(bus, **settings))
        return made[-1]

    yield make
    for h in made:
        await h.stop()

"""The jobs plugin inside an app: config, ctx.jobs, discovery, generators, the CLI."""

from __future__ import annotations

import json
import sys

import pytest

from mega import MegaConfigError
from mega.plugins.jobs import Job, JobPayloadError
from mega.testing import boot_app, run_job


def config(tmp_path, **jobs_settings):
    return {
        "app": {"plugins": ["jobs"], "name": "jobsapp"},
        "plugins": {"jobs": jobs_settings},
        "adapters": {
            "bus": {"default": {"driver": "local", "path": str(tmp_path / "jobs.sqlite3")}}
        },
    }


class Greet(Job):
    subject = "plugin.greet"
    retries = 0

    async def run(self, payload, ctx):
        return f"hello {payload['name']} from {ctx.subject} #{ctx.seq}"


async def test_enqueue_through_ctx_and_consume_in_the_app(tmp_path, until):
    async with boot_app(config(tmp_path), environ={}) as app:
        jobs = app.ctx().jobs
        jobs.add(Greet)
        done = []
        jobs.events.on("done", done.append)
        published = await app.ctx().jobs.enqueue(Greet, {"name": "ada"})
        assert published.stream == "MEGA_JOBS_PLUGIN_GREET" and not published.duplicate
        await jobs.start()
        await until(lambda: done)
        assert done[0].result == f"hello ada from plugin.greet #{published.seq}"
    assert jobs.consumptions == []  # shutdown stopped them


async def test_enqueue_refuses_a_payload_that_is_not_json(tmp_path):
    async with boot_app(config(tmp_path), environ={}) as app:
        with pytest.raises(JobPayloadError) as caught:
            await app.ctx().jobs.enqueue(Greet, {"when": object()})
        assert caught.value.code == "job.invalid_payload"
        assert "enqueue(Greet)" in caught.value.message
        with pytest.raises(JobPayloadError) as caught:
            await app.ctx().jobs.enqueue(Greet, {}, msg_id="")
        assert caught.value.code == "job.invalid_msg_id"


async def test_run_job_runs_in_process(tmp_path):
    async with boot_app(config(tmp_path), environ={}) as app:
        assert await run_job(app, Greet, {"name": "bo"}) == "hello bo from plugin.greet #0"


def test_heartbeat_not_below_ack_wait_fails_the_boot(tmp_path):
    with pytest.raises(MegaConfigError) as caught:
        from mega import App

        App.from_dict(config(tmp_path, ack_wait_ms=2000, heartbeat_ms=2000), environ={})
    assert "heartbeat_ms (2000) must be below ack_wait_ms (2000)" in str(caught.value)


@pytest.mark.parametrize("ack_wait_ms", [1, 1000])
async def test_ack_wait_too_short_for_the_default_heartbeat_fails_the_boot(tmp_path, ack_wait_ms):
    # it used to boot, then fail the first enqueue naming a heartbeat_ms nobody had set
    with pytest.raises(MegaConfigError) as caught:
        async with boot_app(config(tmp_path, ack_wait_ms=ack_wait_ms), environ={}):
            pass
    message = caught.value.message
    assert f"[plugins.jobs] ack_wait_ms ({ack_wait_ms}) must be above 1000" in message
    assert "or set heartbeat_ms below it" in message


async def test_a_short_ack_wait_boots_with_a_heartbeat_below_it(tmp_path):
    async with boot_app(config(tmp_path, ack_wait_ms=1000, heartbeat_ms=400), environ={}) as app:
        published = await app.ctx().jobs.enqueue(Greet, {"name": "cy"})
        assert published.seq >= 1


def test_ctx_jobs_without_the_plugin_says_how_to_enable_it():
    from mega import App

    app = App.from_dict({"app": {"plugins": []}}, environ={})
    with pytest.raises(MegaConfigError, match=r"ctx.jobs needs the 'jobs' plugin"):
        _ = app.ctx().jobs


@pytest.fixture
def job_project(tmp_path, monkeypatch):
    """A project root with apps/main/jobs/<file>.py; the modules are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    forget_apps()

    def write(source: str) -> None:
        (tmp_path / "apps" / "main" / "jobs").mkdir(parents=True, exist_ok=True)
        (tmp_path / "apps" / "__init__.py").write_text("")
        (tmp_path / "apps" / "main" / "__init__.py").write_text("")
        (tmp_path / "apps" / "main" / "jobs" / "mail.py").write_text(source)

    yield write
    forget_apps()


def forget_apps() -> None:
    for name in [m for m in sys.modules if m == "apps" or m.startswith("apps.")]:
        del sys.modules[name]


async def test_a_job_on_an_unconfigured_bus_fails_the_boot(tmp_path, job_project):
    job_project(
        "from mega.plugins.jobs import Job\n\n"
        "class Mail(Job):\n    subject = 'mail.send'\n    bus = 'events'\n"
    )
    with pytest.raises(MegaConfigError) as caught:
        async with boot_app(config(tmp_path), root=tmp_path, environ={}):
            pass
    assert caught.value.code == "job.unknown_bus"
    assert "[adapters.bus.events]" in caught.value.message


async def test_a_bad_job_declaration_fails_the_boot_naming_it(tmp_path, job_project):
    job_project(
        "from mega.plugins.jobs import Job\n\n"
        "class Mail(Job):\n    subject = 'mail.send'\n    concurrency = 0\n"
    )
    with pytest.raises(MegaConfigError) as caught:
        async with boot_app(config(tmp_path), root=tmp_path, environ={}):
            pass
    assert caught.value.code == "job.invalid_concurrency"
    assert "'Mail'" in caught.value.message


async def test_two_jobs_on_one_subject_are_refused(tmp_path):
    async with boot_app(config(tmp_path), environ={}) as app:
        jobs = app.ctx().jobs
        jobs.add(Greet)
        twin = type("Twin", (Job,), {"subject": Greet.subject})
        with pytest.raises(MegaConfigError) as caught:
            jobs.add(twin)
        assert caught.value.code == "job.duplicate_subject"


def test_generated_job_and_worker_and_their_tests_pass(project, enable, mega):
    enable("jobs", extra='\n[adapters.bus.default]\ndriver = "local"\n')
    out = mega("g", "job", "SendReceipt", cwd=project).stdout
    assert "created apps/main/jobs/send_receipt.py" in out
    assert "created tests/main/test_send_receipt_job.py" in out
    out = mega("g", "worker", "Checksum", cwd=project).stdout
    assert "created apps/main/workers/checksum.py" in out
    result = mega.pytest(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " failed" not in result.stdout and " skipped" not in result.stdout


def test_jobs_cli_status_and_dead_letters(project, enable, mega):
    enable("jobs", extra='\n[adapters.bus.default]\ndriver = "local"\n')
    mega("g", "job", "Charge", cwd=project)
    job = project / "apps" / "main" / "jobs" / "charge.py"
    job.write_text(
        job.read_text()
        .replace("retries = 3", "retries = 0")
        .replace('ctx.log.info("charge.run", payload=payload)', 'raise ValueError("card declined")')
    )
    (project / "enqueue.py").write_text(
        "import asyncio\nfrom mega.testing import boot_app\n"
        "from apps.main.jobs.charge import Charge\n\n"
        "async def main():\n"
        "    async with boot_app(root='.') as app:\n"
        "        jobs = app.ctx().jobs\n"
        "        await jobs.enqueue(Charge, {'cents': 500})\n"
        "        await jobs.start()\n"
        "        while (await jobs.queue().bus.stats(Charge.subject)).dlq_depth < 1:\n"
        "            await asyncio.sleep(0.05)\n\n"
        "asyncio.run(main())\n"
    )
    mega.python(project, "enqueue.py")
    status = json.loads(mega("jobs", "status", "--json", cwd=project).stdout)
    assert status == [
        {
            "job": "Charge",
            "bus": "default",
            "subject": "main.charge",
            "depth": 0,
            "pending": 0,
            "in_flight": 0,
            "redelivered": 0,
            "dlq_depth": 1,
        }
    ]
    listed = mega("jobs", "dlq", "list", "Charge", cwd=project).stdout
    assert "ValueError: card declined" in listed
    seq = listed.split()[0]
    shown = json.loads(mega("jobs", "dlq", "show", "main.charge", seq, cwd=project).stdout)
    assert shown["payload"] == {"cents": 500} and shown["original_subject"] == "main.charge"
    out = mega("jobs", "dlq", "replay", "Charge", "--all", cwd=project).stdout
    assert "replayed 1 dead letter(s)" in out
    status = json.loads(mega("jobs", "status", "--json", cwd=project).stdout)
    assert (status[0]["depth"], status[0]["dlq_depth"]) == (1, 0)
    missing = mega("jobs", "dlq", "show", "Charge", "999", cwd=project, ok=False)
    assert missing.returncode != 0 and "error[job.dead_letter_not_found]" in missing.stderr
    assert "Traceback" not in missing.stderr  # a nested group's command reports like the rest
    unknown = mega("jobs", "dlq", "list", "Nope", cwd=project, ok=False)
    assert "no job 'Nope'" in unknown.stderr and "Charge (main.charge)" in unknown.stderr


async def test_a_drain_longer_than_the_shutdown_deadline_fails_the_boot(tmp_path):
    cfg = config(tmp_path, drain_timeout_ms=12_000)
    cfg["app"]["shutdown_timeout_ms"] = 10_000
    with pytest.raises(MegaConfigError) as caught:
        async with boot_app(cfg, environ={}):
            pass
    assert caught.value.code == "jobs.drain_exceeds_shutdown"

"""A task really runs through a real Celery worker consuming from Redis, not in eager mode."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.result import AsyncResult, EagerResult
from django.conf import settings

from distributor.tasks import ping_task

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(settings):
    """Start ``celery worker`` in its own process on every project queue; stop it afterwards.

    The test settings run tasks inline; here they go through the broker, as with REDIS_URL in development.
    """
    from distributor.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "distributor",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            "ingest,billing,pdf,notify",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env={**os.environ},
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
    app.conf.task_always_eager = eager


@pytest.mark.redis
def test_a_task_round_trips_through_a_real_worker_on_redis(worker):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    assert settings.CELERY_BROKER_URL.startswith("redis")

    result = ping_task.apply_async(args=["hello"])

    assert isinstance(result, AsyncResult) and not isinstance(result, EagerResult)
    assert result.get(timeout=60) == "pong:hello"
    assert worker.poll() is None  # the answer came from the live worker process


def test_tasks_are_routed_to_their_queues():
    from distributor.celery import app

    router = app.amqp.router
    assert router.route({}, "distributor.tasks.ping_task")["queue"].name == "notify"
    assert router.route({}, "billing.usage.tasks.ingest_batch_task")["queue"].name == "ingest"
    assert router.route({}, "billing.documents.tasks.render_task")["queue"].name == "pdf"
    assert router.route({}, "distributor.tasks.clear_expired_sessions_task")["queue"].name == "billing"
    assert {q.name for q in app.conf.task_queues} == {"ingest", "billing", "pdf", "notify"}


def test_every_beat_entry_names_a_registered_task():
    from distributor.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)
    assert {
        "distributor.tasks.clear_expired_sessions_task",
        "billing.wallets.tasks.wallet_lots_expire_task",
        "billing.usage.tasks.usage_rerate_task",
        "billing.usage.tasks.usage_partitions_ensure_task",
    } <= scheduled


def test_a_worker_registers_every_task_the_project_defines():
    import re
    import subprocess

    defined = set()
    for path in ROOT.glob("**/tasks.py"):
        if ".venv" not in path.parts:
            defined |= set(re.findall(r'@shared_task\([^)]*name="([^"]+)"', path.read_text()))
    # A fresh process, as a worker starts: only autodiscovery imports the task modules.
    script = (
        "import django; django.setup(); from distributor.celery import app; "
        "app.loader.import_default_modules(); print('\\n'.join(app.tasks))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert defined and defined <= set(out.stdout.split()), defined - set(out.stdout.split())

"""The issue's case end to end: a real Celery worker's main process is killed (SIGKILL) in the middle of an
upload; the upload stops beating, the sweep queues it again, and a new worker finishes it from the saved
chunk: every event once, none twice, the counts those of the whole file."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from billing.usage.models import UsageBatch, UsageEvent, UsageUpload
from billing.usage.upload_queue import uploads_resume_due, usage_upload_queue
from distributor.celery import app
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import event

ROOT = Path(__file__).resolve().parents[3]
EVENTS = 60_000  # a first chunk of 10,000, then one of 50,000 that takes seconds: time to kill mid-way


def worker_start(media: Path) -> subprocess.Popen:
    """A worker as in production (its own settings, not the tests'), on this test's database and media."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "distributor.settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "MEDIA_ROOT": str(media),
    }
    command = [sys.executable, "-m", "celery", "-A", "distributor", "worker", "--pool=solo", "-Q", "ingest"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def real_queue(settings):
    """Tasks go through Redis (this test's database of it), not inline; what is left there is removed."""
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield
    app.conf.task_always_eager = eager
    # The killed worker's task stays in the broker's unacknowledged set; no later worker must get it.
    redis.Redis.from_url(settings.REDIS_URL).delete("unacked", "unacked_index", "ingest")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_upload_whose_worker_was_killed_is_finished_by_the_sweep_and_a_new_worker(
    source, prepaid, settings, tmp_path, real_queue
):
    settings.MEDIA_ROOT = tmp_path
    top_up(prepaid, Decimal("1000"))
    data = "\n".join(json.dumps(event(f"k{i}")) for i in range(EVENTS)).encode()
    upload = UsageUpload.objects.create(
        source=source, fmt="generic", file=SimpleUploadedFile("u.ndjson", data), size_bytes=len(data)
    )
    first = worker_start(tmp_path)
    second = None
    try:
        assert usage_upload_queue(upload_id=upload.pk)
        saved = wait_for(
            lambda: UsageUpload.objects.filter(pk=upload.pk, accepted__gt=0).first(), 120, "the first chunk"
        )
        first.send_signal(signal.SIGKILL)  # the main process: nothing acknowledges or requeues the task
        first.wait(timeout=30)

        assert saved.state == UsageUpload.State.RUNNING and 0 < saved.accepted < EVENTS
        # Three minutes without a heartbeat pass (not waited for here): the upload is stalled.
        UsageUpload.objects.filter(pk=upload.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=4))
        assert UsageUpload.objects.get(pk=upload.pk).stalled
        assert uploads_resume_due() == 1

        second = worker_start(tmp_path)
        done = wait_for(
            lambda: UsageUpload.objects.filter(pk=upload.pk, state=UsageUpload.State.DONE).first(),
            180,
            "the resumed upload to finish",
        )
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)

    assert (done.accepted, done.duplicates, done.rejected, done.percent) == (EVENTS, 0, 0, 100)
    assert UsageEvent.objects.count() == EVENTS
    keys = UsageBatch.objects.filter(idempotency_key__startswith=f"upload:{upload.pk}:")
    assert sorted(keys.values_list("idempotency_key", flat=True)) == [
        f"upload:{upload.pk}:bulk:0",
        f"upload:{upload.pk}:bulk:1",
    ]

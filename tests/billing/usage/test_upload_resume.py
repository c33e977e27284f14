"""A killed worker's upload resumes in minutes: a running upload without a heartbeat is shown stalled with a
Resume button (staff who may upload), the sweep queues it again by itself, one run at a time holds an
upload, and an upload the task queue cannot take says so at once and is queued once the queue is back."""

import json
import time
from datetime import timedelta

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import StaffRole
from billing.usage.models import UsageBatch, UsageEvent, UsageUpload
from billing.usage.resume_tasks import usage_uploads_resume_task
from billing.usage.selectors import uploads_resumable
from billing.usage.tasks import usage_upload_process_task
from billing.usage.upload_queue import uploads_resume_due
from billing.usage.uploads import _UPLOAD_LOCK_NAMESPACE, usage_upload_process
from distributor.celery import app
from distributor.free_port import free_port
from tests.billing.factories import staff
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import event

pytestmark = pytest.mark.django_db

UNREACHABLE = "task queue is unreachable"


def body(n: int) -> bytes:
    return "\n".join(json.dumps(event(f"r{i}")) for i in range(n)).encode()


def upload_make(source, data: bytes = b"{}", **fields) -> UsageUpload:
    return UsageUpload.objects.create(
        source=source,
        fmt="generic",
        file=SimpleUploadedFile("u.ndjson", data),
        size_bytes=len(data),
        **fields,
    )


def minutes_ago(n: float):
    return timezone.now() - timedelta(minutes=n)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def funded(prepaid):
    from decimal import Decimal

    top_up(prepaid, Decimal("100"))


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 3 events: the first of the bulk path (PostgreSQL; the rest are the usual 100,000), and
    every batch of the other path (SQLite)."""
    monkeypatch.setattr("billing.usage.bulk.producer.FIRST_CHUNK", 3)
    monkeypatch.setattr("billing.usage.files.FILE_BATCH", 3)


def _pool_reset():
    # The app keeps the connection pool of the broker it first published to: forget it (kombu keeps each
    # broker's pool open, for the next time), so the next publish connects to ``broker_url`` as it is now.
    app._pool = None
    app.amqp._producer_pool = None


class Broker:
    """The Celery app publishing to a port where nothing listens (Redis down), not inline; ``back()``
    brings the queue back (inline, as the test settings run tasks)."""

    def __init__(self):
        self.saved = (app.conf.broker_url, app.conf.task_always_eager)
        app.conf.broker_url = f"redis://127.0.0.1:{free_port('127.0.0.1', 16390)}/0"
        app.conf.task_always_eager = False
        _pool_reset()

    def back(self):
        app.conf.broker_url, app.conf.task_always_eager = self.saved
        _pool_reset()


@pytest.fixture
def dead_broker():
    broker = Broker()
    yield broker
    broker.back()


def test_stalled_means_running_with_no_heartbeat_for_three_minutes(source, media):
    stalled = upload_make(source, state=UsageUpload.State.RUNNING, heartbeat_at=minutes_ago(4))
    never_beat = upload_make(source, state=UsageUpload.State.RUNNING, heartbeat_at=None)
    alive = upload_make(source, state=UsageUpload.State.RUNNING, heartbeat_at=minutes_ago(1))
    unqueued = upload_make(source, state=UsageUpload.State.UNQUEUED)
    waiting = upload_make(source, state=UsageUpload.State.PENDING, heartbeat_at=minutes_ago(60))
    done = upload_make(source, state=UsageUpload.State.DONE, heartbeat_at=minutes_ago(60))

    assert [u.stalled for u in (stalled, never_beat, alive, unqueued, waiting, done)] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    assert set(uploads_resumable()) == {stalled, never_beat, unqueued}


def test_pages_show_a_stalled_upload_with_resume_only_to_staff_who_may_upload(client, source, media):
    upload = upload_make(source, state=UsageUpload.State.RUNNING, heartbeat_at=minutes_ago(10))
    resume = reverse("staff-usage-upload-resume", args=[upload.pk])

    client.force_login(staff(StaffRole.FINANCE))
    listing = client.get(reverse("staff-usage-uploads")).content.decode()
    detail = client.get(reverse("staff-usage-upload", args=[upload.pk])).content.decode()
    assert 'data-testid="upload-stalled">Stalled' in listing and resume in listing
    # The real silence (10 minutes), not the 3-minute threshold that made it stalled.
    assert "No progress for 10\xa0minutes" in detail and resume in detail
    assert 'hx-trigger="every 1s"' in detail  # still polled: the page turns back to running once resumed
    with translation.override("zh-hans"):
        chinese = client.get(reverse("staff-usage-upload", args=[upload.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = chinese.content.decode()
    assert (
        "已停滞" in html and "继续处理" in html and "已 10\xa0分钟没有进展" in html and "Stalled" not in html
    )

    client.force_login(staff(StaffRole.SALES))
    listing = client.get(reverse("staff-usage-uploads")).content.decode()
    detail = client.get(reverse("staff-usage-upload", args=[upload.pk])).content.decode()
    assert "Stalled" in listing and "Stalled" in detail
    assert resume not in listing and resume not in detail


def test_resume_is_refused_to_sales_auditors_and_a_get(client, source, media):
    upload = upload_make(source, body(2), state=UsageUpload.State.RUNNING, heartbeat_at=minutes_ago(10))
    resume = reverse("staff-usage-upload-resume", args=[upload.pk])

    for role in (StaffRole.SALES, StaffRole.AUDITOR):
        client.force_login(staff(role))
        assert client.post(resume).status_code == 403
    client.force_login(staff(StaffRole.FINANCE))
    assert client.get(resume).status_code == 405
    client.logout()
    assert client.post(resume).status_code == 302  # to sign in

    upload.refresh_from_db()
    assert upload.state == UsageUpload.State.RUNNING and upload.heartbeat_at < minutes_ago(9)
    assert not UsageEvent.objects.exists()


def test_resume_goes_on_from_the_saved_chunk_and_the_counts_never_go_back(
    client, source, funded, media, small_chunks, eager_celery
):
    upload = upload_make(source, body(6))
    paused = usage_upload_process(upload_id=upload.pk, budget=0)  # stops after the first chunk of 3
    assert (paused.state, paused.accepted, paused.heartbeat_at is not None) == ("running", 3, True)
    read_before = paused.processed_bytes

    # The first chunk is replayed, not written again: what the page shows stays, it does not restart at 0.
    replayed = usage_upload_process(upload_id=upload.pk, budget=0)
    assert (replayed.state, replayed.accepted, replayed.processed_bytes) == ("running", 3, read_before)

    # Its worker dies: no heartbeat since; staff resume it from the page.
    UsageUpload.objects.filter(pk=upload.pk).update(heartbeat_at=minutes_ago(5))
    client.force_login(staff(StaffRole.SUPPORT))
    response = client.post(reverse("staff-usage-upload-resume", args=[upload.pk]), follow=True)

    upload.refresh_from_db()
    assert response.status_code == 200 and "goes on from where it stopped" in response.content.decode()
    assert (upload.state, upload.accepted, upload.duplicates, upload.percent) == ("done", 6, 0, 100)
    assert UsageEvent.objects.count() == 6
    assert UsageBatch.objects.filter(idempotency_key__startswith=f"upload:{upload.pk}:").count() == 2


def test_resuming_an_upload_that_is_alive_queues_nothing(client, source, media, eager_celery):
    upload = upload_make(source, body(2), state=UsageUpload.State.RUNNING, heartbeat_at=minutes_ago(1))
    client.force_login(staff(StaffRole.ADMIN))

    response = client.post(reverse("staff-usage-upload-resume", args=[upload.pk]), follow=True)

    assert "not stalled" in response.content.decode()
    upload.refresh_from_db()
    assert upload.state == UsageUpload.State.RUNNING and not UsageEvent.objects.exists()


@pytest.mark.postgres  # the lock is PostgreSQL's; on SQLite (one writer at a time) nothing else can run it
def test_a_second_run_exits_while_another_holds_the_upload(source, funded, media, eager_celery):
    upload = upload_make(source, body(2))
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:  # another worker's session
        other.execute("SELECT pg_advisory_lock(%s, %s)", [_UPLOAD_LOCK_NAMESPACE, upload.pk])

        assert usage_upload_process_task.apply(args=[upload.pk]).get() == "busy"
        upload.refresh_from_db()
        assert upload.state == UsageUpload.State.PENDING and not UsageEvent.objects.exists()

        other.execute("SELECT pg_advisory_unlock(%s, %s)", [_UPLOAD_LOCK_NAMESPACE, upload.pk])
    assert usage_upload_process_task.apply(args=[upload.pk]).get() == "done"
    assert UsageEvent.objects.count() == 2


def test_an_upload_the_task_queue_cannot_take_says_so_at_once(
    client, source, media, dead_broker, django_capture_on_commit_callbacks
):
    client.force_login(staff(StaffRole.FINANCE))
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("staff-usage-upload-create"),
            {"source": source.pk, "fmt": "generic", "file": SimpleUploadedFile("u.ndjson", body(2))},
        )
    elapsed = time.monotonic() - started

    upload = UsageUpload.objects.get()
    assert response.status_code == 302 and elapsed < 3, elapsed
    assert upload.state == UsageUpload.State.UNQUEUED and upload.file.read() == body(2)
    detail = client.get(reverse("staff-usage-upload", args=[upload.pk])).content.decode()
    assert 'data-testid="upload-unqueued">Not queued' in detail and UNREACHABLE in detail
    assert reverse("staff-usage-upload-resume", args=[upload.pk]) in detail
    with translation.override("zh-hans"):
        chinese = client.get(reverse("staff-usage-upload", args=[upload.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "未排队" in chinese.content.decode() and "任务队列无法连接" in chinese.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_upload_form_answers_at_once_that_the_queue_is_down(client, source, media, dead_broker):
    client.force_login(staff(StaffRole.SUPPORT))

    response = client.post(
        reverse("staff-usage-upload-create"),
        {"source": source.pk, "fmt": "generic", "file": SimpleUploadedFile("u.ndjson", body(1))},
        follow=True,
    )

    html = response.content.decode()
    assert response.status_code == 200 and "File received, but the task queue is unreachable" in html
    assert UsageUpload.objects.get().state == UsageUpload.State.UNQUEUED


def test_resume_with_the_queue_down_says_so_and_the_sweep_queues_it_once_back(
    client, source, funded, media, dead_broker
):
    stalled = upload_make(source, body(2), state=UsageUpload.State.RUNNING, heartbeat_at=minutes_ago(5))
    unqueued = upload_make(source, body(1).replace(b"r0", b"s0"), state=UsageUpload.State.UNQUEUED)
    client.force_login(staff(StaffRole.FINANCE))

    response = client.post(reverse("staff-usage-upload-resume", args=[stalled.pk]), follow=True)

    assert response.status_code == 200 and "could not be queued" in response.content.decode()
    stalled.refresh_from_db()
    assert stalled.state == UsageUpload.State.UNQUEUED
    assert uploads_resume_due() == 0  # still down: nothing queued, nothing lost

    dead_broker.back()
    assert usage_uploads_resume_task.apply().get() == 2

    assert set(UsageUpload.objects.values_list("state", "accepted")) == {("done", 2), ("done", 1)}
    assert unqueued.pk in UsageUpload.objects.filter(state="done").values_list("pk", flat=True)


def test_a_run_whose_time_is_up_queues_the_rest(
    source, funded, media, small_chunks, dead_broker, monkeypatch
):
    """A queued run (not inline) stops after its time budget and queues the rest; here the queue is down,
    so the upload is marked not queued, and the sweep finishes it once the queue is back."""
    monkeypatch.setattr("billing.usage.tasks.UPLOAD_RUN_SECONDS", 0)
    upload = upload_make(source, body(6))

    assert usage_upload_process_task(upload.pk) == "running"  # called as a worker calls it: not eager

    upload.refresh_from_db()
    assert (upload.state, upload.accepted) == ("unqueued", 3)
    dead_broker.back()
    assert uploads_resume_due() == 1
    upload.refresh_from_db()
    assert (upload.state, upload.accepted, upload.duplicates) == ("done", 6, 0)

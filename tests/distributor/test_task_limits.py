"""Celery's reliability settings, read from the app as a worker sees them: a task whose worker died is
handed to another within minutes (the broker's visibility timeout), never while it may still be running
(every task has a hard time limit below that timeout), and only tasks safe to run twice are acknowledged
late."""

from datetime import timedelta

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from billing.usage.models import UPLOAD_STALLED_AFTER
from billing.usage.uploads import UPLOAD_RUN_SECONDS
from distributor import task_limits
from distributor.celery import app

HOUR = 3600


def registered_tasks() -> dict:
    app.loader.import_default_modules()
    return dict(app.tasks)


def longest_countdown(task) -> float:
    """The longest a task waits for a retry (held unacknowledged by a worker meanwhile)."""
    if not getattr(task, "autoretry_for", ()):
        return task.default_retry_delay if task.max_retries else 0
    backoff = getattr(task, "retry_backoff", False)  # set by the decorator only when given
    if backoff:
        factor = 1 if backoff is True else backoff
        return get_exponential_backoff_interval(
            factor, task.max_retries - 1, task.retry_backoff_max, full_jitter=False
        )
    return task.default_retry_delay


def test_the_visibility_timeout_is_minutes_and_longer_than_any_task_may_run():
    timeout = app.conf.broker_transport_options["visibility_timeout"]
    tasks = registered_tasks()

    assert 5 * 60 <= timeout < HOUR / 2, timeout
    assert len(tasks) > 40
    for name, task in tasks.items():
        assert task.time_limit and task.soft_time_limit, f"{name} has no time limit"
        assert task.soft_time_limit < task.time_limit < timeout, name
        assert longest_countdown(task) < timeout, name


def test_limits_follow_each_queues_work():
    tasks = registered_tasks()
    upload = tasks["billing.usage.tasks.usage_upload_process_task"]
    close = tasks["billing.invoicing.tasks.period_close_task"]
    webhook = tasks["billing.wallets.tasks.notify_wallet_webhook_task"]
    dunning = tasks["billing.dunning.tasks.dunning_run_task"]

    # An upload's run stops after its budget, with room for the chunk under way, before the soft limit.
    assert upload.soft_time_limit >= UPLOAD_RUN_SECONDS + 60
    assert (upload.soft_time_limit, upload.time_limit) == task_limits.QUEUE_LIMITS["ingest"]
    assert close.time_limit >= 10 * 60  # ten times the close bench's target for 10,000 customers
    assert webhook.time_limit <= 5 * 60
    assert dunning.time_limit == close.time_limit  # on the notify queue, but a sweep of every customer
    # A running upload beats at least once a chunk; stalled means several chunks' time without one.
    assert timedelta(minutes=3) <= UPLOAD_STALLED_AFTER


def test_only_tasks_safe_to_run_twice_are_acknowledged_late():
    tasks = registered_tasks()
    early = {name for name, task in tasks.items() if not task.acks_late}

    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert early == task_limits.AT_MOST_ONCE
    assert {name for name in tasks if "email" in name} <= early  # a second run mails the customer again
    for name in (
        "billing.usage.tasks.usage_upload_process_task",  # idempotency keys, one run at a time
        "billing.usage.resume_tasks.usage_uploads_resume_task",
        "billing.invoicing.tasks.period_close_task",
        "billing.wallets.tasks.notify_wallet_webhook_task",  # the same event id: the receiver drops repeats
    ):
        assert tasks[name].acks_late, name


def test_stalled_uploads_are_swept_every_few_minutes_off_the_ingest_queue():
    entry = settings.CELERY_BEAT_SCHEDULE["usage-uploads-resume"]
    route = app.amqp.router.route({}, entry["task"])

    assert entry["task"] in registered_tasks()
    assert entry["schedule"] <= 5 * 60
    assert route["queue"].name == "billing"

"""The outbox (``common.outbox``): a task the broker could not take is kept, and drained once it is back."""

import pytest
from celery import shared_task
from celery.signals import worker_ready
from django.db import connections, transaction

from common.models import OutboxTask
from common.outbox import (
    _DRAIN_LOCK,
    DRAIN_BATCH,
    outbox_drain,
    outbox_unsent_count,
    task_queue_on_commit,
    task_queue_or_keep,
)
from common.tasks import outbox_drain_task
from tests.common.redis_down import broker_back, broker_down  # noqa: F401

pytestmark = pytest.mark.django_db

RAN: list[tuple] = []


@shared_task(name="tests.common.test_outbox.record_task")
def record_task(number: int, *, label: str) -> None:
    RAN.append((number, label))


@pytest.fixture(autouse=True)
def _ran():
    RAN.clear()
    yield
    RAN.clear()


def test_with_the_broker_down_the_task_is_kept_with_its_arguments_and_why(broker_down):  # noqa: F811
    kept = task_queue_or_keep(record_task, 1, label="one")

    assert RAN == []
    row = OutboxTask.objects.get()
    assert row == kept
    assert (row.task, row.args, row.kwargs) == ("tests.common.test_outbox.record_task", [1], {"label": "one"})
    assert row.attempts == 1 and row.last_error and row.sent_at is None
    assert outbox_unsent_count() == 1


def test_a_drain_while_the_broker_is_still_down_sends_nothing_and_counts_the_attempt(broker_down):  # noqa: F811
    task_queue_or_keep(record_task, 1, label="one")
    task_queue_or_keep(record_task, 2, label="two")

    drained = outbox_drain()

    assert (drained.sent, drained.kept) == (0, 2)
    first, second = OutboxTask.objects.order_by("pk")
    # It stops at the first failure: the broker is down for the second one too. The second was kept behind
    # the first without trying the broker (its drain waits for a commit this test never makes).
    assert (first.attempts, second.attempts) == (2, 0)
    assert RAN == []


def test_once_the_broker_is_back_the_drain_sends_in_order_and_only_once(broker_down):  # noqa: F811
    for number in (1, 2, 3):
        task_queue_or_keep(record_task, number, label=str(number))
    broker_back(broker_down)

    drained = outbox_drain()
    again = outbox_drain()

    assert RAN == [(1, "1"), (2, "2"), (3, "3")]
    assert (drained.sent, drained.kept) == (3, 0)
    assert (again.sent, again.kept) == (0, 0)
    assert not OutboxTask.objects.filter(sent_at__isnull=True).exists()
    assert OutboxTask.objects.count() == 3  # kept as the record of the outage


def test_a_task_no_longer_registered_stays_unsent_and_does_not_hold_back_the_others(broker_down):  # noqa: F811
    OutboxTask.objects.create(task="tests.gone_task", args=[], kwargs={})
    task_queue_or_keep(record_task, 1, label="after")
    broker_back(broker_down)

    drained = outbox_drain()

    assert RAN == [(1, "after")]
    assert (drained.sent, drained.kept) == (1, 1)
    gone = OutboxTask.objects.get(task="tests.gone_task")
    assert gone.sent_at is None and "not registered" in gone.last_error and gone.attempts == 1


def test_on_commit_it_is_kept_after_the_commit_and_never_on_rollback(
    broker_down,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        task_queue_on_commit(record_task, 1, label="committed")
    with pytest.raises(RuntimeError), transaction.atomic():
        task_queue_on_commit(record_task, 2, label="rolled back")
        raise RuntimeError("roll back")

    assert list(OutboxTask.objects.values_list("args", flat=True)) == [[1]]


def test_eager_without_a_broker_the_task_runs_inline_and_nothing_is_kept(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        task_queue_on_commit(record_task, 1, label="inline")

    assert RAN == [(1, "inline")]
    assert not OutboxTask.objects.exists()


def test_the_beat_task_and_a_starting_worker_drain_it(broker_down):  # noqa: F811
    task_queue_or_keep(record_task, 1, label="beat")
    broker_back(broker_down)
    assert outbox_drain_task.apply().get() == 1

    task_queue_or_keep(record_task, 2, label="worker start")
    worker_ready.send(sender=None)

    assert RAN == [(1, "beat"), (2, "worker start")]
    assert outbox_unsent_count() == 0


def test_the_drain_runs_every_minute_from_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["outbox-drain"]
    assert entry == {"task": "common.tasks.outbox_drain_task", "schedule": 60}


def test_a_new_task_waits_behind_the_kept_ones_and_goes_right_after_them(
    broker_down,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    task_queue_or_keep(record_task, 1, label="kept")
    broker_back(broker_down)

    # The broker answers again before the next drain: the new task must not overtake the kept one.
    with django_capture_on_commit_callbacks(execute=True):
        task_queue_or_keep(record_task, 2, label="new")

    assert RAN == [(1, "kept"), (2, "new")]
    assert outbox_unsent_count() == 0 and OutboxTask.objects.count() == 2


def test_while_the_broker_is_still_down_a_new_task_is_kept_behind_the_others_in_order(
    broker_down,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    task_queue_or_keep(record_task, 1, label="first")
    with django_capture_on_commit_callbacks(execute=True):
        kept = task_queue_or_keep(record_task, 2, label="second")

    assert kept is not None and kept.sent_at is None
    first, second = OutboxTask.objects.order_by("pk")
    # The drain tried after commit failed on the oldest and left the new one untouched behind it.
    assert (first.attempts, second.attempts) == (2, 0) and RAN == []

    broker_back(broker_down)
    assert outbox_drain().sent == 2
    assert RAN == [(1, "first"), (2, "second")]


def test_a_row_naming_a_task_no_longer_registered_does_not_send_new_tasks_through_the_outbox(
    django_capture_on_commit_callbacks,
):
    OutboxTask.objects.create(task="tests.gone_task", args=[], kwargs={})

    with django_capture_on_commit_callbacks(execute=True):
        assert task_queue_or_keep(record_task, 1, label="direct") is None

    assert RAN == [(1, "direct")]
    assert OutboxTask.objects.get().attempts == 0  # no drain was started for it


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_drain_never_sends_a_newer_row_while_another_drain_is_sending_an_older_one(broker_down):  # noqa: F811
    task_queue_or_keep(record_task, 1, label="older")
    task_queue_or_keep(record_task, 2, label="newer")
    older = OutboxTask.objects.order_by("pk").first()
    broker_back(broker_down)
    # Another process's drain, in the middle of sending the older row: it holds the drain lock and the row.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", _DRAIN_LOCK)
            cursor.execute("SELECT id FROM common_outboxtask WHERE id = %s FOR UPDATE", [older.pk])

            drained = outbox_drain()

            cursor.execute("ROLLBACK")
    finally:
        other.close()

    assert drained.sent == 0 and RAN == []  # left to the other drain, not sent out of order
    assert outbox_drain().sent == 2
    assert RAN == [(1, "older"), (2, "newer")]


def test_a_kept_task_its_task_refuses_is_set_aside_and_holds_nothing_back(
    broker_down,  # noqa: F811
    django_capture_on_commit_callbacks,
    caplog,
):
    """Kept under arguments its task no longer takes (a deploy changed it): Celery refuses it before it
    reaches the broker. It is set aside, not tried by every drain forever with everything new behind it."""
    OutboxTask.objects.create(task=record_task.name, args=[1], kwargs={"old_name": "x"})

    drained = outbox_drain()

    row = OutboxTask.objects.get()
    assert row.refused_at is not None and row.sent_at is None and "TypeError" in row.last_error
    assert (drained.sent, drained.kept) == (0, 0) and outbox_unsent_count() == 0
    assert "cannot be queued as kept" in caplog.text
    # The broker is back: a new task goes out at once, not behind the refused one.
    broker_back(broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        assert task_queue_or_keep(record_task, 2, label="new") is None
    assert RAN == [(2, "new")] and OutboxTask.objects.count() == 1


def test_the_request_that_keeps_a_task_behind_a_backlog_sends_one_batch_and_leaves_the_rest_to_beat(
    broker_down,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    for number in range(DRAIN_BATCH + 5):
        OutboxTask.objects.create(task=record_task.name, args=[number], kwargs={"label": "kept"})
    broker_back(broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        task_queue_or_keep(record_task, -1, label="new")

    assert [(number, "kept") for number in range(DRAIN_BATCH)] == RAN
    assert outbox_unsent_count() == 6
    assert outbox_drain().sent == 6
    assert RAN[-6:] == [*((n, "kept") for n in range(DRAIN_BATCH, DRAIN_BATCH + 5)), (-1, "new")]

"""Staff uploads, processed: the Celery task streams a stored file through the pipeline with progress
(``actions.usage_upload_create`` stores it, ``upload_queue`` queues the task and resumes stalled runs)."""

import io
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, connection
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from billing.usage.files import UnreadableFile, file_ingest, records_iter
from billing.usage.models import UsageUpload
from billing.usage.row_errors import upload_errors
from common.stored_text import stored_render
from common.task_queue import QueueUnavailable, task_queue

logger = logging.getLogger(__name__)

# A queued run works this long, then stops after the chunk under way and queues the rest as a new task: any
# file fits the ingest queue's time limits (soft 8 min, distributor/task_limits.py), with room for a slow
# chunk (≤ 30 s for 100,000 events on a loaded machine, docs/usage.md) after the time is up.
UPLOAD_RUN_SECONDS = 4 * 60
# Namespace of the PostgreSQL advisory locks that let one run at a time process an upload (key: its id).
_UPLOAD_LOCK_NAMESPACE = 0x55504C44  # "UPLD"


class _CountingReader(io.RawIOBase):
    """Wraps a binary file to count bytes read, for the progress bar."""

    def __init__(self, raw):
        super().__init__()
        self.raw = raw
        self.count = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self.raw.readinto(buffer)
        self.count += n or 0
        return n


class _Paused(Exception):
    """The run's time budget is spent: stop after the chunk just saved, the next run goes on from there."""


@contextmanager
def _upload_lock(upload_id: int) -> Iterator[bool]:
    """Try to take the upload's advisory lock for this database session; yield whether it was taken.

    A session lock, not a transaction's: the run commits chunk after chunk while holding it. A worker that
    dies closes its session, which releases the lock. Without PostgreSQL (the embedded mode, tasks inline)
    nothing else can run the upload at the same time.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_UPLOAD_LOCK_NAMESPACE, upload_id])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            _upload_unlock(upload_id)


def _upload_unlock(upload_id: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_UPLOAD_LOCK_NAMESPACE, upload_id])
    except DatabaseError:
        # The session broke mid-run (a time limit struck inside a query): closing it releases the lock.
        connection.close()


def usage_upload_process(*, upload_id: int, budget: float | None = None) -> UsageUpload | None:
    """Ingest an upload in batches, saving progress after each; a re-run replays finished batches.

    One run at a time: None when another run holds the upload (a redelivered or resumed task while the
    first still works), which then changes nothing. ``budget``: seconds after which the run stops at the
    next chunk boundary and returns the upload still *running*, for the caller to queue the rest (None:
    to the end).

    A file that cannot be read at all (UTF-16, a zip) ends the upload *failed* with the reason shown to
    staff; rows that cannot be read are reported with the other bad rows. Any other failure is raised
    too (the task is retried, or its error logged)."""
    with _upload_lock(upload_id) as held:
        if not held:
            return None
        return _process(UsageUpload.objects.get(pk=upload_id), budget)


def _process(upload: UsageUpload, budget: float | None) -> UsageUpload:
    if upload.state == UsageUpload.State.DONE:
        return upload
    UsageUpload.objects.filter(pk=upload.pk).update(
        state=UsageUpload.State.RUNNING, heartbeat_at=timezone.now()
    )
    deadline = None if budget is None else time.monotonic() + budget
    try:
        with upload.file.open("rb") as handle:
            reader = _CountingReader(handle)

            def progress(_n, total):
                # Also the heartbeat. After a resume the first chunks are replayed (read again, written
                # never): the bar keeps what it showed until the reading passes it, and the counts until
                # a chunk is written, from when they are the whole file's so far again.
                fields = {
                    "state": UsageUpload.State.RUNNING,
                    "heartbeat_at": timezone.now(),
                    "processed_bytes": Greatest(F("processed_bytes"), reader.count),
                }
                if not total.replayed:
                    fields.update(_counts(total))
                UsageUpload.objects.filter(pk=upload.pk).update(**fields)
                if deadline is not None and time.monotonic() >= deadline:
                    raise _Paused

            total = file_ingest(
                source=upload.source,
                records=records_iter(reader),
                fmt=upload.fmt,
                key_prefix=f"upload:{upload.pk}",
                progress=progress,
                # Parse and write in this process: the task may run eagerly inside a web server (no Redis),
                # which must not fork, and the progress bar counts the bytes this process reads.
                parallel=False,
            )
    except _Paused:
        upload.refresh_from_db()
        return upload
    except UnreadableFile as exc:
        return _failed(upload, stored_render(exc.stored, language="en"), exc.stored)
    except SoftTimeLimitExceeded:
        # Not the upload's fault: it stays running, stops beating, and is resumed as stalled.
        raise
    except Exception as exc:
        _failed(upload, str(exc))
        raise
    UsageUpload.objects.filter(pk=upload.pk).update(
        state=UsageUpload.State.DONE,
        processed_bytes=upload.size_bytes,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        # The whole file's counts: a run that only replayed (its predecessor died after the last chunk)
        # saved none.
        **_counts(total),
    )
    upload.refresh_from_db()
    return upload


def _counts(total) -> dict:
    return {
        "accepted": total.accepted,
        "duplicates": total.duplicates,
        "rejected": total.rejected,
        "unrated": total.unrated,
        "errors": upload_errors(total.errors[:200]),
    }


def usage_upload_enqueue(task, *, upload_id: int) -> bool:
    """Queue ``task`` (the upload task: ``tasks`` queues itself for a run's rest, ``upload_queue`` the first
    run and resumes) for upload ``upload_id`` and record how it went (``usage_upload_queued``); False when
    the task queue is unreachable. Without a broker (eager mode) the run happens here, before this returns.
    """
    try:
        task_queue(task, upload_id)
    except QueueUnavailable as exc:
        logger.warning("Usage upload %s not queued: %s", upload_id, exc)
        usage_upload_queued(upload_id=upload_id, queued=False)
        return False
    usage_upload_queued(upload_id=upload_id, queued=True)
    return True


def usage_upload_queued(*, upload_id: int, queued: bool) -> None:
    """Record how queueing upload ``upload_id`` went. Queued: a *not queued* upload waits again, and a
    running one counts as alive for ``UPLOAD_STALLED_AFTER`` (the run just queued has that long to start).
    Not queued (the task queue is unreachable): the upload is *not queued* until it is, unless it ended."""
    uploads = UsageUpload.objects.filter(pk=upload_id)
    if not queued:
        uploads.exclude(state__in=(UsageUpload.State.DONE, UsageUpload.State.FAILED)).update(
            state=UsageUpload.State.UNQUEUED
        )
        return
    uploads.filter(state=UsageUpload.State.UNQUEUED).update(state=UsageUpload.State.PENDING)
    uploads.filter(state=UsageUpload.State.RUNNING).update(heartbeat_at=timezone.now())


def _failed(upload: UsageUpload, error: str, message: dict | None = None) -> UsageUpload:
    """End ``upload`` failed with ``error`` (English, as written) and, when known, the same as stored text."""
    UsageUpload.objects.filter(pk=upload.pk).update(
        state=UsageUpload.State.FAILED, error=error[:2000], error_message=message, finished_at=timezone.now()
    )
    upload.refresh_from_db()
    return upload

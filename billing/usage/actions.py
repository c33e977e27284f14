"""Staff actions behind the usage pages: queue re-rating, accept uploaded files."""

from dataclasses import dataclass

from billing.usage.models import UsageUpload
from billing.usage.tasks import usage_rerate_task, usage_upload_process_task
from billing.usage.upload_queue import usage_upload_queue
from common.outbox import task_queue_or_keep
from common.task_queue import on_commit_queueing

# usage_rerate handles at most this many events per pass; one task per chunk keeps each pass whole.
RERATE_CHUNK = 5000


@dataclass
class RerateQueued:
    events: int
    kept: int = 0  # chunks kept in the outbox because the task queue was unreachable (set after commit)


def rerate_enqueue(*, event_ids: list[int]) -> RerateQueued:
    """Queue ``usage_rerate_task`` for ``event_ids`` in chunks (after commit); say how many events, and how
    many chunks were kept for later because the task queue was unreachable.

    Through the outbox (``task_queue_or_keep``), not refused: the events wait unrated either way, re-rating
    them later is what staff asked for, and it is guarded by the unrated state, so queueing an event twice
    (a kept chunk and a second press) never charges it twice. The outbox sends kept chunks within a minute
    of the queue's return; the page says so.
    """
    ids = sorted(set(event_ids))
    queued = RerateQueued(events=len(ids))

    def chunk_queue(chunk: list[int]) -> None:
        if task_queue_or_keep(usage_rerate_task, event_ids=chunk) is not None:
            queued.kept += 1

    for i in range(0, len(ids), RERATE_CHUNK):
        chunk = ids[i : i + RERATE_CHUNK]
        on_commit_queueing(lambda chunk=chunk: chunk_queue(chunk), task=usage_rerate_task)
    return queued


def usage_upload_create(*, source, fmt: str, file, actor) -> UsageUpload:
    """Store an uploaded file and queue its processing after commit.

    A task queue that cannot be reached leaves the upload *not queued* at once (``usage_upload_queue``),
    for the page to say so; the file is kept and the sweep queues it once the queue is back.
    """
    upload = UsageUpload.objects.create(
        source=source, fmt=fmt, file=file, size_bytes=file.size, created_by=actor
    )
    on_commit_queueing(lambda: usage_upload_queue(upload_id=upload.pk), task=usage_upload_process_task)
    return upload

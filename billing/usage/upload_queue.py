"""Queueing staff uploads: the first time, again after a run's time budget, and on resume.

An upload that cannot be queued (the broker is unreachable: ``common.task_queue`` says so within a fraction
of a second) is marked *not queued* at once, never left *waiting* forever. A running upload whose worker
died stops beating and is *stalled* (``UsageUpload.stalled``). Both are resumable: staff press Resume, and
the beat sweep (``resume_tasks``, every two minutes) queues them again by itself. Queueing an upload twice
is harmless: one run at a time holds it (``uploads.usage_upload_process``), the other exits.
"""

from enum import StrEnum

from billing.usage.models import UsageUpload
from billing.usage.selectors import uploads_resumable
from billing.usage.tasks import usage_upload_process_task
from billing.usage.uploads import usage_upload_enqueue


class Resumed(StrEnum):
    QUEUED = "queued"
    UNREACHABLE = "unreachable"  # the task queue is down: marked not queued, the sweep queues it later
    NOT_RESUMABLE = "not_resumable"  # running with a recent heartbeat, waiting, or ended


def usage_upload_queue(*, upload_id: int) -> bool:
    """Queue the processing of upload ``upload_id``; False when the task queue is unreachable (the upload
    is then marked *not queued*: ``uploads.usage_upload_queued``). Without a broker (eager mode) the run
    happens here, before this returns.
    """
    return usage_upload_enqueue(usage_upload_process_task, upload_id=upload_id)


def usage_upload_resume(*, upload: UsageUpload) -> Resumed:
    """Queue a stalled or not-queued upload again (the Resume button)."""
    if not uploads_resumable().filter(pk=upload.pk).exists():
        return Resumed.NOT_RESUMABLE
    return Resumed.QUEUED if usage_upload_queue(upload_id=upload.pk) else Resumed.UNREACHABLE


def uploads_resume_due() -> int:
    """Queue every stalled and not-queued upload again, oldest first; return how many were queued.

    Stops at the first that cannot be queued: the broker is down for the others too.
    """
    queued = 0
    for upload_id in list(uploads_resumable().order_by("pk").values_list("pk", flat=True)):
        if not usage_upload_queue(upload_id=upload_id):
            break
        queued += 1
    return queued

"""The beat sweep of uploads to queue again: apart from ``tasks`` since it queues the upload task through
``upload_queue``, which imports it."""

from celery import shared_task

from billing.usage.upload_queue import uploads_resume_due


@shared_task(name="billing.usage.resume_tasks.usage_uploads_resume_task")
def usage_uploads_resume_task() -> int:
    """Queue stalled and not-queued uploads again (beat, every two minutes); return how many were queued."""
    return uploads_resume_due()

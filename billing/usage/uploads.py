"""Staff uploads, processed: the Celery task streams a stored file through the pipeline with progress
(``actions.usage_upload_create`` stores it and queues the task)."""

import io

from django.utils import timezone

from billing.usage.files import UnreadableFile, file_ingest, records_iter
from billing.usage.models import UsageUpload
from billing.usage.row_errors import upload_errors
from common.stored_text import stored_render


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


def usage_upload_process(*, upload_id: int) -> UsageUpload:
    """Ingest an upload in batches, saving progress after each; a re-run replays finished batches.

    A file that cannot be read at all (UTF-16, a zip) ends the upload *failed* with the reason shown to
    staff; rows that cannot be read are reported with the other bad rows. Any other failure is raised
    too (the task is retried, or its error logged)."""
    upload = UsageUpload.objects.get(pk=upload_id)
    if upload.state == UsageUpload.State.DONE:
        return upload
    UsageUpload.objects.filter(pk=upload.pk).update(state=UsageUpload.State.RUNNING)
    try:
        with upload.file.open("rb") as handle:
            reader = _CountingReader(handle)

            def progress(_n, total):
                UsageUpload.objects.filter(pk=upload.pk).update(
                    processed_bytes=reader.count,
                    accepted=total.accepted,
                    duplicates=total.duplicates,
                    rejected=total.rejected,
                    unrated=total.unrated,
                    errors=upload_errors(total.errors[:200]),
                )

            file_ingest(
                source=upload.source,
                records=records_iter(reader),
                fmt=upload.fmt,
                key_prefix=f"upload:{upload.pk}",
                progress=progress,
                # Parse and write in this process: the task may run eagerly inside a web server (no Redis),
                # which must not fork, and the progress bar counts the bytes this process reads.
                parallel=False,
            )
    except UnreadableFile as exc:
        return _failed(upload, stored_render(exc.stored, language="en"), exc.stored)
    except Exception as exc:
        _failed(upload, str(exc))
        raise
    UsageUpload.objects.filter(pk=upload.pk).update(
        state=UsageUpload.State.DONE, processed_bytes=upload.size_bytes, finished_at=timezone.now()
    )
    upload.refresh_from_db()
    return upload


def _failed(upload: UsageUpload, error: str, message: dict | None = None) -> UsageUpload:
    """End ``upload`` failed with ``error`` (English, as written) and, when known, the same as stored text."""
    UsageUpload.objects.filter(pk=upload.pk).update(
        state=UsageUpload.State.FAILED, error=error[:2000], error_message=message, finished_at=timezone.now()
    )
    upload.refresh_from_db()
    return upload

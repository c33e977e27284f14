"""Statement exports: every customer's statement of a period as one zip, built by several workers.

``export_request`` records the export and, once it is committed, starts the Celery chain
(``billing.statements.tasks``); the steps the workers run are in ``billing.statements.export_steps``.
"""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from billing.statements.models import StatementExport
from billing.statements.tasks import statement_export_start
from common.task_queue import QueueUnavailable, task_queue

logger = logging.getLogger(__name__)

NOT_QUEUED = "Not started: the task queue (Redis) was unreachable. Start the export again."


@transaction.atomic
def export_request(*, date_from: dt.date, date_to: dt.date, actor=None) -> StatementExport:
    """Record the export and queue its build after commit. When the task queue cannot be reached the export
    is marked failed, saying why, at once (before a request outside a transaction returns): finance, who
    are waiting for the zip, start it again, rather than it waiting *queued* forever.

    Queued now, not through the outbox: an export built by itself later, unattended, is not what finance
    asked for, and the export must not say *queued* while no worker will ever see it.
    """
    export = StatementExport.objects.create(date_from=date_from, date_to=date_to, requested_by=actor)
    transaction.on_commit(lambda: _export_queue(export))
    return export


def _export_queue(export: StatementExport) -> None:
    try:
        task_queue(statement_export_start, export.pk)
    except QueueUnavailable as exc:
        logger.warning("Statement export %s not queued: %s", export.pk, exc)
        export.state = StatementExport.State.FAILED
        export.error = NOT_QUEUED
        export.finished_at = timezone.now()
        export.save(update_fields=["state", "error", "finished_at"])

"""Statement exports: every customer's statement of a period as one zip, built by several workers.

``export_request`` records the export and, once it is committed, starts the Celery chain
(``billing.statements.tasks``); the steps the workers run are in ``billing.statements.export_steps``.
"""

import datetime as dt

from django.db import transaction

from billing.statements.models import StatementExport
from billing.statements.tasks import statement_export_start


@transaction.atomic
def export_request(*, date_from: dt.date, date_to: dt.date, actor=None) -> StatementExport:
    export = StatementExport.objects.create(date_from=date_from, date_to=date_to, requested_by=actor)
    transaction.on_commit(lambda: statement_export_start.delay(export.pk))
    return export

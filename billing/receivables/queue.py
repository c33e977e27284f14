"""Invoices finance chose to e-mail: queued here, sent by ``tasks.notify_invoice_send_task``.

Apart from ``sending`` (which the task calls to deliver) so that queueing and delivering do not import
each other.
"""

from billing.invoicing.models import Invoice
from billing.receivables.tasks import notify_invoice_send_task
from common.outbox import task_queue_on_commit


def invoices_send_queue(*, invoices) -> int:
    """Queue one e-mail per issued invoice once the caller's transaction commits; return how many.

    Drafts and void invoices are skipped (the caller says how many): there is nothing to send yet.
    """
    ids = [inv.pk for inv in invoices if inv.status not in (Invoice.Status.DRAFT, Invoice.Status.VOID)]
    for pk in ids:
        # Kept in the outbox while the broker is down, and sent once it is back (``common.outbox``).
        task_queue_on_commit(notify_invoice_send_task, pk)
    return len(ids)

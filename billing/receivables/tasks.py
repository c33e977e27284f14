"""Celery tasks for receivables: thin wrappers that load by id and call a service."""

from celery import shared_task

from billing.invoicing.models import Invoice
from billing.receivables.sending import NotSendable, invoice_send


@shared_task(
    name="billing.receivables.tasks.notify_invoice_send_task", autoretry_for=(OSError,), max_retries=5
)
def notify_invoice_send_task(invoice_id: int) -> list[str]:
    """E-mail one invoice with its PDF (on the notify queue); an unsendable invoice is logged, not retried."""
    invoice = Invoice.objects.select_related("customer", "customer__billing_terms").get(pk=invoice_id)
    try:
        return invoice_send(invoice=invoice)
    except NotSendable:
        return []

"""Invoices that change amounts or status refresh the gateway status; settling lifts overdue suspensions.

Connected in ``billing.apps``. A receiver rather than calls from the payment and credit-note services so
that every way an invoice gets settled (allocation, card payment, credit note, void) lifts alike.
"""

from django.db import transaction

from billing.invoicing.models import Invoice


def invoice_changed(sender, instance: Invoice, created: bool, **kwargs) -> None:
    if created or instance.status == Invoice.Status.DRAFT:
        return
    invoice_id, customer_id = instance.pk, instance.customer_id

    def after_commit():
        from billing.dunning.suspension import overdue_suspension_refresh

        overdue_suspension_refresh(invoice_id=invoice_id, customer_id=customer_id)

    transaction.on_commit(after_commit)

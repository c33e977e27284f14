"""Overdue suspension: a dunning level with *suspend service* stops the customer's gateway traffic
until the invoice is settled (paid in full, credited or void, or covered by the customer's credit).

The gateway status reads the open suspensions live (``selectors.overdue_notices``); this module records
when one ends and tells the gateways (``customer.restored``, reason ``overdue_settled``).
"""

from django.db import transaction
from django.utils import timezone

from billing.dunning.models import DunningNotice
from billing.dunning.selectors import OPEN_STATUSES, ZERO, invoices_really_due, overdue_notices
from billing.gateway.notifications import gateway_event_notify
from billing.gateway.status import status_invalidate
from billing.invoicing.models import Invoice


def invoice_settled(invoice: Invoice) -> bool:
    """Paid, credited or void, or covered by credit the customer holds unallocated."""
    if invoice.status not in OPEN_STATUSES or invoice.amount_due <= 0:
        return True
    really_due = invoices_really_due(customer_id=invoice.customer_id, currency=invoice.currency)
    return really_due.get(invoice.pk, ZERO) <= 0


def overdue_suspension_watch(*, invoice: Invoice) -> None:
    """Once the caller's database transaction commits, refresh ``invoice``'s overdue suspension.

    Called by the services that change what an issued invoice still owes — payment allocation (card
    payments allocate too), credit notes and voids — so a settled invoice lifts its suspension at once.
    """
    invoice_id, customer_id = invoice.pk, invoice.customer_id
    transaction.on_commit(lambda: overdue_suspension_refresh(invoice_id=invoice_id, customer_id=customer_id))


def overdue_suspensions_watch(*, customer_id: int) -> None:
    """Once the caller's transaction commits, refresh every overdue suspension of the customer.

    Called when credit arrives that is not allocated to the suspended invoices (kept as credit, or
    auto-apply off): the credit may cover them, and then nothing is really overdue any more.
    """

    def refresh() -> None:
        invoice_ids = set(overdue_notices(customer_id=customer_id).values_list("invoice_id", flat=True))
        for invoice_id in sorted(invoice_ids):
            overdue_suspension_refresh(invoice_id=invoice_id, customer_id=customer_id)

    transaction.on_commit(refresh)


def overdue_suspension_refresh(*, invoice_id: int, customer_id: int) -> bool:
    """After an invoice changed: lift its overdue suspension if settled; always refresh the cached status.

    Returns whether a suspension was lifted. Safe to call any number of times.
    """
    invoice = Invoice.objects.select_related("customer").get(pk=invoice_id)
    lifted = False
    if invoice_settled(invoice):
        with transaction.atomic():
            lifted = bool(
                DunningNotice.objects.filter(invoice=invoice, suspended=True, lifted_at__isnull=True).update(
                    lifted_at=timezone.now()
                )
            )
            if lifted and not overdue_notices(customer_id=customer_id).exists():
                gateway_event_notify(
                    customer=invoice.customer,
                    event="customer.restored",
                    reason="overdue_settled",
                    extra={"invoice": invoice.number},
                )
    status_invalidate(customer_ids=[customer_id])
    return lifted

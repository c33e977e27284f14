"""Receivers of signals lower billing packages send (connected in ``billing.apps``)."""

import logging

from billing.invoicing.models import Invoice
from billing.receivables.services import credit_auto_apply, payments_with_credit

logger = logging.getLogger(__name__)


def invoices_issued_receiver(sender, invoice_ids: list[int], **kwargs) -> None:
    """Apply credit for the customers whose invoices were just issued (``invoices_issued``, after commit).

    Invoicing sits below receivables and cannot call ``credit_auto_apply`` itself. The invoices are
    issued already: a customer whose credit cannot be applied now is logged and keeps it as credit (the
    next issue, or finance, applies it), and the other customers of a period close still get theirs.
    """
    customers = Invoice.objects.filter(pk__in=invoice_ids).values("customer_id")
    pairs = set(payments_with_credit(customers).values_list("customer_id", "currency"))
    for customer_id, currency in sorted(pairs):
        try:
            credit_auto_apply(customer_id=customer_id, currency=currency)
        except Exception:
            logger.exception("Applying credit of customer %s in %s failed", customer_id, currency)

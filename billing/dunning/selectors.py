"""Reads for dunning: what is really due, and which overdue notices keep a customer suspended.

Apart from ``suspension`` (which tells the gateways) because ``billing.gateway.status`` reads these live.
"""

from decimal import Decimal

from django.db.models import F, Sum

from billing.dunning.models import DunningNotice
from billing.invoicing.models import Invoice
from billing.ledger.models import AccountKind, LedgerAccount

OPEN_STATUSES = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID)
ZERO = Decimal("0")


def invoices_really_due(*, customer_id: int, currency: str) -> dict[int, Decimal]:
    """Per open invoice of the customer in ``currency``: what its unapplied credit does not cover.

    A customer holding credit it has not had allocated (auto-apply off, or not yet run) owes less than
    its invoices say: 900 of credit against a 200 invoice owes nothing, and must not be dunned or
    suspended for it. The credit is what the ledger's receivable balance is short of the invoices' amounts
    due (receivable = Σ amount due − unallocated credit, the receivables invariant); it is counted
    against the invoices oldest due first, as allocating it would.
    """
    invoices = (
        Invoice.objects.filter(customer_id=customer_id, currency=currency, status__in=OPEN_STATUSES)
        .order_by(F("due_date").asc(nulls_last=True), "number", "pk")
        .only("pk", "status", "total", "amount_paid", "amount_credited", "amount_written_off", "currency")
    )
    due = {invoice.pk: invoice.amount_due for invoice in invoices}
    accounts = LedgerAccount.objects.filter(
        kind=AccountKind.RECEIVABLE, customer_id=customer_id, currency=currency
    )
    receivable = accounts.aggregate(s=Sum("balance"))["s"] or ZERO
    credit = max(sum(due.values(), ZERO) - receivable, ZERO)
    really = {}
    for invoice_id, amount in due.items():
        covered = min(credit, amount)
        really[invoice_id] = amount - covered
        credit -= covered
    return really


def overdue_notices(*, customer_id: int):
    """Suspending notices whose invoice is still open: each one keeps the customer suspended."""
    return DunningNotice.objects.filter(
        invoice__customer_id=customer_id,
        suspended=True,
        lifted_at__isnull=True,
        invoice__status__in=OPEN_STATUSES,
    ).select_related("invoice", "level")

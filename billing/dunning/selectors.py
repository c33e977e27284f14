"""Reads for dunning: which overdue notices keep a customer's gateway traffic suspended.

Apart from ``suspension`` (which tells the gateways) because ``billing.gateway.status`` reads these live.
"""

from billing.dunning.models import DunningNotice
from billing.invoicing.models import Invoice

OPEN_STATUSES = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID)


def overdue_notices(*, customer_id: int):
    """Suspending notices whose invoice is still open: each one keeps the customer suspended."""
    return DunningNotice.objects.filter(
        invoice__customer_id=customer_id,
        suspended=True,
        lifted_at__isnull=True,
        invoice__status__in=OPEN_STATUSES,
    ).select_related("invoice", "level")

"""Signals invoicing sends, for packages above it to act on (connected in ``billing.apps``)."""

from django.dispatch import Signal

# Sent once issued invoices have committed, with ``invoice_ids``. Receivables listens to apply the
# customers' unallocated credit (``billing.receivables.auto_apply``): invoicing may not call up into it.
invoices_issued = Signal()

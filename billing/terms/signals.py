"""Signals terms sends, for packages above it to act on (connected in ``billing.apps``)."""

from django.dispatch import Signal

# Sent once postings that accrued usage to credit customers' unbilled accounts have committed, with
# ``customer_ids``: only customers whose terms bill progressively (a threshold or a share of the limit).
# Invoicing listens to issue interim invoices (``billing.invoicing.progressive``): terms may not call up.
unbilled_accrued = Signal()

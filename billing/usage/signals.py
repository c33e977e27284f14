"""Signals usage sends, for packages above it to act on (connected in ``billing.apps``)."""

from django.dispatch import Signal

# Sent once a batch's usage has committed, with ``customer_ids``: the customers whose events it stored.
# The gateway status cache listens (``billing.gateway.receivers``): usage may not call up into gateway.
usage_committed = Signal()

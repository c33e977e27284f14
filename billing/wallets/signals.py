"""Signals wallets send, for packages above them to act on (connected in ``billing.apps``)."""

from django.dispatch import Signal

# Sent after commit once staff changed a wallet's floor or limit, with ``customer_id``: what the gateway
# status shows (floor, limit, reserve) changed even when no suspension opened or closed, so its cache
# (``billing.gateway.receivers``) must be read afresh. Wallets may not call up into the gateway.
wallet_limit_changed = Signal()

"""Watch balance suspensions (owned by billing.wallets) to tell gateways; connected in ``billing.apps``.

A signal, not a call from the wallet service, because wallets must not depend on usage/gateway code and
every path that suspends or restores (usage, top-ups, refunds, adjustments) should notify alike.
"""

from billing.gateway.notifications import gateway_event_notify
from billing.gateway.status import status_invalidate
from billing.wallets.models import BalanceSuspension


def balance_suspension_changed(sender, instance: BalanceSuspension, created: bool, **kwargs) -> None:
    if created:
        gateway_event_notify(
            customer=instance.customer, event="customer.suspended", reason="balance_at_floor"
        )
    elif instance.ended_at is not None:
        gateway_event_notify(
            customer=instance.customer, event="customer.restored", reason="balance_above_floor"
        )


def usage_status_refresh(sender, customer_ids, **kwargs) -> None:
    """A usage batch committed (``billing.usage.signals``): read these customers' status afresh."""
    status_invalidate(customer_ids=customer_ids)

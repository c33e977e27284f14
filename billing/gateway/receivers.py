"""Tell gateways of suspensions recorded elsewhere; connected in ``billing.apps``.

Balance suspensions (``billing.wallets``) and credit-limit breaches (``billing.terms``) are decided by
those packages' services; the gateway webhook is a notification of the row they write. A signal rather
than a call so that wallets and terms, which the gateway's status reads, need not depend on the gateway,
and every path that suspends or restores notifies alike.
"""

from django.db import transaction

from billing.gateway.notifications import gateway_event_notify
from billing.gateway.status import status_invalidate
from billing.terms.models import BillingTerms, CreditLimitBreach
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


def credit_limit_breach_changed(sender, instance: CreditLimitBreach, created: bool, **kwargs) -> None:
    """Crossed: suspend (*block*) or warn (*warn*). Cleared: restore (*block*); under *warn* the gateway
    never stopped, so only its cached status (which shows the breach) is refreshed."""
    block = instance.policy == BillingTerms.CreditPolicy.BLOCK
    if created:
        gateway_event_notify(
            customer=instance.customer,
            event="customer.suspended" if block else "customer.credit_limit_crossed",
            reason="credit_limit",
            extra={
                "currency": instance.currency,
                "credit_limit": str(instance.credit_limit),
                "exposure": str(instance.exposure_at_start),
                "policy": instance.policy,
            },
        )
    elif instance.ended_at is not None:
        if block:
            gateway_event_notify(
                customer=instance.customer,
                event="customer.restored",
                reason="credit_limit_cleared",
                extra={"currency": instance.currency, "exposure": str(instance.exposure_at_end)},
            )
        else:
            customer_id = instance.customer_id
            transaction.on_commit(lambda: status_invalidate(customer_ids=[customer_id]))


def usage_status_refresh(sender, customer_ids, **kwargs) -> None:
    """A usage batch committed (``billing.usage.signals``): read these customers' status afresh."""
    status_invalidate(customer_ids=customer_ids)

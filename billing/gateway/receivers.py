"""Tell gateways of suspensions recorded elsewhere; connected in ``billing.apps``.

Balance suspensions and floor overshoots (``billing.wallets``), credit-limit breaches (``billing.terms``)
and risk flags (``billing.dunning.risk``, rows in ``billing.terms``) are decided by those packages'
services; the gateway webhook is a notification of the row they write. A signal rather than a call so that
wallets and terms, which the gateway's status reads, need not depend on the gateway, and every path that
suspends or restores notifies alike.
"""

from django.db import transaction

from billing.gateway.notifications import gateway_event_notify, risk_flag_fields
from billing.gateway.status import status_invalidate
from billing.terms.models import BillingTerms, CreditLimitBreach, RiskFlag
from billing.wallets.models import BalanceSuspension, FloorOvershoot, SuspensionReason


def balance_suspension_changed(sender, instance: BalanceSuspension, created: bool, **kwargs) -> None:
    """Opened: suspend, saying whether the floor or (hard limit) the reserve above it was reached.
    Closed: restore."""
    extra = {
        "currency": instance.wallet.currency,
        "floor": str(instance.wallet.floor),
        "limit": instance.wallet.limit_mode,
    }
    if created:
        gateway_event_notify(
            customer=instance.customer,
            event="customer.suspended",
            reason=instance.reason,
            extra={
                **extra,
                "balance": str(instance.balance_at_start),
                "reserve": str(instance.reserve_at_start),
            },
        )
    elif instance.ended_at is not None:
        gateway_event_notify(
            customer=instance.customer,
            event="customer.restored",
            reason="balance_above_floor"
            if instance.reason == SuspensionReason.FLOOR
            else "balance_reserve_cleared",
            extra=extra,
        )


def floor_overshoot_opened(sender, instance: FloorOvershoot, created: bool, **kwargs) -> None:
    """A hard-limit wallet went below its floor after all: tell the gateways once, when it first crossed."""
    if created:
        gateway_event_notify(
            customer=instance.customer,
            event="customer.floor_overshoot",
            reason="balance_below_floor",
            extra={
                "currency": instance.wallet.currency,
                "floor": str(instance.floor),
                "balance": str(instance.lowest_balance),
                "excess": str(instance.excess),
            },
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


def risk_flag_changed(sender, instance: RiskFlag, created: bool, **kwargs) -> None:
    """Raised: suspend (*block*, reason ``overdue_days`` or ``usage_spike``) or warn (*warn*,
    ``customer.risk_flagged``). Cleared: restore (*block*, ``…_cleared``); under *warn* only the cached
    status, which lists open flags, is refreshed."""
    block = instance.policy == BillingTerms.CreditPolicy.BLOCK
    if created:
        gateway_event_notify(
            customer=instance.customer,
            event="customer.suspended" if block else "customer.risk_flagged",
            reason=instance.kind,
            extra=risk_flag_fields(instance),
        )
    elif instance.ended_at is not None:
        if block:
            gateway_event_notify(
                customer=instance.customer,
                event="customer.restored",
                reason=f"{instance.kind}_cleared",
                extra={"policy": instance.policy, "cleared_by_staff": instance.cleared_by_id is not None},
            )
        else:
            customer_id = instance.customer_id
            transaction.on_commit(lambda: status_invalidate(customer_ids=[customer_id]))


def usage_status_refresh(sender, customer_ids, **kwargs) -> None:
    """A usage batch committed (``billing.usage.signals``): read these customers' status afresh."""
    status_invalidate(customer_ids=customer_ids)


def wallet_limit_refresh(sender, customer_id, **kwargs) -> None:
    """Staff changed a wallet's floor or limit (``billing.wallets.signals``): read the status afresh."""
    status_invalidate(customer_ids=[customer_id])

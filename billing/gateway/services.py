"""Staff holds on a customer's gateway traffic."""

from django.db import transaction
from django.utils import timezone

from billing.gateway.models import GatewayHold
from billing.gateway.notifications import gateway_event_notify


@transaction.atomic
def gateway_hold_place(*, customer, reason: str, actor=None) -> GatewayHold:
    """Suspend ``customer`` at the gateway until released, whatever its balance."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required to hold a customer.")
    hold = GatewayHold.objects.create(customer=customer, reason=reason[:300], created_by=actor)
    gateway_event_notify(customer=customer, event="customer.suspended", reason=f"manual_hold: {reason}")
    return hold


@transaction.atomic
def gateway_hold_release(*, hold: GatewayHold) -> GatewayHold:
    if hold.ended_at is None:
        hold.ended_at = timezone.now()
        hold.save(update_fields=["ended_at"])
        gateway_event_notify(customer=hold.customer, event="customer.restored", reason="manual_hold_released")
    return hold

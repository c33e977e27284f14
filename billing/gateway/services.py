"""Staff actions on the gateway: holds on a customer's traffic, sources and their tokens, key mappings."""

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from billing.gateway.models import GatewayHold
from billing.gateway.notifications import gateway_event_notify
from billing.gateway.status import key_cache_key
from billing.usage.models import GatewayKey, GatewaySource


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


# --- Gateway sources and key mappings (staff pages) ----------------------------------------------


def _key_cache_forget(key: str) -> None:
    """Drop the cached key → customer lookups of ``key`` for every source (see ``status.status_for_key``)."""
    source_ids = GatewaySource.objects.values_list("pk", flat=True)
    cache.delete_many([key_cache_key(source_id=pk, key=key) for pk in source_ids])


@transaction.atomic
def gateway_source_create(*, name: str, kind: str, **fields) -> tuple[GatewaySource, str]:
    """Create a gateway source; return it and its bearer token (shown once: only its hash is kept)."""
    source = GatewaySource(name=name.strip(), kind=kind, **fields)
    token = source.token_set()
    source.full_clean()
    source.save()
    return source, token


@transaction.atomic
def gateway_source_token_rotate(*, source: GatewaySource) -> str:
    """Give ``source`` a new token (the old one stops working at once); return it, shown once."""
    token = source.token_set()
    source.save(update_fields=["token_prefix", "token_hash"])
    return token


def gateway_source_set_active(*, source: GatewaySource, active: bool) -> GatewaySource:
    """An inactive source can neither send usage nor read statuses (its token is refused)."""
    source.is_active = active
    source.save(update_fields=["is_active"])
    return source


@transaction.atomic
def gateway_key_create(
    *, key: str, customer, source: GatewaySource | None = None, note: str = ""
) -> GatewayKey:
    """Map a gateway key to ``customer`` (for ``source`` only, or for every source when None)."""
    mapping = GatewayKey(key=key.strip(), customer=customer, source=source, note=note.strip())
    mapping.full_clean()
    mapping.save()
    transaction.on_commit(lambda: _key_cache_forget(mapping.key))
    return mapping


@transaction.atomic
def gateway_key_set_active(*, mapping: GatewayKey, active: bool) -> GatewayKey:
    """Enable or disable a mapping; a disabled key's usage is stored unrated (unknown_key)."""
    mapping.is_active = active
    mapping.save(update_fields=["is_active"])
    transaction.on_commit(lambda: _key_cache_forget(mapping.key))
    return mapping

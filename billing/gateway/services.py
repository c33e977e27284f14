"""Staff actions on the gateway: holds on a customer's traffic, sources and their tokens, key mappings."""

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.gateway.models import GatewayHold
from billing.gateway.notifications import gateway_event_notify
from billing.gateway.status import key_cache_key
from billing.usage.models import GatewayKey, GatewaySource
from common.cache_fallback import cache_forget


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
    """Drop the cached key → customer lookups of ``key`` for every source (see ``status.status_for_key``).

    After commit: a cache that cannot be reached is logged; the lookup is then stale for at most ``KEY_TTL``.
    """
    source_ids = GatewaySource.objects.values_list("pk", flat=True)
    cache_forget([key_cache_key(source_id=pk, key=key) for pk in source_ids], what="a gateway key's lookups")


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


# Namespace of the advisory locks that serialise the mappings of one key (PostgreSQL): two staff mapping the
# same key at once, in different scopes, would each see the other's mapping absent.
_KEY_LOCK_NAMESPACE = 0x474B4559  # "GKEY"


def _key_lock(key: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_KEY_LOCK_NAMESPACE, key])


def _held_by_another(*, key: str, customer, source) -> bool:
    """Whether an active mapping gives ``key`` to someone other than ``customer`` where ``source`` would
    use it: for one source, that source's mapping and the global one; for every source, any mapping."""
    others = GatewayKey.objects.filter(key=key, is_active=True).exclude(customer=customer)
    if source is not None:
        others = others.filter(Q(source__isnull=True) | Q(source=source))
    return others.exists()


def gateway_key_check(*, key: str, customer, source: GatewaySource | None) -> None:
    """Refuse, on the ``key`` field, to let ``key`` mean ``customer`` for ``source`` (every source when None)
    where it already means another customer, or where that very scope already maps it.

    A source's own mapping beats a global one when usage is resolved (``usage.resolve.keys_resolve``), so a
    mapping for one source over another customer's global key (or a global one beside another customer's
    mapping for a source) would charge one customer's traffic to the other. The other customer is not
    named: the person mapping may not be allowed to see it. The forms call this too, so the message lands
    on the field before the database constraints would word it their way."""
    key = (key or "").strip()
    if not key or customer is None:
        return
    if _held_by_another(key=key, customer=customer, source=source):
        message = _(
            "This key already belongs to another customer. To move it, disable that mapping first "
            "(administrators and finance can, on the Key mappings page)."
        )
        raise ValidationError({"key": ValidationError(message, code="key_taken")})
    if GatewayKey.objects.filter(key=key, source=source).exists():
        message = (
            _("This key is already mapped for this source: see it on the Key mappings page.")
            if source is not None
            else _("This key is already mapped for every source: see it on the Key mappings page.")
        )
        raise ValidationError({"key": ValidationError(message, code="key_mapped")})


@transaction.atomic
def gateway_key_create(
    *, key: str, customer, source: GatewaySource | None = None, note: str = ""
) -> GatewayKey:
    """Map a gateway key to ``customer`` (for ``source`` only, or for every source when None)."""
    mapping = GatewayKey(key=key.strip(), customer=customer, source=source, note=note.strip())
    _key_lock(mapping.key)
    gateway_key_check(key=mapping.key, customer=customer, source=source)
    mapping.full_clean()
    mapping.save()
    transaction.on_commit(lambda: _key_cache_forget(mapping.key))
    return mapping


@transaction.atomic
def gateway_key_set_active(*, mapping: GatewayKey, active: bool) -> GatewayKey:
    """Enable or disable a mapping; a disabled key's usage is stored unrated (unknown_key, "the gateway key
    … is disabled"; the event's later key candidates are not tried: ``usage.resolve.key_pick``). A mapping
    is not enabled again while the key means another customer in an overlapping scope (see
    ``gateway_key_check``)."""
    if active and not mapping.is_active:
        _key_lock(mapping.key)
        if _held_by_another(key=mapping.key, customer=mapping.customer_id, source=mapping.source_id):
            raise ValidationError(
                _(
                    "Key %(key)s now belongs to another customer: disable that mapping before enabling "
                    "this one."
                )
                % {"key": mapping.key},
                code="key_taken",
            )
    mapping.is_active = active
    mapping.save(update_fields=["is_active"])
    transaction.on_commit(lambda: _key_cache_forget(mapping.key))
    return mapping

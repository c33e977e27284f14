"""Expire upstream packs: what a pack had left when it expired is expensed, once.

A pack's unused value is valued at its price (what we paid for it): an amount pack's unused credit ×
price ÷ credit, a token pack's unused tokens × price ÷ tokens. It leaves the channel's prepaid asset:

    Dr UPSTREAM_EXPIRED (vendor) / Cr UPSTREAM_PREPAID (channel)

dated the day it expired, keyed by the pack (once, ever). A pack is expired only once every day it could
be drawn on has been burnt, i.e. from the operator's day after its expiry: the daily run burns yesterday
first, then expires. After that its draws are kept as they are (``burn``).
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.money import ledger_round
from billing.upstream.burn import day_bounds
from billing.upstream.ledger_accounts import channel_account, vendor_expense
from billing.upstream.models import UpstreamPack

K = AccountKind
ZERO = Decimal(0)


def unused_at_price(pack: UpstreamPack) -> Decimal:
    """What is left of ``pack``, valued at what we paid for it (contract currency, full precision)."""
    if pack.kind == UpstreamPack.Kind.TOKENS:
        return ledger_round(pack.price * max(pack.tokens - pack.used_tokens, 0) / pack.tokens)
    if not pack.credit:
        return ZERO
    return ledger_round(max(pack.credit - pack.used_credit, ZERO) * pack.price / pack.credit)


def packs_expire(*, today: date | None = None) -> list[UpstreamPack]:
    """Expense the unused value of every pack that expired before ``today`` began; return those expired.

    Re-running expenses nothing twice (the pack keeps its expiry transaction; the ledger key is the pack).
    """
    today = today or timezone.localdate()
    cutoff, _end = day_bounds(today)
    due = UpstreamPack.objects.filter(expires_at__lte=cutoff, expiry_transaction__isnull=True, price__gt=0)
    expired = []
    for pack_id in due.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            pack = (
                UpstreamPack.objects.select_for_update()
                .select_related("channel__contract__vendor")
                .get(pk=pack_id)
            )
            if pack.expiry_transaction_id is not None:
                continue
            value = unused_at_price(pack)
            if value <= 0:
                continue
            channel, currency = pack.channel, pack.currency
            pack.expiry_transaction = transaction_post(
                idempotency_key=f"upstream.pack.expiry:{pack.pk}",
                kind="upstream.pack.expiry",
                lines=[
                    debit(vendor_expense(channel, K.UPSTREAM_EXPIRED), value, currency),
                    credit(channel_account(channel, K.UPSTREAM_PREPAID), value, currency),
                ],
                memo=f"{pack} on {channel.name} expired with {value} {currency} unused (at its price)",
                source=f"upstream.pack:{pack.pk}",
                effective_date=timezone.localdate(pack.expires_at),
            )
            pack.expired_credit = value
            pack.save(update_fields=["expiry_transaction", "expired_credit"])
            expired.append(pack)
    return expired

"""Expire upstream packs: what a pack had left when it expired is expensed, once.

A pack's unused value is valued at its price (what we paid for it): an amount pack's unused credit ×
price ÷ credit, a token pack's unused tokens × price ÷ tokens. It leaves the channel's prepaid asset:

    Dr UPSTREAM_EXPIRED (vendor) / Cr UPSTREAM_PREPAID (channel)

dated the day it expired, keyed by the pack (once). A pack is expired only once every day it could be drawn
on has been burnt, i.e. from the operator's day after its expiry: the daily run burns yesterday first, and
before expiring a pack its days whose consumption changed since they were burnt are burnt again
(``reburn``: a late batch is drawn, not expensed as unused). After that its draws can only shrink (a
correction down), and what they shrink by is expired too (``pack_value.expiry_top_up``).

A pack expiring in the middle of an operator's day draws that whole day's usage: the burn works in whole
operator days (the rollups' day), so usage in the hours after the expiry instant is drawn from it as well.
"""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from billing.upstream.burn import day_bounds
from billing.upstream.models import UpstreamPack
from billing.upstream.pack_value import expiry_post, unused_at_price
from billing.upstream.reburn import channel_reburn, last_day
from common.stored_text import money, stored


def packs_expire(*, today: date | None = None) -> list[UpstreamPack]:
    """Expense the unused value of every pack that expired before ``today`` began; return those expired.

    Re-running expenses nothing twice (the pack keeps its expiry transaction; the ledger key is the pack).
    """
    today = today or timezone.localdate()
    cutoff, _end = day_bounds(today)
    due = UpstreamPack.objects.filter(expires_at__lte=cutoff, expiry_transaction__isnull=True, price__gt=0)
    _reburn_before_expiry(due, today)
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
            pack.expiry_transaction = expiry_post(
                pack,
                value,
                key=f"upstream.pack.expiry:{pack.pk}",
                memo=(
                    f"{pack} on {pack.channel.name} expired with {value} {pack.currency} unused "
                    "(at its price)"
                ),
                memo_message=stored(
                    "upstream.memo.pack_expired",
                    pack=str(pack),
                    channel=pack.channel.name,
                    amount=money(value, pack.currency),
                    currency=pack.currency,
                ),
            )
            pack.expired_credit = value
            pack.save(update_fields=["expiry_transaction", "expired_credit"])
            expired.append(pack)
    return expired


def _reburn_before_expiry(due, today: date) -> None:
    """Burn again the changed days of the packs about to expire, per channel, so what they expire with
    counts every usage of their validity that has arrived (``reburn``)."""
    windows: dict[int, tuple[date, date]] = {}
    channels = {}
    for pack in due.select_related("channel__contract__vendor"):
        first, last = timezone.localdate(pack.starts_at), min(last_day(pack), today - timedelta(days=1))
        if pack.channel_id in windows:
            known = windows[pack.channel_id]
            first, last = min(first, known[0]), max(last, known[1])
        windows[pack.channel_id] = (first, last)
        channels[pack.channel_id] = pack.channel
    for channel_id, (first, last) in windows.items():
        channel_reburn(channels[channel_id], first, last)

"""Burn again every day whose consumption changed since it was burnt (late batches, corrections).

Usage can arrive days after the day it was used; the burn of that day has then drawn too little (or, after
a correction down, too much). Once a day, and before packs expire, the days of the channel's open packs are
checked: the burn's own allocation (``burn.allocate``) is run in memory for each day on the day's
consumption and the draws stored, in day order, and ``burn_day`` runs only for the days whose draws would
change. Per channel that is three queries (its packs, their draws, the window's consumption by day and
model) and pure Python; only the days that changed are written.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from billing.upstream.burn import allocate, burn_day, day_bounds
from billing.upstream.consumption import daily_use
from billing.upstream.models import UpstreamDraw, UpstreamPack
from catalog.models import Channel, Settlement

ZERO = Decimal(0)


def last_day(pack: UpstreamPack) -> date | None:
    """The last operator's day ``pack`` can be drawn on (None: it never expires)."""
    if pack.expires_at is None:
        return None
    return timezone.localdate(pack.expires_at - timedelta(microseconds=1))


def stale_days(channel: Channel, date_from: date, date_to: date) -> list[date]:
    """The days of ``[date_from, date_to]`` whose burn would now draw ``channel``'s packs differently."""
    packs = list(UpstreamPack.objects.filter(channel=channel))
    if not packs or date_from > date_to:
        return []
    drawn: dict[tuple[int, date], tuple[Decimal, int]] = {}
    totals: dict[int, list] = defaultdict(lambda: [ZERO, 0])
    for pack_id, day, credit, tokens in UpstreamDraw.objects.filter(pack__in=packs).values_list(
        "pack_id", "day", "credit", "tokens"
    ):
        drawn[(pack_id, day)] = (credit, tokens)
        totals[pack_id][0] += credit
        totals[pack_id][1] += tokens
    uses = daily_use([channel], date_from, date_to)
    stale, day = [], date_from
    while day <= date_to:
        start, end = day_bounds(day)
        on_day = [
            p
            for p in packs
            if (p.starts_at < end and (p.expires_at is None or p.expires_at > start)) or (p.pk, day) in drawn
        ]
        if on_day:
            here = {p.pk: drawn.get((p.pk, day), (ZERO, 0)) for p in on_day}
            elsewhere = {pk: (totals[pk][0] - c, totals[pk][1] - t) for pk, (c, t) in here.items()}
            frozen = {p.pk: here[p.pk] for p in on_day if p.expiry_transaction_id is not None}
            draws = allocate(on_day, elsewhere, frozen, uses.get((channel.pk, day), {}))
            if any((d.credit, d.tokens) != here[d.pack.pk] for d in draws):
                stale.append(day)
                for d in draws:  # later days see this day as the burn will leave it
                    old_credit, old_tokens = here[d.pack.pk]
                    drawn[(d.pack.pk, day)] = (d.credit, d.tokens)
                    totals[d.pack.pk][0] += d.credit - old_credit
                    totals[d.pack.pk][1] += d.tokens - old_tokens
        day += timedelta(days=1)
    return stale


def channel_reburn(channel: Channel, date_from: date, date_to: date) -> list[date]:
    """Burn again the days of ``[date_from, date_to]`` whose draws changed on ``channel``; return them."""
    if channel.contract.settlement != Settlement.PREPAID:
        return []
    days = stale_days(channel, date_from, date_to)
    for day in days:
        burn_day(channel=channel, day=day)
    return days


def reburn_run(*, today: date | None = None) -> dict[int, list[date]]:
    """Burn again, on every prepaid channel, the changed days (until yesterday) of its packs that have not
    expired; channel id → the days burnt again."""
    today = today or timezone.localdate()
    cutoff, _end = day_bounds(today)
    open_packs = UpstreamPack.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=cutoff),
        expiry_transaction__isnull=True,
        starts_at__lt=cutoff,
        channel__contract__settlement=Settlement.PREPAID,
    )
    first_start: dict[int, object] = {}
    for channel_id, starts_at in open_packs.values_list("channel_id", "starts_at"):
        if channel_id not in first_start or starts_at < first_start[channel_id]:
            first_start[channel_id] = starts_at
    found = {}
    channels = Channel.objects.filter(pk__in=first_start).select_related("contract__vendor").order_by("pk")
    for channel in channels:
        start_day = timezone.localdate(first_start[channel.pk])
        days = channel_reburn(channel, start_day, today - timedelta(days=1))
        if days:
            found[channel.pk] = days
    return found

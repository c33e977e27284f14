"""Our side of a reconciliation: rated usage per channel × model × vendor day, at the contract's cost.

Which rows: those the operator sells — usage whose customer has no seller (``customer.seller_id IS
NULL``). A request sold down the distribution chain is stored once per hop, and exactly one of its rows
belongs to a customer without a seller (its top hop), so each request the vendor served counts once;
commission rows are never rolled up. Which channel: the row's ``upstream_account`` is the channel's name
or one of its aliases, case-insensitively.

Which window: the vendor's day ``[day 00:00, next day 00:00)`` in the channel's reporting zone. When that
window starts and ends on UTC hours (every whole-hour zone, DST included) the hourly rollups (UTC hour
buckets) add up to it exactly and are read; a zone whose day starts off the hour (Asia/Kolkata, UTC+5:30)
would split an hour bucket between two vendor days, so for such a zone the raw events are read instead —
slower, but exact, and such zones are rare among vendors.

Cost is the rated ``cost_amount``: at the channel's contract cost in the contract currency once rating
prices by channel; a rollup in another cost currency is converted to the contract's at the vendor day's
dated rate (``catalog.selectors.fx.fx_rate``).
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Sum
from django.db.models.functions import Lower, TruncDate

from billing.upstream.reconcile.figures import Figures, day_window, on_the_hour
from billing.usage.models import RatingState, UsageEvent, UsageHourly
from catalog.models import Channel
from catalog.selectors.fx import fx_rate

SUMS = (
    "prompt_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "completion_tokens",
)


def channel_names(channel: Channel) -> set[str]:
    """The lower-cased upstream accounts that name ``channel`` (aliases should be prefetched)."""
    return {channel.name.lower(), *(a.alias.lower() for a in channel.aliases.all())}


def operator_sold_hourly():
    """Hourly rollups of the rows the operator sells (customers without a seller)."""
    return UsageHourly.objects.filter(customer__seller__isnull=True)


def operator_sold_events():
    """Rated raw events the operator sells: each request's top-hop row."""
    return UsageEvent.objects.filter(rating_state=RatingState.RATED, customer__seller__isnull=True)


def _grouped(queryset, at: str, zone: str, names: list[str], counted):
    return (
        queryset.annotate(account=Lower("upstream_account"), vday=TruncDate(at, tzinfo=ZoneInfo(zone)))
        .filter(account__in=names)
        .values("account", "model_id", "vday", "cost_currency", model_label=F("model__name"))
        .annotate(
            n=counted,
            cost=Sum("cost_amount"),
            **{f"s_{c}": Sum(c) for c in SUMS},
        )
    )


def our_usage(days: dict[Channel, list[date]]) -> dict[tuple[int, str, date], tuple[int, Figures]]:
    """Our figures per (channel id, model name, vendor day) for each channel's ``days``, with the model
    id: ``{key: (model_id, Figures)}``; cost in the channel's contract currency."""
    by_zone: dict[str, dict[str, Channel]] = defaultdict(dict)
    zone_days: dict[str, set[date]] = defaultdict(set)
    for channel, channel_days in days.items():
        if not channel_days:
            continue
        for name in channel_names(channel):
            by_zone[channel.reporting_zone][name] = channel
        zone_days[channel.reporting_zone].update(channel_days)
    wanted = {(c.pk, d) for c, ds in days.items() for d in ds}
    found: dict[tuple[int, str, date], tuple[int, Figures]] = {}
    rates: dict[tuple[str, str, date], Decimal] = {}
    for zone, names in by_zone.items():
        first, last = min(zone_days[zone]), max(zone_days[zone])
        since, until = day_window(first, zone)[0], day_window(last, zone)[1]
        if all(on_the_hour(d, zone) for d in zone_days[zone]):
            rows = operator_sold_hourly().filter(hour__gte=since, hour__lt=until)
            rows = _grouped(rows, "hour", zone, list(names), Sum("requests"))
        else:
            rows = operator_sold_events().filter(occurred_at__gte=since, occurred_at__lt=until)
            rows = _grouped(rows, "occurred_at", zone, list(names), Count("id"))
        for row in rows:
            channel = names[row["account"]]
            if (channel.pk, row["vday"]) not in wanted:
                continue
            cost = row["cost"] or Decimal(0)
            if row["cost_currency"] and row["cost_currency"] != channel.contract.currency:
                key = (row["cost_currency"], channel.contract.currency, row["vday"])
                if key not in rates:
                    rates[key] = fx_rate(*key)
                cost = cost * rates[key]
            prompt, cache_read, cache_write, cache_write_1h, completion = (row[f"s_{c}"] or 0 for c in SUMS)
            figures = Figures(
                requests=row["n"] or 0,
                input=prompt - cache_read - cache_write - cache_write_1h,
                cache_read=cache_read,
                cache_write=cache_write,
                cache_write_1h=cache_write_1h,
                output=completion,
                cost=cost,
                currency=channel.contract.currency,
            )
            key = (channel.pk, row["model_label"], row["vday"])
            previous = found.get(key)
            found[key] = (row["model_id"], figures if previous is None else previous[1] + figures)
    return found

"""Our side of a reconciliation: rated usage per channel × model × vendor day, at the contract's cost.

Which rows: those the operator sells — usage whose customer has no seller (``customer.seller_id IS
NULL``). A request sold down the distribution chain is stored once per hop, and exactly one of its rows
belongs to a customer without a seller (its top hop), so each request the vendor served counts once;
commission rows are never rolled up. Which channel: the row's ``upstream_account`` is the channel's name
or one of its aliases, case-insensitively.

Which window: each vendor day's spans (``reconcile.windows``): the windows ``[starts_at, ends_at)`` of
the vendor's rows for that day — in whatever zone the vendor reported it — and the rest of the day in the
channel's reporting zone no vendor window covers, each instant on exactly one day. When every span of a
channel starts and ends on a UTC hour (whole-hour zones, DST included) the hourly rollups (UTC hour
buckets) add up to them exactly and are read; a span off the hour (a vendor day in Asia/Kolkata, UTC+5:30)
would split an hour bucket between two days, so for such a channel the raw events are read instead —
slower, but exact, and such zones are rare among vendors.

Cost is the rated ``cost_amount``: at the channel's contract cost in the contract currency once rating
prices by channel; a rollup in another cost currency is converted to the contract's at the vendor day's
dated rate (``catalog.selectors.fx.fx_rate``).
"""

from datetime import date
from decimal import Decimal

from django.db.models import Case, Count, DateField, F, Q, Sum, Value, When
from django.db.models.functions import Lower

from billing.upstream.reconcile.figures import Figures
from billing.upstream.reconcile.windows import Span, day_spans, on_hours, vendor_windows
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


def _grouped(queryset, at: str, spans: dict[date, list[Span]], names: list[str], counted):
    """``queryset`` summed per account, model, cost currency and the day each row's time belongs to."""
    whens = [
        When(Q(**{f"{at}__gte": start, f"{at}__lt": end}), then=Value(day))
        for day, pieces in spans.items()
        for start, end in pieces
    ]
    since = min(start for pieces in spans.values() for start, _end in pieces)
    until = max(end for pieces in spans.values() for _start, end in pieces)
    return (
        queryset.filter(**{f"{at}__gte": since, f"{at}__lt": until})
        .annotate(account=Lower("upstream_account"), vday=Case(*whens, output_field=DateField()))
        .filter(account__in=names, vday__isnull=False)
        .values("account", "model_id", "vday", "cost_currency", model_label=F("model__name"))
        .annotate(
            n=counted,
            cost=Sum("cost_amount"),
            **{f"s_{c}": Sum(c) for c in SUMS},
        )
    )


def _rows(channel: Channel, spans: dict[date, list[Span]]):
    names = list(channel_names(channel))
    if on_hours(span for pieces in spans.values() for span in pieces):
        return _grouped(operator_sold_hourly(), "hour", spans, names, Sum("requests"))
    return _grouped(operator_sold_events(), "occurred_at", spans, names, Count("id"))


def our_usage(days: dict[Channel, list[date]]) -> dict[tuple[int, str, date], tuple[int, Figures]]:
    """Our figures per (channel id, model name, vendor day) for each channel's ``days``, with the model
    id: ``{key: (model_id, Figures)}``; cost in the channel's contract currency."""
    every_day = {d for ds in days.values() for d in ds}
    if not every_day:
        return {}
    windows = vendor_windows([c.pk for c in days], min(every_day), max(every_day))
    found: dict[tuple[int, str, date], tuple[int, Figures]] = {}
    rates: dict[tuple[str, str, date], Decimal] = {}
    for channel, channel_days in days.items():
        spans = day_spans(channel.reporting_zone, channel_days, windows.get(channel.pk, {}))
        if not spans:
            continue
        for row in _rows(channel, spans):
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

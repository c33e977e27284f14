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

Channels whose days' spans are exactly their zone days (every vendor row reported in the channel's zone:
the common case) are read one query per zone, grouped by the zone's date; a channel whose vendor windows
differ is grouped by its spans (a ``CASE`` over them).

Cost is the rated ``cost_amount``: at the channel's contract cost in the contract currency once rating
prices by channel; a rollup in another cost currency is converted to the contract's at the vendor day's
dated rate (``catalog.selectors.fx.fx_rate``).
"""

from collections import defaultdict
from datetime import UTC, date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, DateField, F, Q, Sum, Value, When
from django.db.models.functions import Lower, TruncDate

from billing.upstream.reconcile.figures import Figures, day_window
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


def _summed(queryset, day):
    """``queryset`` grouped per account, model, cost currency and vendor day (``day``, an expression)."""
    return queryset.values("account", "model_id", "cost_currency", model_label=F("model__name"), vday=day)


def _grouped(rows, names: list[str], counted):
    """The sums of ``rows`` (from ``_summed``) of the accounts ``names``; requests ``counted``."""
    return rows.filter(account__in=names).annotate(
        n=counted, cost=Sum("cost_amount"), **{f"s_{c}": Sum(c) for c in SUMS}
    )


def _source(spans: list[Span]):
    """The rows to read for ``spans``: hourly rollups when all are on the hour, else the raw events."""
    if on_hours(spans):
        return operator_sold_hourly(), "hour", Sum("requests")
    return operator_sold_events(), "occurred_at", Count("id")


def _zone_rows(zone: str, spans: list[Span], names: list[str]):
    """Rows of channels whose days' spans are exactly their zone days: the day is the zone's date."""
    queryset, at, counted = _source(spans)
    rows = queryset.filter(
        **{f"{at}__gte": min(s for s, _e in spans), f"{at}__lt": max(e for _s, e in spans)}
    ).annotate(account=Lower("upstream_account"))
    return _grouped(_summed(rows, TruncDate(at, tzinfo=ZoneInfo(zone))), names, counted)


def _span_rows(spans: dict[date, list[Span]], names: list[str]):
    """Rows of a channel whose vendor windows differ from its zone days: the day is the span's."""
    pieces = [span for day_pieces in spans.values() for span in day_pieces]
    queryset, at, counted = _source(pieces)
    whens = [
        When(Q(**{f"{at}__gte": s, f"{at}__lt": e}), then=Value(d)) for d, ps in spans.items() for s, e in ps
    ]
    rows = queryset.filter(
        **{f"{at}__gte": min(s for s, _e in pieces), f"{at}__lt": max(e for _s, e in pieces)}
    ).annotate(account=Lower("upstream_account"))
    return _grouped(_summed(rows, Case(*whens, output_field=DateField())), names, counted)


def _zone_days(zone: str, days: list[date], spans: dict[date, list[Span]]) -> bool:
    """Whether each day's spans are exactly its day in ``zone`` (every vendor row in the channel's zone:
    the common case, read by the zone's date as one query per zone)."""
    return set(spans) == set(days) and all(
        spans[d] == [tuple(at.astimezone(UTC) for at in day_window(d, zone))] for d in days
    )


def _queries(days: dict[Channel, list[date]]):
    """The grouped queries that read our side, each with the channel of each lower-cased account."""
    every_day = {d for ds in days.values() for d in ds}
    windows = vendor_windows([c.pk for c in days], min(every_day), max(every_day))
    zones: dict[str, tuple[dict[str, Channel], list[Span]]] = defaultdict(lambda: ({}, []))
    for channel, channel_days in days.items():
        spans = day_spans(channel.reporting_zone, channel_days, windows.get(channel.pk, {}))
        if not spans:
            continue
        names = dict.fromkeys(channel_names(channel), channel)
        if _zone_days(channel.reporting_zone, channel_days, spans):
            zones[channel.reporting_zone][0].update(names)
            zones[channel.reporting_zone][1].extend(p for ps in spans.values() for p in ps)
        else:
            yield _span_rows(spans, list(names)), names
    for zone, (names, spans) in zones.items():
        yield _zone_rows(zone, spans, list(names)), names


def our_usage(days: dict[Channel, list[date]]) -> dict[tuple[int, str, date], tuple[int, Figures]]:
    """Our figures per (channel id, model name, vendor day) for each channel's ``days``, with the model
    id: ``{key: (model_id, Figures)}``; cost in the channel's contract currency."""
    wanted = {(c.pk, d) for c, ds in days.items() for d in ds}
    if not wanted:
        return {}
    found: dict[tuple[int, str, date], tuple[int, Figures]] = {}
    rates: dict[tuple[str, str, date], Decimal] = {}
    for rows, names in _queries(days):
        for row in rows:
            channel = names[row["account"]]
            if (channel.pk, row["vday"]) not in wanted:
                continue  # a day of the zone's range that is not due on this channel
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

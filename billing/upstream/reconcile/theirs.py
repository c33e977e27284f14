"""The vendor's side of a reconciliation: imported ``VendorUsage`` rows per channel × model × vendor day.

Rows of one channel, day and model are summed over the vendor's keys and the batch flag (the key the
import stores them under). The model is the catalog model the import matched, else the name as the vendor
reported it (an unknown name then stands alone and, against our usage, reads as a model mismatch or
unbilled usage). The vendor's cost is converted to the contract's currency at the day's dated rate when it
charged in another; a day with any row lacking a cost has no vendor cost (price is then not compared).
"""

from datetime import date
from decimal import Decimal

from billing.upstream.models import VendorUsage
from billing.upstream.reconcile.figures import Figures
from catalog.models import Channel
from catalog.selectors.fx import fx_rate


def vendor_usage(
    days: dict[Channel, list[date]],
) -> tuple[dict[tuple[int, str, date], tuple[int | None, Figures]], set[tuple[int, date]]]:
    """Return the vendor's figures per (channel id, model name, day) with the model id, and the
    (channel id, day) pairs for which the vendor sent any row at all."""
    wanted = {(c.pk, d): c for c, ds in days.items() for d in ds}
    if not wanted:
        return {}, set()
    all_days = {d for _c, d in wanted}
    rows = VendorUsage.objects.filter(
        channel_id__in={c for c, _d in wanted}, day__gte=min(all_days), day__lte=max(all_days)
    ).select_related("model")
    found: dict[tuple[int, str, date], tuple[int | None, Figures]] = {}
    costless: set[tuple[int, str, date]] = set()
    reported: set[tuple[int, date]] = set()
    rates: dict[tuple[str, str, date], Decimal] = {}
    for row in rows.order_by("pk"):
        channel = wanted.get((row.channel_id, row.day))
        if channel is None:
            continue
        reported.add((row.channel_id, row.day))
        currency = channel.contract.currency
        cost = row.cost
        if cost is not None and row.currency and row.currency != currency:
            pair = (row.currency, currency, row.day)
            if pair not in rates:
                rates[pair] = fx_rate(*pair)
            cost = cost * rates[pair]
        figures = Figures(
            requests=row.requests,
            input=row.input_tokens,
            cache_read=row.cache_read_tokens,
            cache_write=row.cache_write_tokens,
            cache_write_1h=row.cache_write_1h_tokens,
            output=row.output_tokens,
            cost=cost,
            currency=currency,
            has_cache_counts=row.has_cache_counts,
        )
        key = (row.channel_id, row.model.name if row.model_id else row.model_name, row.day)
        if cost is None:
            costless.add(key)
        previous = found.get(key)
        found[key] = (row.model_id, figures if previous is None else previous[1] + figures)
    for key in costless:
        model_id, figures = found[key]
        found[key] = (model_id, figures.with_cost(None, figures.currency))
    return found, reported

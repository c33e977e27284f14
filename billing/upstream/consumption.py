"""What channels consumed, at contract cost, from the usage rollups.

Every request has exactly one rollup row whose customer has no seller: the operator's sale (a reseller's
hop adds rows in its own book, which are not consumption of ours). That row carries the channel as the
event named it (``upstream_account``: the channel's name or an alias, in any case) and the cost rated at
the channel's contract, in the contract currency. Days are the operator's (``UsageDaily.day``).

Tokens are ``prompt_tokens + completion_tokens``: prompt tokens include cache reads and writes, completion
tokens include reasoning — what a vendor's token pack counts.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Lower

from billing.usage.models import UsageDaily
from catalog.models import Channel, ChannelAlias

ZERO = Decimal(0)


@dataclass
class ModelUse:
    """One model's consumption on a channel and day: cost at contract cost (contract currency), tokens."""

    cost: Decimal = ZERO
    tokens: int = 0


def channel_names(channels) -> dict[str, Channel]:
    """Lower-cased name or alias → channel, for ``channels`` (one query for the aliases)."""
    by_id = {c.pk: c for c in channels}
    names = {c.name.lower(): c for c in by_id.values()}
    for channel_id, alias in ChannelAlias.objects.filter(channel_id__in=by_id).values_list(
        "channel_id", "alias"
    ):
        names.setdefault(alias.lower(), by_id[channel_id])
    return names


def _rows(channels, date_from: date, date_to: date, *fields: str):
    names = channel_names(channels)
    rows = (
        UsageDaily.objects.annotate(account=Lower("upstream_account"))
        .filter(account__in=list(names), day__gte=date_from, day__lte=date_to, customer__seller__isnull=True)
        .values("account", "cost_currency", *fields)
        .annotate(cost=Sum("cost_amount"), prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"))
        .order_by()
    )
    for row in rows:
        channel = names[row["account"]]
        # Cost rated in another currency than the contract's is not this contract's cost (a rating fault
        # the reconciliation reports); it cannot draw a pack in the contract currency.
        if row["cost_currency"] == channel.contract.currency:
            yield channel, row


def daily_use(channels, date_from: date, date_to: date) -> dict[tuple[int, date], dict[int, ModelUse]]:
    """(channel id, day) → model id → consumption, for the days ``[date_from, date_to]``."""
    found: dict[tuple[int, date], dict[int, ModelUse]] = defaultdict(lambda: defaultdict(ModelUse))
    for channel, row in _rows(channels, date_from, date_to, "day", "model_id"):
        use = found[(channel.pk, row["day"])][row["model_id"]]
        use.cost += row["cost"] or ZERO
        use.tokens += (row["prompt"] or 0) + (row["completion"] or 0)
    return {key: dict(models) for key, models in found.items()}


def cost_by_channel(channels, date_from: date, date_to: date) -> dict[int, Decimal]:
    """Channel id → consumption at contract cost over ``[date_from, date_to]`` (contract currency)."""
    found: dict[int, Decimal] = defaultdict(Decimal)
    for channel, row in _rows(channels, date_from, date_to):
        found[channel.pk] += row["cost"] or ZERO
    return dict(found)


def cost_by_channel_day(channels, date_from: date, date_to: date) -> dict[int, dict[date, Decimal]]:
    """Channel id → day → consumption at contract cost (contract currency)."""
    found: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for channel, row in _rows(channels, date_from, date_to, "day"):
        found[channel.pk][row["day"]] += row["cost"] or ZERO
    return {pk: dict(days) for pk, days in found.items()}

"""Signal (c): a vendor's charge that reconciles only at another model's price table.

For each imported vendor usage row with a cost: the vendor's own token counts are priced at the channel's
contract cost of the model the row names (``channel_cost``, the price rating uses). When that misses the
vendor's cost by more than ``UpstreamSettings.cost_tolerance`` (relative), the same tokens are priced at
every other model the channel's contract prices, and at the list price of the vendor's other models; if
one of those lands within the tolerance, the vendor billed the named model's tokens at that model's prices:
a flag naming it. A miss that no other model explains is a price mismatch for reconciliation, not this.

Aggregate rows are priced at the tier of their mean prompt per request, with the request fee once per
request. The vendor's cost is compared in its own currency (the schedules are converted at the row's day
rate; a row whose rate is missing is skipped).
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, localcontext

from billing.upstream.mismatch.findings import Finding, decimal_text
from billing.upstream.models import MismatchFlag, VendorUsage
from billing.usage.resolve import models_resolve
from catalog.errors import MissingFxRate
from catalog.models import AIModel, BookKind, Channel, CostBasis, PriceEntry
from catalog.rating import EXACT, PriceSchedule, RatingError
from catalog.selectors.channels import channel_cost
from catalog.selectors.pricing import PricingSnapshot, in_force
from common.stored_text import stored


@dataclass(frozen=True)
class Priced:
    model: AIModel
    expected: Decimal
    gap: Decimal
    basis: str


def row_cost(schedule: PriceSchedule, row: VendorUsage) -> Decimal:
    """What ``schedule`` charges for the row's tokens (the schedule's currency, full precision).

    Raises RatingError when no tier covers the row's mean prompt."""
    requests = max(row.requests, 1)
    prompt = row.input_tokens + row.cache_read_tokens + row.cache_write_tokens + row.cache_write_1h_tokens
    tier = schedule.tiers[schedule.tier_index(prompt // requests)]
    prices = tier.batch_prices(schedule.batch_multiplier) if row.is_batch else tier.standard_prices()
    reasoning = min(row.reasoning_tokens, row.output_tokens)
    counts = (
        row.input_tokens,
        row.cache_read_tokens,
        row.cache_write_tokens,
        row.cache_write_1h_tokens,
        row.output_tokens - reasoning,
        reasoning,
    )
    with localcontext(EXACT):
        tokens = sum((price * count for price, count in zip(prices, counts, strict=True)), Decimal(0))
        return tokens.scaleb(-6) + schedule.request_fee * row.requests


def _gap(expected: Decimal, cost: Decimal) -> Decimal:
    """The relative miss |expected − cost| / cost: a ratio compared with the tolerance, not money."""
    with localcontext() as ctx:
        ctx.prec = 40
        return abs(expected - cost) / cost


class _Pricer:
    """Prices for one instant: the snapshot and, per channel, the models its contract prices."""

    def __init__(self, at: datetime):
        self.at = at
        self.snapshot = PricingSnapshot(at)
        self._channel_models: dict[int, list[AIModel]] = {}
        self._vendor_models: dict[int, list[AIModel]] = {}

    def _models(self, **filters) -> list[AIModel]:
        ids = PriceEntry.objects.filter(in_force(self.at), book__is_active=True, **filters).values("model_id")
        return list(AIModel.objects.filter(pk__in=ids).order_by("name"))

    def channel_models(self, channel: Channel) -> list[AIModel]:
        if channel.pk not in self._channel_models:
            contract = channel.contract
            if contract.cost_basis == CostBasis.BOOK:
                found = self._models(book=contract.cost_book_id)
            elif contract.list_book_id is not None:
                found = self._models(book=contract.list_book_id)
            else:
                found = self._models(book__kind=BookKind.LIST, model__vendor=contract.vendor_id)
            self._channel_models[channel.pk] = found
        return self._channel_models[channel.pk]

    def vendor_models(self, vendor_id: int) -> list[AIModel]:
        if vendor_id not in self._vendor_models:
            self._vendor_models[vendor_id] = self._models(book__kind=BookKind.LIST, model__vendor=vendor_id)
        return self._vendor_models[vendor_id]

    def price(self, schedule: PriceSchedule | None, row: VendorUsage, currency: str) -> Decimal | None:
        if schedule is None:
            return None
        try:
            return row_cost(self.snapshot.convert(schedule, currency), row)
        except (MissingFxRate, RatingError):
            return None

    def candidates(self, channel: Channel, named: AIModel) -> Iterator[tuple[AIModel, PriceSchedule, str]]:
        """Other models' schedules: at the channel's contract first, then at the vendors' list prices."""
        for model in self.channel_models(channel):
            if model.pk != named.pk:
                yield model, _contract_cost(self.snapshot, channel, model), "contract"
        vendors = sorted({channel.contract.vendor_id, named.vendor_id})
        for vendor_id in vendors:
            for model in self.vendor_models(vendor_id):
                if model.pk != named.pk:
                    yield model, self.snapshot.best_schedule(BookKind.LIST, model), "list"


def _contract_cost(snapshot: PricingSnapshot, channel: Channel, model: AIModel) -> PriceSchedule | None:
    """``channel_cost``, None when the rate to the contract's currency is missing: like a rate missing
    in ``price``, that row cannot be judged until the rate is entered."""
    try:
        return channel_cost(snapshot, channel, model)
    except MissingFxRate:
        return None


def _judge(pricer: _Pricer, row: VendorUsage, model: AIModel, tolerance: Decimal) -> dict | None:
    currency = row.currency or row.channel.contract.currency
    named_schedule = _contract_cost(pricer.snapshot, row.channel, model)
    named = pricer.price(named_schedule, row, currency)
    if named is None:
        return None  # the contract prices no such model: reconciliation reports it, nothing to compare
    named_gap = _gap(named, row.cost)
    if named_gap <= tolerance:
        return None
    best: Priced | None = None
    for other, schedule, basis in pricer.candidates(row.channel, model):
        expected = pricer.price(schedule, row, currency)
        if expected is None:
            continue
        gap = _gap(expected, row.cost)
        if gap <= tolerance and (best is None or gap < best.gap):
            best = Priced(other, expected, gap, basis)
    if best is None:
        return None
    return {
        "vendor_usage": row.pk,
        "model_name": row.model_name,
        "batch": row.is_batch,
        "vendor_key": row.vendor_key,
        "requests": row.requests,
        "input_tokens": row.input_tokens,
        "cache_read_tokens": row.cache_read_tokens,
        "cache_write_tokens": row.cache_write_tokens,
        "cache_write_1h_tokens": row.cache_write_1h_tokens,
        "output_tokens": row.output_tokens,
        "reasoning_tokens": row.reasoning_tokens,
        "cost": decimal_text(row.cost, 12),
        "currency": currency,
        "named_expected": decimal_text(named, 12),
        "named_gap": decimal_text(named_gap),
        "named_basis": named_schedule.basis or named_schedule.book,
        "match_model": best.model.name,
        "match_expected": decimal_text(best.expected, 12),
        "match_gap": decimal_text(best.gap),
        "match_basis": best.basis,
    }


def price_table_findings(date_from: date, date_to: date, *, tolerance: Decimal) -> Iterator[Finding]:
    """Yield a finding per channel × model × day in [date_from, date_to] whose vendor rows are charged
    at another model's prices; one finding holds every such row of its key."""
    rows = list(
        VendorUsage.objects.filter(day__gte=date_from, day__lte=date_to, cost__gt=0)
        .select_related(
            "channel__contract__vendor",
            "channel__contract__cost_book",
            "channel__contract__list_book",
            "model",
        )
        .order_by("day", "channel_id", "model_name", "is_batch", "vendor_key")
    )
    resolved = models_resolve({row.model_name for row in rows if row.model_id is None})
    pricers: dict[datetime, _Pricer] = {}
    flagged: dict[tuple, list[dict]] = defaultdict(list)
    named_models: dict[tuple, AIModel] = {}
    channels: dict[int, Channel] = {}
    for row in rows:
        model = row.model or resolved.get(row.model_name.lower())
        if model is None:
            continue
        pricer = pricers.get(row.starts_at)
        if pricer is None:
            pricer = pricers[row.starts_at] = _Pricer(row.starts_at)
        evidence = _judge(pricer, row, model, tolerance)
        if evidence is not None:
            key = (row.channel_id, model.name, row.day)
            flagged[key].append(evidence)
            named_models[key] = model
            channels[row.channel_id] = row.channel
    for (channel_id, model_name, day), found in flagged.items():
        matches = sorted({f["match_model"] for f in found})
        score = max(Decimal(f["named_gap"]) for f in found)
        yield Finding(
            channel=channels[channel_id],
            model=named_models[(channel_id, model_name, day)],
            model_name=model_name,
            day=day,
            signal=MismatchFlag.Signal.PRICE_TABLE,
            score=min(score, Decimal("99999999")),
            detail=(
                f"{len(found)} vendor row(s) miss {model_name}'s price by up to {score:.2%} "
                f"and match {', '.join(matches)}"
            )[:500],
            detail_message=stored(
                "upstream.mismatch.price_table",
                rows=len(found),
                model=model_name,
                gap=f"{score:.2%}",
                matches=", ".join(matches),
            ),
            evidence={"tolerance": decimal_text(tolerance, 6), "rows": found},
        )

"""Token allowances in the usage pipeline: draw one batch's rated events against them before posting.

The rules (token counting, order, overage) are in ``billing.allowances.drawdown``; this module maps the
pipeline's rows onto it. It runs after the batch's request ids were claimed (duplicates never draw) and
before rollups and postings, so those see the money actually charged: an event's ``sell_amount`` becomes
the uncovered share of its price (0 when fully covered) plus its images and audio seconds, which no token
allowance covers (``sale_units`` gives that part); ``cost_amount`` stays whole, for margin — except
where the cost is what the next hop of the chain was charged: a derived row drawn (a sub-distributor's
allowance, or its overage plan) sets the cost of the row one hop below to its new sale (``hop_costs``), so
the reseller's book owes its seller what the seller actually charged.
"""

from decimal import Decimal, localcontext

from billing.allowances.drawdown import Draw, allowances_draw, balances_load, draws_record, event_tokens
from billing.usage.models import TOKEN_COLUMNS, RatingState, UsageBatch, UsageEvent
from billing.usage.pricing import BatchPricer, Unpriced
from billing.usage.rating import units_of
from catalog.rating import (
    AUDIO_SECOND,
    EXACT,
    IMAGE,
    ZERO,
    PriceSchedule,
    RatingError,
    Usage,
    rate,
    rate_total,
)

# Unit classes a token allowance never covers. Audio tokens (audio_input, audio_output) are tokens.
_NOT_TOKENS = (IMAGE, AUDIO_SECOND)


def unit_amount(schedule: PriceSchedule, counts, batch: bool, at, service_tier: str, units) -> Decimal:
    """The part of a request's amount at ``schedule`` priced per image and per audio second, exact: the
    same lines ``rate_total``'s total adds up (the context tier the prompt picks, the window of ``at``).
    ``units`` in ``UNIT_FIELDS`` order, or None (all zero): then 0 without rating anything."""
    if units is None or not (units[2] or units[3]):
        return ZERO
    rating = rate(schedule, Usage(*counts, batch, at, *units, service_tier))
    with localcontext(EXACT):
        return sum((line.amount for line in rating.lines if line.token_class in _NOT_TOKENS), ZERO)


def sale_units(pricer: BatchPricer | None, draw: Draw, counts_of) -> Decimal:
    """``unit_amount`` of ``draw``'s sale at its customer's own price, the one that rated ``draw.sell``."""
    counts, batch, service_tier, units = counts_of(draw)
    if pricer is None or units is None or not (units[2] or units[3]):
        return ZERO
    prices = pricer.prices(draw.customer_id, draw.model_id, draw.at)
    return unit_amount(prices.sell, counts, batch, draw.at, service_tier, units)


def overage_pricer(pricer: BatchPricer | None, counts_of) -> tuple[callable, dict]:
    """Return ``overage_price(draw, plan_id)`` for ``allowances_draw`` and the dict where it notes, per
    draw, the overage plan's name, currency and time-of-day window (blank: standard prices).

    ``counts_of(draw)`` gives (the six token counts, batch, service tier, unit counts or None). The
    overage plan is rated at the draw's instant, so its window prices it as the customer's own plan
    would; its images and audio seconds are returned apart (``unit_amount``): they are charged whole."""
    notes: dict[int, tuple[str, str, str]] = {}

    def overage_price(draw: Draw, plan_id: int) -> tuple[Decimal, Decimal] | None:
        if pricer is None:
            return None
        counts, batch, service_tier, units = counts_of(draw)
        try:
            prices = pricer.plan_prices(plan_id, draw.model_id, draw.at)
            amount = rate_total(prices.sell, *counts, batch, draw.at, service_tier, units)
            units_part = unit_amount(prices.sell, counts, batch, draw.at, service_tier, units)
        except (Unpriced, RatingError):
            return None  # the overage plan cannot price it: the customer's own price stands
        window = prices.sell.window_label(draw.at, batch) if prices.sell.windows else ""
        notes[id(draw)] = (prices.plan, prices.sell.currency, window)
        return amount, units_part

    return overage_price, notes


def rows_draw(*, batch: UsageBatch, rows: list[UsageEvent], pricer: BatchPricer | None) -> int:
    """Draw ``rows`` (rated in memory, not yet saved) against their customers' allowances; return tokens."""
    rated = [r for r in rows if r.rating_state == RatingState.RATED and r.sell_amount is not None]
    if not rated:
        return 0
    times = [r.occurred_at for r in rated]
    balances = balances_load(customer_ids={r.customer_id for r in rated}, start=min(times), end=max(times))
    if not balances:
        return 0
    draws = [
        Draw(
            ref=r,
            customer_id=r.customer_id,
            model_id=r.model_id,
            at=r.occurred_at,
            tokens=event_tokens(r.prompt_tokens, r.completion_tokens),
            sell=r.sell_amount,
        )
        for r in sorted(rated, key=lambda r: (r.occurred_at, r.request_id))
        if r.customer_id in balances
    ]

    def counts_of(draw: Draw):
        row = draw.ref
        return tuple(getattr(row, c) for c in TOKEN_COLUMNS), row.is_batch, row.service_tier, units_of(row)

    for draw in draws:
        draw.units = sale_units(pricer, draw, counts_of)
    overage_price, notes = overage_pricer(pricer, counts_of)
    drawn = []
    for draw in allowances_draw(draws=draws, balances=balances, overage_price=overage_price):
        row = draw.ref
        row.sell_amount = draw.charged
        if id(draw) in notes:
            row.sell_plan, row.sell_currency, row.price_window = notes[id(draw)]
        drawn.append(row)
    hop_costs(rows, [row for row in drawn if row.hop])
    return draws_record(batch=batch, balances=balances)


def hop_costs(rows: list[UsageEvent], drawn: list[UsageEvent]) -> None:
    """Set the cost of the row one hop below each ``drawn`` derived row (both among ``rows``) to what that
    derived row now sells at: the buyer below bought the request at that price."""
    if not drawn:
        return
    below = {(r.source_id, r.request_id, r.hop): r for r in rows if r.rating_state == RatingState.RATED}
    for row in drawn:
        lower = below.get((row.source_id, row.request_id, row.hop - 1))
        if lower is not None:
            lower.cost_amount, lower.cost_currency = row.sell_amount, row.sell_currency

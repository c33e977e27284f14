"""The rating function: usage counts and a price schedule in, money per token class out.

Pure Python over plain dataclasses: no database, no settings, no clock. Loading prices into a
``PriceSchedule`` is the selectors' job (``catalog.selectors.pricing``); billing rates millions of
events through ``rate`` with schedules loaded once.

Be extremely careful changing this module. Invoices, wallets and reconciliation are built from its
results, and historical usage is re-rated with it when a missing price is fixed: a change here
changes money already billed. Arithmetic runs in ``EXACT``, which raises instead of rounding, so
every amount is exact at full precision (DESIGN.md §4.5); rounding happens once, on the invoice.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from typing import NamedTuple

from django.utils.translation import gettext_lazy as _

# 60 significant digits hold any price (24 digits) times any token count (19 digits) exactly; should
# a product ever need more, Inexact is raised rather than a rounded amount returned.
EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
_COEFFICIENT_LIMIT = 10**EXACT.prec

ZERO = Decimal(0)
ONE = Decimal(1)

# Token classes (what a price is per), in the order lines are returned and the catalog shows them.
# ``input`` is uncached input, ``output`` excludes reasoning tokens: together the classes partition all
# tokens of a request exactly once. Usage *counts* are named differently (USAGE_FIELDS below).
INPUT = "input"
CACHE_READ = "cache_read"
CACHE_WRITE_5M = "cache_write_5m"
CACHE_WRITE_1H = "cache_write_1h"
OUTPUT = "output"
REASONING = "reasoning"
REQUEST = "request"
TOKEN_CLASSES = (INPUT, CACHE_READ, CACHE_WRITE_5M, CACHE_WRITE_1H, OUTPUT, REASONING)
# Each class's name as the catalog's price tables head their columns (lazy: this module reads no settings).
TOKEN_CLASS_LABELS = {
    INPUT: _("Input"),
    CACHE_READ: _("Cache read"),
    CACHE_WRITE_5M: _("Cache write 5m"),
    CACHE_WRITE_1H: _("Cache write 1h"),
    OUTPUT: _("Output"),
    REASONING: _("Reasoning"),
}

# The six usage counts of a request (``Usage``'s fields), named as the API and gateways send them and as
# usage events and rollups store them (``billing.usage.models.TOKEN_COLUMNS``); errors name these fields.
# ``prompt_tokens`` includes the cache counts and ``completion_tokens`` the reasoning ones: they overlap,
# unlike the classes above.
USAGE_FIELDS = (
    "prompt_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "completion_tokens",
    "reasoning_tokens",
)


def class_counts(
    prompt: int, cache_read: int, cache_write: int, cache_write_1h: int, completion: int, reasoning: int
) -> tuple[int, int, int, int, int, int]:
    """Usage counts (``USAGE_FIELDS`` order) as tokens per class (``TOKEN_CLASSES`` order): input is the
    prompt without its cache traffic, output the completion without its reasoning. (``rate`` does the
    same inline: it is the hot loop.)"""
    return (
        prompt - cache_read - cache_write - cache_write_1h,
        cache_read,
        cache_write,
        cache_write_1h,
        completion - reasoning,
        reasoning,
    )


class RatingError(Exception):
    """Usage that cannot be rated against a schedule; ``field`` names the usage field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Usage:
    """Canonical usage counts of one request.

    ``prompt_tokens`` counts all input, cache reads and writes included; ``completion_tokens``
    counts all output, reasoning included. ``at`` is the event time (aware), used to pick prices.
    """

    prompt_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    batch: bool = False
    at: datetime | None = None


def usage_check(usage: Usage) -> None:
    """Raise RatingError naming the field if the counts are negative or do not add up."""
    for name in USAGE_FIELDS:
        value = getattr(usage, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise RatingError(name, f"{name} must be a whole number of tokens.")
        if value < 0:
            raise RatingError(name, f"{name} must not be negative (got {value}).")
    cached = 0
    # Name the first cache field at which the running sum passes the prompt: the one to fix.
    for name in ("cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens"):
        cached += getattr(usage, name)
        if cached > usage.prompt_tokens:
            raise RatingError(
                name,
                f"{name}: cache reads and writes ({cached}) exceed prompt_tokens ({usage.prompt_tokens}); "
                "prompt_tokens must include them.",
            )
    if usage.reasoning_tokens > usage.completion_tokens:
        raise RatingError(
            "reasoning_tokens",
            f"reasoning_tokens ({usage.reasoning_tokens}) exceed completion_tokens "
            f"({usage.completion_tokens}); completion_tokens must include them.",
        )


@dataclass(frozen=True, slots=True)
class TierPrices:
    """Per-million-token prices for prompts with ``lo < prompt_tokens ≤ hi`` (lo = 0 also takes 0).

    Optional prices fall back: cache read and 5-minute cache write to input, 1-hour cache write to
    5-minute cache write, reasoning to output. Batch prices, when given, replace the multiplier.
    """

    lo: int
    hi: int | None
    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    reasoning: Decimal | None = None
    batch_input: Decimal | None = None
    batch_output: Decimal | None = None

    @property
    def label(self) -> str:
        return f"({self.lo}, ∞)" if self.hi is None else f"({self.lo}, {self.hi}]"

    def covers(self, prompt_tokens: int) -> bool:
        above = prompt_tokens > self.lo or (self.lo == 0 and prompt_tokens == 0)
        return above and (self.hi is None or prompt_tokens <= self.hi)

    def standard_prices(self) -> tuple[Decimal, ...]:
        """Return the price of each token class, in TOKEN_CLASSES order, fallbacks applied."""
        cache_write_5m = self.input if self.cache_write_5m is None else self.cache_write_5m
        return (
            self.input,
            self.input if self.cache_read is None else self.cache_read,
            cache_write_5m,
            cache_write_5m if self.cache_write_1h is None else self.cache_write_1h,
            self.output,
            self.output if self.reasoning is None else self.reasoning,
        )

    def batch_prices(self, multiplier: Decimal | None) -> tuple[Decimal, ...]:
        """Return batch prices: explicit ones where published, else standard × multiplier.

        Without a multiplier, classes lacking an explicit batch price pay the standard price: the
        vendor offers no batch discount on them.
        """
        standard = self.standard_prices()
        with localcontext(EXACT):
            scaled = standard if multiplier is None else tuple(price * multiplier for price in standard)
        prices = list(scaled)
        if self.batch_input is not None:
            prices[0] = self.batch_input
        if self.batch_output is not None:
            prices[4] = self.batch_output
            if self.reasoning is None:
                prices[5] = self.batch_output
        return tuple(prices)

    def scaled(self, factor: Decimal) -> TierPrices:
        """Return this tier with every price multiplied by ``factor`` (markup, discount, FX)."""
        with localcontext(EXACT):

            def times(value: Decimal | None) -> Decimal | None:
                return None if value is None else value * factor

            return TierPrices(
                lo=self.lo,
                hi=self.hi,
                input=self.input * factor,
                output=self.output * factor,
                cache_read=times(self.cache_read),
                cache_write_5m=times(self.cache_write_5m),
                cache_write_1h=times(self.cache_write_1h),
                reasoning=times(self.reasoning),
                batch_input=times(self.batch_input),
                batch_output=times(self.batch_output),
            )


def _integer_prices(per_token: tuple[Decimal, ...], fee: Decimal) -> tuple[int, ...]:
    """Six per-token prices and the request fee as integer coefficients at one exponent, that exponent last.

    An exact Decimal sum of products ``price × count`` (count an integer) has the smallest exponent of
    its terms, and its value is the integer sum of the coefficients scaled to that exponent: so integer
    arithmetic (several times faster than Decimal's) gives ``rate()``'s total, value and exponent. The
    fee counts only when it is not zero, as in ``rate()``, which adds it only then.
    """
    terms = (*per_token, fee) if fee else per_token
    exponent = min(t.as_tuple().exponent for t in terms)
    scaled = [int(t.scaleb(-exponent, EXACT)) for t in terms]
    return (*scaled[:6], scaled[6] if fee else 0, exponent)


@dataclass(frozen=True, slots=True)
class PriceSchedule:
    """One model's prices from one book (or derived for one plan) over one span of time.

    ``tiers`` are sorted, contiguous and non-overlapping (the services refuse anything else).
    ``book`` names the source of the prices; ``plan`` is set when they were derived for a plan.
    """

    book: str
    kind: str
    currency: str
    model: str
    tiers: tuple[TierPrices, ...]
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    request_fee: Decimal = ZERO
    batch_multiplier: Decimal | None = None
    plan: str = ""
    basis: str = ""
    # Resolved per-tier price vectors, built once so rating does no fallback work per event.
    _bounds: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _standard: tuple[tuple[Decimal, ...], ...] = field(init=False, repr=False, compare=False)
    _batch: tuple[tuple[Decimal, ...], ...] = field(init=False, repr=False, compare=False)
    # The same prices per single token (scaleb is exact), so rating multiplies once per class.
    _standard_per_token: tuple[tuple[Decimal, ...], ...] = field(init=False, repr=False, compare=False)
    _batch_per_token: tuple[tuple[Decimal, ...], ...] = field(init=False, repr=False, compare=False)
    # The same again as integers at one common exponent (see _integer_prices), for rate_total.
    _standard_ints: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)
    _batch_ints: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)
    # One tier from 0 tokens up, unbounded (most schedules): tier_index needs no search.
    _one_tier: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError(f"{self.book}/{self.model}: a price schedule needs at least one tier.")
        object.__setattr__(self, "_bounds", tuple(t.lo for t in self.tiers))
        only = self.tiers[0]
        object.__setattr__(self, "_one_tier", len(self.tiers) == 1 and only.lo == 0 and only.hi is None)
        object.__setattr__(self, "_standard", tuple(t.standard_prices() for t in self.tiers))
        object.__setattr__(self, "_batch", tuple(t.batch_prices(self.batch_multiplier) for t in self.tiers))
        with localcontext(EXACT):
            for name in ("_standard", "_batch"):
                per_token = tuple(tuple(p.scaleb(-6) for p in prices) for prices in getattr(self, name))
                object.__setattr__(self, f"{name}_per_token", per_token)
                ints = tuple(_integer_prices(prices, self.request_fee) for prices in per_token)
                object.__setattr__(self, f"{name}_ints", ints)

    def covers(self, at: datetime) -> bool:
        return (self.effective_from is None or self.effective_from <= at) and (
            self.effective_to is None or at < self.effective_to
        )

    def tier_index(self, prompt_tokens: int) -> int:
        """Return the index of the tier that prices a prompt of this length, or raise RatingError."""
        if self._one_tier and prompt_tokens >= 0:
            return 0
        # bisect_left on the exclusive lower bounds: a prompt equal to a bound stays in the lower tier.
        index = max(bisect.bisect_left(self._bounds, prompt_tokens) - 1, 0)
        tier = self.tiers[index]
        if not tier.covers(prompt_tokens):
            top = self.tiers[-1].hi
            raise RatingError(
                "prompt_tokens",
                f"No price tier of {self.model} in {self.book} covers {prompt_tokens} prompt tokens"
                + (f"; the highest tier ends at {top}." if top is not None else "."),
            )
        return index

    def scaled(self, factor: Decimal, **changes) -> PriceSchedule:
        """Return a copy with every price (request fee included) times ``factor`` and fields changed."""
        with localcontext(EXACT):
            fee = self.request_fee * factor
        return replace(self, tiers=tuple(t.scaled(factor) for t in self.tiers), request_fee=fee, **changes)


class RatedLine(NamedTuple):
    """Money for one token class: ``tokens × unit_price / 1,000,000`` (request: count × fee).

    A named tuple rather than a dataclass because rating builds seven per event and tuples are
    several times cheaper to create.
    """

    token_class: str
    tokens: int
    unit_price: Decimal
    amount: Decimal


class Rating(NamedTuple):
    """The result of rating one request: every class's amount, the total and what priced it."""

    schedule: PriceSchedule
    tier: TierPrices
    batch: bool
    lines: tuple[RatedLine, ...]
    total: Decimal

    @property
    def currency(self) -> str:
        return self.schedule.currency

    def amount(self, token_class: str) -> Decimal:
        return sum((line.amount for line in self.lines if line.token_class == token_class), ZERO)


def rate(schedule: PriceSchedule, usage: Usage) -> Rating:
    """Rate one request against ``schedule``; exact, never rounded.

    Raises RatingError (with the usage field at fault) for impossible counts, for a prompt no tier
    covers, or for an event time outside the schedule's effective span.
    """
    prompt = usage.prompt_tokens
    cache_read, cache_write, cache_write_1h = (
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.cache_write_1h_tokens,
    )
    completion, reasoning = usage.completion_tokens, usage.reasoning_tokens
    uncached = prompt - cache_read - cache_write - cache_write_1h
    # One cheap test for the common case; usage_check finds and names the faulty field otherwise.
    if min(cache_read, cache_write, cache_write_1h, reasoning, uncached, completion - reasoning) < 0 or not (
        type(prompt) is int and type(completion) is int
    ):
        usage_check(usage)
    if usage.at is not None and not schedule.covers(usage.at):
        raise RatingError(
            "at", f"{schedule.book} prices for {schedule.model} are not in force at {usage.at}."
        )
    index = schedule.tier_index(prompt)
    if usage.batch:
        prices, per_token = schedule._batch[index], schedule._batch_per_token[index]
    else:
        prices, per_token = schedule._standard[index], schedule._standard_per_token[index]
    counts = (uncached, cache_read, cache_write, cache_write_1h, completion - reasoning, reasoning)
    with localcontext(EXACT):
        # Unrolled on purpose: this is the hot loop of usage ingestion (bench/rating.py).
        a0 = per_token[0] * counts[0]
        a1 = per_token[1] * counts[1]
        a2 = per_token[2] * counts[2]
        a3 = per_token[3] * counts[3]
        a4 = per_token[4] * counts[4]
        a5 = per_token[5] * counts[5]
        total = a0 + a1 + a2 + a3 + a4 + a5
        lines = [
            RatedLine(INPUT, counts[0], prices[0], a0),
            RatedLine(CACHE_READ, counts[1], prices[1], a1),
            RatedLine(CACHE_WRITE_5M, counts[2], prices[2], a2),
            RatedLine(CACHE_WRITE_1H, counts[3], prices[3], a3),
            RatedLine(OUTPUT, counts[4], prices[4], a4),
            RatedLine(REASONING, counts[5], prices[5], a5),
        ]
        fee = schedule.request_fee
        if fee:
            lines.append(RatedLine(REQUEST, 1, fee, fee))
            total += fee
    return Rating(schedule, schedule.tiers[index], usage.batch, tuple(lines), total)


def rate_total(
    schedule: PriceSchedule,
    prompt: int,
    cache_read: int,
    cache_write: int,
    cache_write_1h: int,
    completion: int,
    reasoning: int,
    batch: bool,
    at: datetime | None,
) -> Decimal:
    """Return ``rate(schedule, Usage(...)).total`` without building the lines: the bulk path's hot loop.

    Same arithmetic in the same order in ``EXACT`` (through the context's methods, so no thread-local
    context is switched per call): the result is identical to ``rate()``'s total, value and exponent,
    and the same ``RatingError`` is raised for anything ``rate()`` refuses (it is delegated to ``rate``).
    tests/catalog/test_rating_fast.py holds it to that on the goldens and generated schedules.
    """
    uncached = prompt - cache_read - cache_write - cache_write_1h
    if (
        type(prompt) is not int
        or type(completion) is not int
        or min(cache_read, cache_write, cache_write_1h, reasoning, uncached, completion - reasoning) < 0
        or (at is not None and not schedule.covers(at))
    ):
        return rate(
            schedule, Usage(prompt, cache_read, cache_write, cache_write_1h, completion, reasoning, batch, at)
        ).total
    index = schedule.tier_index(prompt)
    ints = schedule._batch_ints if batch else schedule._standard_ints
    n0, n1, n2, n3, n4, n5, fee, exponent = ints[index]
    total = (
        n0 * uncached
        + n1 * cache_read
        + n2 * cache_write
        + n3 * cache_write_1h
        + n4 * (completion - reasoning)
        + n5 * reasoning
        + fee
    )
    if -_COEFFICIENT_LIMIT < total < _COEFFICIENT_LIMIT:
        return Decimal(total).scaleb(exponent, EXACT)
    # Beyond EXACT's 60 digits: the Decimal arithmetic below refuses exactly as rate() does.
    p = schedule._batch_per_token[index] if batch else schedule._standard_per_token[index]
    mul, add = EXACT.multiply, EXACT.add
    total = add(
        add(
            add(
                add(add(mul(p[0], uncached), mul(p[1], cache_read)), mul(p[2], cache_write)),
                mul(p[3], cache_write_1h),
            ),
            mul(p[4], completion - reasoning),
        ),
        mul(p[5], reasoning),
    )
    fee = schedule.request_fee
    if fee:
        total = add(total, fee)
    return total


def schedule_at(schedules: Sequence[PriceSchedule], at: datetime) -> PriceSchedule | None:
    """Return the schedule in force at ``at`` from one book's history of a model, or None."""
    for schedule in schedules:
        if schedule.covers(at):
            return schedule
    return None


def margin_rate(revenue: Decimal, cost: Decimal) -> Decimal | None:
    """Return (revenue − cost) / revenue to six places — a ratio for display, not money."""
    if not revenue:
        return None
    return ((revenue - cost) / revenue).quantize(Decimal("0.000001"))

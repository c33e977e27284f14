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
from decimal import Decimal, localcontext
from typing import NamedTuple

from django.utils.translation import gettext_lazy as _

# Re-exported: callers read the plain price data and the exact context from here, with rating.
from catalog.tier_prices import (  # noqa: F401
    ALL_WEEKDAYS,
    EXACT,
    ONE,
    PRICE_FIELDS,
    WINDOW_FIELDS,
    ZERO,
    TierPrices,
    TimeWindow,
)
from common.stored_text import stored, stored_render

# Any exact total fits 60 digits (EXACT's precision); the integer path checks it stays below.
_COEFFICIENT_LIMIT = 10**EXACT.prec

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
# Units some models are also priced in (image and audio): audio tokens per million, like the classes
# above, carved out of input and output; images per image; audio per second. A request that carries
# none of them (nearly all) is rated exactly as before they existed.
AUDIO_INPUT = "audio_input"
AUDIO_OUTPUT = "audio_output"
IMAGE = "image"
AUDIO_SECOND = "audio_second"
UNIT_CLASSES = (AUDIO_INPUT, AUDIO_OUTPUT, IMAGE, AUDIO_SECOND)
# Each unit class's price is per this many of its counted units: audio tokens per million, images per
# image, audio per second counted in milliseconds.
UNIT_SCALES = (-6, -6, 0, -3)
# Each class's name as the catalog's price tables head their columns (lazy: this module reads no settings).
TOKEN_CLASS_LABELS = {
    INPUT: _("Input"),
    CACHE_READ: _("Cache read"),
    CACHE_WRITE_5M: _("Cache write 5m"),
    CACHE_WRITE_1H: _("Cache write 1h"),
    OUTPUT: _("Output"),
    REASONING: _("Reasoning"),
    AUDIO_INPUT: _("Audio input"),
    AUDIO_OUTPUT: _("Audio output"),
    IMAGE: _("Image"),
    AUDIO_SECOND: _("Audio second"),
}
# The unit each class is counted in, for documents and price lists.
CLASS_UNITS = {
    **dict.fromkeys((*TOKEN_CLASSES, AUDIO_INPUT, AUDIO_OUTPUT), "per_million_tokens"),
    IMAGE: "per_image",
    AUDIO_SECOND: "per_second",
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
# The unit counts (``Usage``'s fields after the six): audio tokens (included in prompt and completion
# tokens), images generated and audio milliseconds. Zero on almost every event; stored beside the six.
UNIT_FIELDS = ("audio_prompt_tokens", "audio_completion_tokens", "images", "audio_ms")


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

    def __init__(self, field: str, message: str, detail_message: dict | None = None):
        super().__init__(message)
        self.field = field
        self.message = message
        # ``message`` as stored text (common.stored_text): an unrated event's reason in its reader's language.
        self.detail_message = detail_message


def refused(field: str, key: str, /, **params) -> RatingError:
    """The refusal ``key`` (``catalog.stored_messages``) about ``field``: its English text and stored text."""
    message = stored(key, **params)
    return RatingError(field, stored_render(message, language="en"), message)


@dataclass(frozen=True, slots=True)
class Usage:
    """Canonical usage counts of one request.

    ``prompt_tokens`` counts all input, cache reads and writes (and audio input) included;
    ``completion_tokens`` counts all output, reasoning (and audio output) included. ``images`` are images
    generated, ``audio_ms`` audio milliseconds. ``at`` is the event time (aware), used to pick prices and
    the time-of-day window; ``service_tier`` the tier the request named (``flex``, ``priority``; blank:
    standard).
    """

    prompt_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    batch: bool = False
    at: datetime | None = None
    audio_prompt_tokens: int = 0
    audio_completion_tokens: int = 0
    images: int = 0
    audio_ms: int = 0
    service_tier: str = ""

    @property
    def units(self) -> tuple[int, int, int, int] | None:
        """The unit counts (``UNIT_FIELDS`` order), or None when all are zero (``rate_total``'s form)."""
        units = (self.audio_prompt_tokens, self.audio_completion_tokens, self.images, self.audio_ms)
        return units if any(units) else None


def usage_check(usage: Usage) -> None:
    """Raise RatingError naming the field if the counts are negative or do not add up."""
    for name in (*USAGE_FIELDS, *UNIT_FIELDS):
        value = getattr(usage, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise refused(name, "catalog.rating.not_whole", field=name)
        if value < 0:
            raise refused(name, "catalog.rating.negative", field=name, value=value)
    cached = 0
    # Name the first field at which the running sum passes the prompt: the one to fix.
    for name in ("cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "audio_prompt_tokens"):
        cached += getattr(usage, name)
        if cached > usage.prompt_tokens:
            raise refused(
                name,
                "catalog.rating.cached_over_prompt",
                field=name,
                cached=cached,
                prompt=usage.prompt_tokens,
            )
    if usage.reasoning_tokens > usage.completion_tokens:
        raise refused(
            "reasoning_tokens",
            "catalog.rating.reasoning_over_completion",
            reasoning=usage.reasoning_tokens,
            completion=usage.completion_tokens,
        )
    if usage.reasoning_tokens + usage.audio_completion_tokens > usage.completion_tokens:
        raise refused(
            "audio_completion_tokens",
            "catalog.rating.audio_over_completion",
            output=usage.reasoning_tokens + usage.audio_completion_tokens,
            completion=usage.completion_tokens,
        )


def _integer_prices(per_token: tuple[Decimal, ...], fee: Decimal) -> tuple[int, ...]:
    """Six per-token prices and the request fee as integer coefficients at one exponent, that exponent last.

    An exact Decimal sum of products ``price × count`` (count an integer) has the smallest exponent of
    its terms, and its value is the integer sum of the coefficients scaled to that exponent: so integer
    arithmetic (several times faster than Decimal's) gives ``rate()``'s total, value and exponent. The
    fee counts only when it is not zero, as in ``rate()``, which adds it only then. (A request with unit
    counts adds terms whose exponents may be smaller: ``rate_total`` leaves those few to ``rate``.)
    """
    terms = (*per_token[:6], fee) if fee else per_token[:6]
    exponent = min(t.as_tuple().exponent for t in terms)
    scaled = [int(t.scaleb(-exponent, EXACT)) for t in terms]
    return (*scaled[:6], scaled[6] if fee else 0, exponent)


class _PriceSet(NamedTuple):
    """One set of context tiers resolved for rating: the standard prices, or a service tier's."""

    tiers: tuple[TierPrices, ...]
    bounds: tuple[int, ...]
    one_tier: bool
    standard: tuple[tuple[Decimal, ...], ...]  # per tier: the six classes' per-million prices
    batch: tuple[tuple[Decimal, ...], ...]
    standard_per_unit: tuple[tuple[Decimal, ...], ...]  # per tier: six classes then four units, per unit
    batch_per_unit: tuple[tuple[Decimal, ...], ...]
    standard_ints: tuple[tuple[int, ...], ...]
    batch_ints: tuple[tuple[int, ...], ...]
    # Per tier: which unit classes have no price (images, audio seconds), as (image, audio) flags.
    unpriced: tuple[tuple[bool, bool], ...]
    standard_units: tuple[tuple[Decimal | None, ...], ...]
    batch_units: tuple[tuple[Decimal | None, ...], ...]


def _per_unit(prices: tuple[Decimal, ...], units: tuple[Decimal | None, ...]) -> tuple[Decimal, ...]:
    with localcontext(EXACT):
        tokens = tuple(p.scaleb(-6) for p in prices)
        extra = tuple(ZERO if p is None else p.scaleb(s) for p, s in zip(units, UNIT_SCALES, strict=True))
    return tokens + extra


def _price_set(tiers: tuple[TierPrices, ...], multiplier: Decimal | None, fee: Decimal) -> _PriceSet:
    standard = tuple(t.standard_prices() for t in tiers)
    batch = tuple(t.batch_prices(multiplier) for t in tiers)
    standard_units = tuple(t.unit_prices() for t in tiers)
    batch_units = tuple(t.batch_unit_prices(multiplier) for t in tiers)
    standard_per_unit = tuple(_per_unit(p, u) for p, u in zip(standard, standard_units, strict=True))
    batch_per_unit = tuple(_per_unit(p, u) for p, u in zip(batch, batch_units, strict=True))
    only = tiers[0]
    return _PriceSet(
        tiers=tiers,
        bounds=tuple(t.lo for t in tiers),
        one_tier=len(tiers) == 1 and only.lo == 0 and only.hi is None,
        standard=standard,
        batch=batch,
        standard_per_unit=standard_per_unit,
        batch_per_unit=batch_per_unit,
        standard_ints=tuple(_integer_prices(p, fee) for p in standard_per_unit),
        batch_ints=tuple(_integer_prices(p, fee) for p in batch_per_unit),
        unpriced=tuple((t.image is None, t.audio_second is None) for t in tiers),
        standard_units=standard_units,
        batch_units=batch_units,
    )


@dataclass(frozen=True, slots=True)
class PriceSchedule:
    """One model's prices from one book (or derived for one plan) over one span of time.

    ``tiers`` are sorted, contiguous and non-overlapping (the services refuse anything else).
    ``book`` names the source of the prices; ``plan`` is set when they were derived for a plan.
    ``service_tiers`` are named alternative tier sets (``flex``, ``priority``) an event may ask for;
    ``windows`` time-of-day prices over the standard ones (``TimeWindow``), the first that covers an
    event's instant wins.
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
    service_tiers: tuple[tuple[str, tuple[TierPrices, ...]], ...] = ()
    windows: tuple[TimeWindow, ...] = ()
    # The standard tiers resolved for rating, and each service tier's by name ("" is the standard set).
    _sets: dict[str, _PriceSet] = field(init=False, repr=False, compare=False)
    # Per window: the standard tiers with the window's prices in place, resolved the same way.
    _window_sets: dict[str, tuple[_PriceSet, ...]] = field(init=False, repr=False, compare=False)
    # The standard set's per-tier vectors, as before service tiers existed (price lists read them).
    _standard: tuple[tuple[Decimal, ...], ...] = field(init=False, repr=False, compare=False)
    _batch: tuple[tuple[Decimal, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError(f"{self.book}/{self.model}: a price schedule needs at least one tier.")
        sets = {"": _price_set(self.tiers, self.batch_multiplier, self.request_fee)}
        for name, tiers in self.service_tiers:
            if not tiers or not name:
                raise ValueError(f"{self.book}/{self.model}: service tier {name!r} needs a name and tiers.")
            sets[name] = _price_set(tiers, self.batch_multiplier, self.request_fee)
        object.__setattr__(self, "_sets", sets)
        # Per tier set, standard and each service tier's: the set's tiers with each window's prices in
        # place (LiteLLM applies off-peak prices after resolving a service tier's).
        windowed = {
            name: tuple(
                _price_set(tuple(w.over(t) for t in priced.tiers), self.batch_multiplier, self.request_fee)
                for w in self.windows
            )
            for name, priced in sets.items()
        }
        object.__setattr__(self, "_window_sets", windowed)
        object.__setattr__(self, "_standard", sets[""].standard)
        object.__setattr__(self, "_batch", sets[""].batch)

    def covers(self, at: datetime) -> bool:
        return (self.effective_from is None or self.effective_from <= at) and (
            self.effective_to is None or at < self.effective_to
        )

    def window_at(self, at: datetime | None, batch: bool = False) -> int:
        """The index of the window that prices a request at ``at``, or -1 (standard hours): windows price
        requests of every service tier, never batch requests."""
        if not self.windows or at is None or batch:
            return -1
        for index, window in enumerate(self.windows):
            if window.covers(at):
                return index
        return -1

    def window_label(self, at: datetime | None, batch: bool = False) -> str:
        """The label of the window that prices a request at ``at``; blank for standard prices."""
        index = self.window_at(at, batch)
        return self.windows[index].label if index >= 0 else ""

    def price_set(self, service_tier: str = "") -> _PriceSet:
        """The tier set a request naming ``service_tier`` is rated in: that tier's prices when this schedule
        has them, else the standard ones (a tier the vendor does not price costs the standard price)."""
        return self._sets.get(service_tier) or self._sets[""]

    def tier_index(self, prompt_tokens: int, service_tier: str = "") -> int:
        """Return the index of the tier that prices a prompt of this length, or raise RatingError."""
        priced = self.price_set(service_tier)
        if priced.one_tier and prompt_tokens >= 0:
            return 0
        # bisect_left on the exclusive lower bounds: a prompt equal to a bound stays in the lower tier.
        index = max(bisect.bisect_left(priced.bounds, prompt_tokens) - 1, 0)
        tier = priced.tiers[index]
        if not tier.covers(prompt_tokens):
            top = priced.tiers[-1].hi
            said = {"model": self.model, "priced_by": _priced_by(self), "prompt": prompt_tokens}
            if top is None:
                raise refused("prompt_tokens", "catalog.rating.no_tier", **said)
            raise refused("prompt_tokens", "catalog.rating.no_tier_top", **said, top=top)
        return index

    def scaled(self, factor: Decimal, **changes) -> PriceSchedule:
        """Return a copy with every price (request fee, service tiers and windows included) times
        ``factor`` and fields changed."""
        with localcontext(EXACT):
            fee = self.request_fee * factor
        return replace(
            self,
            tiers=tuple(t.scaled(factor) for t in self.tiers),
            request_fee=fee,
            service_tiers=tuple(
                (name, tuple(t.scaled(factor) for t in tiers)) for name, tiers in self.service_tiers
            ),
            windows=tuple(w.scaled(factor) for w in self.windows),
            **changes,
        )


class RatedLine(NamedTuple):
    """Money for one class: ``tokens × unit_price / 1,000,000`` (images: count × price per image; audio
    seconds: milliseconds × price per second / 1,000; request: count × fee).

    A named tuple rather than a dataclass because rating builds seven per event and tuples are
    several times cheaper to create.
    """

    token_class: str
    tokens: int
    unit_price: Decimal
    amount: Decimal


class Rating(NamedTuple):
    """The result of rating one request: every class's amount, the total and what priced it (the time
    window's label, blank for standard hours, and the service tier whose prices applied, blank for
    standard)."""

    schedule: PriceSchedule
    tier: TierPrices
    batch: bool
    lines: tuple[RatedLine, ...]
    total: Decimal
    window: str = ""
    service_tier: str = ""

    @property
    def currency(self) -> str:
        return self.schedule.currency

    def amount(self, token_class: str) -> Decimal:
        return sum((line.amount for line in self.lines if line.token_class == token_class), ZERO)


def _priced_by(schedule: PriceSchedule) -> str:
    """What a refusal names as the source of the prices: the plan a customer buys at when the prices were
    derived for one (never the book it derives from), else the book."""
    return schedule.plan or schedule.book


def _unit_refusal(schedule: PriceSchedule, images: int, audio_ms: int, unpriced: tuple[bool, bool]) -> None:
    if images and unpriced[0]:
        raise refused(
            "images", "catalog.rating.no_image_price", priced_by=_priced_by(schedule), model=schedule.model
        )
    if audio_ms and unpriced[1]:
        raise refused(
            "audio_ms", "catalog.rating.no_audio_price", priced_by=_priced_by(schedule), model=schedule.model
        )


def rate(schedule: PriceSchedule, usage: Usage) -> Rating:
    """Rate one request against ``schedule``; exact, never rounded.

    Raises RatingError (with the usage field at fault) for impossible counts, for a prompt no tier
    covers, for images or audio seconds the schedule does not price, or for an event time outside the
    schedule's effective span.
    """
    prompt = usage.prompt_tokens
    cache_read, cache_write, cache_write_1h = (
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.cache_write_1h_tokens,
    )
    completion, reasoning = usage.completion_tokens, usage.reasoning_tokens
    audio_in, audio_out, images, audio_ms = (
        usage.audio_prompt_tokens,
        usage.audio_completion_tokens,
        usage.images,
        usage.audio_ms,
    )
    uncached = prompt - cache_read - cache_write - cache_write_1h - audio_in
    output = completion - reasoning - audio_out
    # One cheap test for the common case; usage_check finds and names the faulty field otherwise.
    if min(
        cache_read,
        cache_write,
        cache_write_1h,
        reasoning,
        uncached,
        output,
        audio_in,
        audio_out,
        images,
        audio_ms,
    ) < 0 or not (type(prompt) is int and type(completion) is int):
        usage_check(usage)
    if usage.at is not None and not schedule.covers(usage.at):
        raise refused(
            "at",
            "catalog.rating.not_in_force",
            priced_by=_priced_by(schedule),
            model=schedule.model,
            at=usage.at,
        )
    tier_name = usage.service_tier if usage.service_tier in schedule._sets else ""
    index = schedule.tier_index(prompt, tier_name)
    window = schedule.window_at(usage.at, usage.batch)
    priced = schedule._window_sets[tier_name][window] if window >= 0 else schedule._sets[tier_name]
    if images or audio_ms:
        _unit_refusal(schedule, images, audio_ms, priced.unpriced[index])
    if usage.batch:
        prices, units, per_unit = priced.batch[index], priced.batch_units[index], priced.batch_per_unit[index]
    else:
        prices, units = priced.standard[index], priced.standard_units[index]
        per_unit = priced.standard_per_unit[index]
    counts = (uncached, cache_read, cache_write, cache_write_1h, output, reasoning)
    with localcontext(EXACT):
        # Unrolled on purpose: this is the hot loop of usage ingestion (bench/rating.py).
        a0 = per_unit[0] * counts[0]
        a1 = per_unit[1] * counts[1]
        a2 = per_unit[2] * counts[2]
        a3 = per_unit[3] * counts[3]
        a4 = per_unit[4] * counts[4]
        a5 = per_unit[5] * counts[5]
        total = a0 + a1 + a2 + a3 + a4 + a5
        lines = [
            RatedLine(INPUT, counts[0], prices[0], a0),
            RatedLine(CACHE_READ, counts[1], prices[1], a1),
            RatedLine(CACHE_WRITE_5M, counts[2], prices[2], a2),
            RatedLine(CACHE_WRITE_1H, counts[3], prices[3], a3),
            RatedLine(OUTPUT, counts[4], prices[4], a4),
            RatedLine(REASONING, counts[5], prices[5], a5),
        ]
        if audio_in or audio_out or images or audio_ms:
            unit_counts = (audio_in, audio_out, images, audio_ms)
            for position, (cls, count) in enumerate(zip(UNIT_CLASSES, unit_counts, strict=True), 6):
                if count:
                    amount = per_unit[position] * count
                    lines.append(RatedLine(cls, count, units[position - 6], amount))
                    total += amount
        fee = schedule.request_fee
        if fee:
            lines.append(RatedLine(REQUEST, 1, fee, fee))
            total += fee
    label = schedule.windows[window].label if window >= 0 else ""
    return Rating(schedule, priced.tiers[index], usage.batch, tuple(lines), total, label, tier_name)


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
    service_tier: str = "",
    units: tuple[int, int, int, int] | None = None,
) -> Decimal:
    """Return ``rate(schedule, Usage(...)).total`` without building the lines: the bulk path's hot loop.

    ``units`` are the unit counts (``UNIT_FIELDS`` order), None when all are zero. Same arithmetic in the
    same order in ``EXACT`` (through the context's methods, so no thread-local context is switched per
    call): the result is identical to ``rate()``'s total, value and exponent, and the same ``RatingError``
    is raised for anything ``rate()`` refuses (it is delegated to ``rate``).
    tests/catalog/test_rating_fast.py holds it to that on the goldens and generated schedules.
    """
    if units is not None:
        # Images and audio (rare): rate() prices them, with the exponent their terms give the total.
        return _delegated(
            schedule, (prompt, cache_read, cache_write, cache_write_1h, completion, reasoning), batch, at,
            service_tier, units,
        )  # fmt: skip
    uncached = prompt - cache_read - cache_write - cache_write_1h
    tier_name = service_tier if service_tier in schedule._sets else ""
    if (
        type(prompt) is not int
        or type(completion) is not int
        or min(cache_read, cache_write, cache_write_1h, reasoning, uncached, completion - reasoning) < 0
        or (at is not None and not schedule.covers(at))
    ):
        return _delegated(
            schedule, (prompt, cache_read, cache_write, cache_write_1h, completion, reasoning), batch, at,
            service_tier, None,
        )  # fmt: skip
    index = schedule.tier_index(prompt, tier_name)
    window = schedule.window_at(at, batch) if schedule.windows else -1
    priced = schedule._window_sets[tier_name][window] if window >= 0 else schedule._sets[tier_name]
    n0, n1, n2, n3, n4, n5, fee, exponent = (priced.batch_ints if batch else priced.standard_ints)[index]
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
    # Beyond EXACT's 60 digits: rate()'s Decimal arithmetic refuses exactly as it would.
    return _delegated(
        schedule, (prompt, cache_read, cache_write, cache_write_1h, completion, reasoning), batch, at,
        service_tier, None,
    )  # fmt: skip


def _delegated(schedule: PriceSchedule, counts: tuple, batch: bool, at, service_tier: str, units) -> Decimal:
    """``rate()``'s total for what the fast path does not take (units, refusals, overflow)."""
    return rate(schedule, Usage(*counts, batch, at, *(units or (0, 0, 0, 0)), service_tier)).total


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

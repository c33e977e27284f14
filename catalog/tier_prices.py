"""The prices of one context tier and of a time-of-day window: the plain data ``catalog.rating`` rates with.

Pure Python, no database. ``EXACT`` is the arithmetic context of all rating: it raises instead of
rounding, so every price and amount derived here is exact (DESIGN.md §4.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from zoneinfo import ZoneInfo

# 60 significant digits hold any price (24 digits) times any token count (19 digits) exactly; should
# a product ever need more, Inexact is raised rather than a rounded amount returned.
EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class TierPrices:
    """Per-million-token prices for prompts with ``lo < prompt_tokens ≤ hi`` (lo = 0 also takes 0).

    Optional prices fall back: cache read and 5-minute cache write to input, 1-hour cache write to
    5-minute cache write, reasoning to output, audio input to input, audio output to output. Batch
    prices, when given, replace the multiplier. ``image`` is per image and ``audio_second`` per second
    of audio: they have no fallback, and a request that carries images or audio seconds where they are
    blank cannot be rated.
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
    audio_input: Decimal | None = None
    audio_output: Decimal | None = None
    image: Decimal | None = None
    audio_second: Decimal | None = None

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

    def unit_prices(self) -> tuple[Decimal | None, ...]:
        """Return the price of each unit class, in UNIT_CLASSES order: audio tokens fall back to input and
        output, images and audio seconds stay None (unpriced) when blank."""
        return (
            self.input if self.audio_input is None else self.audio_input,
            self.output if self.audio_output is None else self.audio_output,
            self.image,
            self.audio_second,
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

    def batch_unit_prices(self, multiplier: Decimal | None) -> tuple[Decimal | None, ...]:
        """Unit prices of a batch request: standard × multiplier (standard without one)."""
        units = self.unit_prices()
        if multiplier is None:
            return units
        with localcontext(EXACT):
            return tuple(None if price is None else price * multiplier for price in units)

    def scaled(self, factor: Decimal) -> TierPrices:
        """Return this tier with every price multiplied by ``factor`` (markup, discount, FX)."""
        with localcontext(EXACT):
            changes = {
                name: None if (value := getattr(self, name)) is None else value * factor
                for name in PRICE_FIELDS
            }
        return replace(self, **changes)


# Every price a tier holds (``TierPrices``' fields after the bounds).
PRICE_FIELDS = (
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "reasoning",
    "batch_input",
    "batch_output",
    "audio_input",
    "audio_output",
    "image",
    "audio_second",
)
# The prices a time-of-day window may replace (the per-token and audio token classes).
WINDOW_FIELDS = (
    "input",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "reasoning",
    "audio_input",
    "audio_output",
)
ALL_WEEKDAYS = 0b1111111
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# 1970-01-01 was a Thursday: minutes since the epoch plus this many are minutes since a Monday 00:00.
_EPOCH_WEEK_SHIFT = 3 * MINUTES_PER_DAY
_HOUR = timedelta(hours=1)
_LAST_MICROSECOND = timedelta(hours=1, microseconds=-1)
# Each zone's UTC offset (seconds) by UTC hour since the epoch, None for an hour in which it changes:
# shared by every window of the zone (a schedule's scaled copies too), cleared when it grows this large.
_ZONE_OFFSETS: dict[str, dict[int, int | None]] = {}
_OFFSETS_KEPT = 1 << 20


def _hour_offset(zone: ZoneInfo, hour: int) -> int | None:
    """``zone``'s UTC offset in seconds throughout UTC hour ``hour`` (since the epoch), or None when it
    differs at the hour's first and last microsecond. No tz database zone changes its offset twice within
    a day, so equal ends mean one offset all hour long."""
    start = _EPOCH + hour * _HOUR
    first, last = start.astimezone(zone).utcoffset(), (start + _LAST_MICROSECOND).astimezone(zone).utcoffset()
    if first != last or first.microseconds:
        return None
    return first.days * 86_400 + first.seconds


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Prices in force during recurring hours of the week (off-peak, 错峰): DeepSeek's night prices.

    ``rules`` are ``(weekdays, start, end)``: a bit mask of ISO weekdays (bit 0 Monday … bit 6 Sunday)
    and minutes of the day in ``zone``; ``start ≤ t < end``, a start after the end wraps past midnight
    and a start equal to the end is the whole day. Weekday and time are both read at the event's own
    instant in ``zone`` (as LiteLLM reads ``off_peak_pricing``): 02:00 on Saturday of a Friday-night
    window is Saturday's. A price given here replaces the tier's price of that class for the whole
    request, whatever its context tier or service tier; a blank one keeps the tier's own price of that
    class, and a class the tier does not price either follows the window: cache reads and 5-minute writes
    its input, 1-hour writes its 5-minute write, reasoning its output, audio tokens its input and output
    (LiteLLM's rule). Batch requests keep their batch prices.
    """

    label: str
    zone: str
    rules: tuple[tuple[int, int, int], ...]
    input: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    output: Decimal | None = None
    reasoning: Decimal | None = None
    audio_input: Decimal | None = None
    audio_output: Decimal | None = None
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    # The rules as one flag per minute of the week (Monday 00:00 first), and the zone's offsets by hour:
    # ``covers`` is then two lookups and integer arithmetic (the rating benchmark's windowed figure).
    _week: bytes = field(init=False, repr=False, compare=False)
    _offsets: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.rules:
            raise ValueError(f"window {self.label!r}: at least one rule is required.")
        for weekdays, start, end in self.rules:
            if not (
                0 < weekdays <= ALL_WEEKDAYS and 0 <= start < MINUTES_PER_DAY and 0 <= end < MINUTES_PER_DAY
            ):
                raise ValueError(f"window {self.label!r}: rule {(weekdays, start, end)} is out of range.")
        object.__setattr__(self, "_tz", ZoneInfo(self.zone))
        week = bytearray(MINUTES_PER_WEEK)
        for weekdays, start, end in self.rules:
            for day in range(7):
                if weekdays >> day & 1:
                    base, first = day * MINUTES_PER_DAY, start
                    if start >= end:  # the whole day, or past midnight: the day's end, then its start
                        week[base + start : base + MINUTES_PER_DAY] = b"\x01" * (MINUTES_PER_DAY - start)
                        first = 0
                    week[base + first : base + end] = b"\x01" * (end - first)
        object.__setattr__(self, "_week", bytes(week))
        object.__setattr__(self, "_offsets", _ZONE_OFFSETS.setdefault(self.zone, {}))

    def covers(self, at: datetime) -> bool:
        """True when ``at`` (aware; a naive one is taken as UTC) falls in one of the rules.

        The instant's local minute of the week, in whole-number arithmetic: UTC seconds since the epoch
        plus the zone's offset then, as ``astimezone`` would give it (its hour and minute, its weekday).
        """
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        try:
            delta = at - _EPOCH
        except TypeError:  # a tzinfo that gives no offset: astimezone reads it as the host's local time
            return self._rules_cover(at.astimezone(self._tz))
        seconds = delta.days * 86_400 + delta.seconds
        hour = seconds // 3600
        offsets = self._offsets
        offset = offsets.get(hour, False)
        if offset is False:
            if len(offsets) >= _OFFSETS_KEPT:
                offsets.clear()
            offset = offsets[hour] = _hour_offset(self._tz, hour)
        if offset is None:  # the hour the zone's offset changes in: read the instant itself
            return self._rules_cover(at.astimezone(self._tz))
        return self._week[((seconds + offset) // 60 + _EPOCH_WEEK_SHIFT) % MINUTES_PER_WEEK] == 1

    def _rules_cover(self, local: datetime) -> bool:
        """The rules read on a local time (weekday, hour and minute in ``zone``)."""
        minute = local.hour * 60 + local.minute
        day = 1 << (local.isoweekday() - 1)
        for weekdays, start, end in self.rules:
            if weekdays & day and (
                start == end or (start <= minute < end if start < end else (minute >= start or minute < end))
            ):
                return True
        return False

    def over(self, tier: TierPrices) -> TierPrices:
        """``tier`` with this window's prices in place, fallbacks resolved as the class docstring says."""
        standard = tier.standard_prices()
        own = {name: getattr(self, name) for name in WINDOW_FIELDS}
        output = own["output"] if own["output"] is not None else standard[4]
        input_ = own["input"] if own["input"] is not None else standard[0]
        # A cache price the tier does not give either is the window's input price, as LiteLLM resolves an
        # absent cache rate (never the standard input: a cached token would cost more than an uncached one).
        write_5m = (
            own["cache_write_5m"]
            if own["cache_write_5m"] is not None
            else (tier.cache_write_5m if tier.cache_write_5m is not None else input_)
        )
        resolved = {
            "input": input_,
            "cache_read": own["cache_read"]
            if own["cache_read"] is not None
            else (tier.cache_read if tier.cache_read is not None else input_),
            "cache_write_5m": write_5m,
            "cache_write_1h": own["cache_write_1h"]
            if own["cache_write_1h"] is not None
            else (tier.cache_write_1h if tier.cache_write_1h is not None else write_5m),
            "output": output,
            "reasoning": own["reasoning"]
            if own["reasoning"] is not None
            else (tier.reasoning if tier.reasoning is not None else output),
            "audio_input": own["audio_input"]
            if own["audio_input"] is not None
            else (tier.audio_input if tier.audio_input is not None else input_),
            "audio_output": own["audio_output"]
            if own["audio_output"] is not None
            else (tier.audio_output if tier.audio_output is not None else output),
        }
        return replace(tier, **resolved)

    def scaled(self, factor: Decimal) -> TimeWindow:
        with localcontext(EXACT):
            changes = {
                name: None if (value := getattr(self, name)) is None else value * factor
                for name in WINDOW_FIELDS
            }
        return replace(self, **changes)

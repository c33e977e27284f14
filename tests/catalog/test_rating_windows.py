"""The rating function's time-of-day windows (off-peak, 错峰), service tiers and image/audio units.

Windows follow LiteLLM's ``off_peak_pricing`` semantics: weekday and time read at the event's own instant
in the window's zone, start inclusive, end exclusive, a start after the end wraps past midnight, equal
start and end the whole day; a window price replaces the class price for the whole request. ``rate_total``
(the bulk path) must give exactly ``rate()``'s total on all of them.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.rating import (
    PriceSchedule,
    RatingError,
    TierPrices,
    TimeWindow,
    Usage,
    rate,
    rate_total,
)
from tests.catalog.test_properties import schedules

D = Decimal
WEEKDAYS = 0b0011111
WEEKEND = 0b1100000
SHANGHAI = "Asia/Shanghai"


def deepseek(zone: str = SHANGHAI, **changes) -> PriceSchedule:
    """DeepSeek's published off-peak shape: weekday nights (18:00–08:00 in ``zone``) and whole weekends at
    half the input and output price and half the cache-read price."""
    window = TimeWindow(
        label="Off-peak",
        zone=zone,
        rules=((WEEKDAYS, 18 * 60, 8 * 60), (WEEKEND, 0, 0)),
        input=D("1"),
        cache_read=D("0.1"),
        output=D("4"),
    )
    return PriceSchedule(
        book="DeepSeek list",
        kind="list",
        currency="CNY",
        model="deepseek-chat",
        tiers=(TierPrices(0, None, D("2"), D("8"), cache_read=D("0.2")),),
        windows=(window,),
        **changes,
    )


def usage_at(at: datetime, **more) -> Usage:
    return Usage(prompt_tokens=1_000_000, cache_read_tokens=200_000, completion_tokens=500_000, at=at, **more)


PEAK = D("0.8") * 2 + D("0.2") * D("0.2") + D("0.5") * 8  # 5.64
OFF = D("0.8") * 1 + D("0.2") * D("0.1") + D("0.5") * 4  # 2.82


def total(schedule: PriceSchedule, usage: Usage) -> Decimal:
    """``rate()``'s total, after checking ``rate_total`` gives the same value and exponent."""
    full = rate(schedule, usage).total
    fast = rate_total(
        schedule,
        usage.prompt_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.cache_write_1h_tokens,
        usage.completion_tokens,
        usage.reasoning_tokens,
        usage.batch,
        usage.at,
        usage.service_tier,
        usage.units,
    )
    assert (fast, str(fast)) == (full, str(full))
    return full


# 2026-12-07 is a Monday; Shanghai is UTC+8 all year.
@pytest.mark.parametrize(
    ("at", "window"),
    [
        (datetime(2026, 12, 7, 9, 59, 59, 999999, tzinfo=UTC), ""),  # Mon 17:59:59.999 Shanghai
        (datetime(2026, 12, 7, 10, 0, tzinfo=UTC), "Off-peak"),  # Mon 18:00 Shanghai: the start is in
        (datetime(2026, 12, 7, 23, 59, tzinfo=UTC), "Off-peak"),  # Tue 07:59 Shanghai, wrapped
        (datetime(2026, 12, 8, 0, 0, tzinfo=UTC), ""),  # Tue 08:00 Shanghai: the end is out
        (datetime(2026, 12, 7, 4, 0, tzinfo=UTC), ""),  # Mon 12:00 Shanghai
        # Friday 20:00 UTC is Saturday 04:00 in Shanghai: the weekend rule, read in the zone.
        (datetime(2026, 12, 11, 20, 0, tzinfo=UTC), "Off-peak"),
        (datetime(2026, 12, 12, 12, 0, tzinfo=UTC), "Off-peak"),  # Sat 20:00 Shanghai
        # Sunday 16:00 UTC is Monday 00:00 in Shanghai: a weekday night, still off-peak.
        (datetime(2026, 12, 13, 16, 0, tzinfo=UTC), "Off-peak"),
        # Sunday 23:59 UTC is Monday 07:59; Monday 00:00 UTC is Monday 08:00: peak begins.
        (datetime(2026, 12, 14, 0, 0, tzinfo=UTC), ""),
    ],
)
def test_a_window_prices_by_the_events_instant_in_its_zone(at, window):
    schedule = deepseek()
    rated = rate(schedule, usage_at(at))
    assert rated.window == window
    assert total(schedule, usage_at(at)) == (OFF if window else PEAK)
    assert schedule.window_label(at) == window


def test_the_same_rules_in_utc_move_with_the_zone():
    """Read in UTC instead of Shanghai, 10:00 UTC on a Monday is peak (18:00 is the UTC start)."""
    at = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert rate(deepseek(zone="UTC"), usage_at(at)).window == ""
    assert rate(deepseek(zone="UTC"), usage_at(at + timedelta(hours=8))).window == "Off-peak"


def test_batch_requests_keep_batch_prices_at_night():
    at = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)
    schedule = deepseek(batch_multiplier=D("0.5"))
    rated = rate(schedule, usage_at(at, batch=True))
    assert rated.window == ""
    assert total(schedule, usage_at(at, batch=True)) == PEAK / 2


def test_an_event_without_an_instant_pays_standard_prices():
    assert total(deepseek(), usage_at(None)) == PEAK


def test_window_prices_replace_every_context_tier_and_blank_classes_keep_the_standard():
    """A long-context tier's peak price does not survive the window (LiteLLM's rule); a class the window
    does not price keeps the tier's own price, and 1-hour writes and reasoning without their own tier
    price follow the window's 5-minute write and output."""
    window = TimeWindow("Off-peak", "UTC", ((0b1111111, 0, 0),), input=D("1"), output=D("4"))
    schedule = PriceSchedule(
        book="b",
        kind="list",
        currency="CNY",
        model="m",
        tiers=(
            TierPrices(0, 1000, D("2"), D("8"), cache_read=D("0.5")),
            TierPrices(1000, None, D("3"), D("9"), cache_read=D("0.7"), cache_write_5m=D("5")),
        ),
        windows=(window,),
    )
    at = datetime(2026, 12, 7, tzinfo=UTC)
    usage = Usage(2000, cache_read_tokens=100, cache_write_1h_tokens=100, completion_tokens=10, at=at)
    rated = rate(schedule, usage)
    prices = {line.token_class: line.unit_price for line in rated.lines}
    assert prices == {
        "input": D("1"),
        "cache_read": D("0.7"),  # the tier's own, standard
        "cache_write_5m": D("5"),
        "cache_write_1h": D("5"),  # follows the 5-minute write
        "output": D("4"),
        "reasoning": D("4"),  # follows the window's output
    }
    assert total(schedule, usage) == rated.total


def test_a_derived_plan_scales_its_windows():
    at = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)
    plan = deepseek().scaled(D("0.9"), kind="sell", plan="Discount")
    assert plan.windows[0].input == D("0.9")
    assert total(plan, usage_at(at)) == OFF * D("0.9")


def test_a_window_needs_rules_within_the_day():
    with pytest.raises(ValueError, match="out of range"):
        TimeWindow("x", "UTC", ((WEEKDAYS, 0, 24 * 60),))
    with pytest.raises(ValueError, match="at least one rule"):
        TimeWindow("x", "UTC", ())


def flex_schedule() -> PriceSchedule:
    return PriceSchedule(
        book="OpenAI list",
        kind="list",
        currency="USD",
        model="gpt-5",
        tiers=(TierPrices(0, None, D("1.25"), D("10"), cache_read=D("0.125")),),
        service_tiers=(
            ("flex", (TierPrices(0, None, D("0.625"), D("5"), cache_read=D("0.0625")),)),
            ("priority", (TierPrices(0, None, D("2.5"), D("20"), cache_read=D("0.25")),)),
        ),
        # Sundays only: 2026-12-06 is a Sunday, 2026-12-07 a Monday.
        windows=(TimeWindow("Sunday", "UTC", ((0b1000000, 0, 0),), input=D("0.1"), output=D("0.1")),),
    )


@pytest.mark.parametrize(
    ("tier", "expected", "named"),
    [
        ("flex", D("0.625") + D("5"), "flex"),
        ("priority", D("2.5") + D("20"), "priority"),
        # A tier the vendor does not price costs the standard price.
        ("scale", D("1.25") + D("10"), ""),
        ("", D("1.25") + D("10"), ""),
    ],
)
def test_a_service_tier_is_rated_at_its_own_prices(tier, expected, named):
    at = datetime(2026, 12, 7, tzinfo=UTC)
    usage = Usage(1_000_000, completion_tokens=1_000_000, at=at, service_tier=tier)
    rated = rate(flex_schedule(), usage)
    assert (rated.total, rated.service_tier, rated.window) == (expected, named, "")
    assert total(flex_schedule(), usage) == expected


@pytest.mark.parametrize("tier", ["flex", "priority", "scale", ""])
def test_a_window_prices_every_service_tier(tier):
    """LiteLLM applies off-peak prices after resolving the service tier's: in the window a flex request
    pays the window's input and output, and the flex tier's own cache price (the window has none)."""
    at = datetime(2026, 12, 6, 12, tzinfo=UTC)
    usage = Usage(
        1_000_000, cache_read_tokens=1_000_000, completion_tokens=1_000_000, at=at, service_tier=tier
    )
    rated = rate(flex_schedule(), usage)
    cache = {"flex": D("0.0625"), "priority": D("0.25")}.get(tier, D("0.125"))
    assert (rated.window, rated.total) == ("Sunday", cache + D("0.1"))
    assert total(flex_schedule(), usage) == rated.total


def test_a_window_over_a_tier_without_cache_prices_charges_cache_at_the_windows_input():
    """LiteLLM resolves an absent cache rate to the input rate in force: the window's, at night (a cached
    token never costs more than an uncached one)."""
    window = TimeWindow("Night", "UTC", ((0b1111111, 0, 0),), input=D("1"), output=D("4"))
    schedule = PriceSchedule(
        book="b",
        kind="list",
        currency="USD",
        model="m",
        tiers=(TierPrices(0, None, D("2"), D("8")),),
        windows=(window,),
    )
    at = datetime(2026, 12, 7, tzinfo=UTC)
    usage = Usage(3_000_000, cache_read_tokens=1_000_000, cache_write_tokens=1_000_000, at=at)
    prices = {line.token_class: line.unit_price for line in rate(schedule, usage).lines}
    assert (prices["cache_read"], prices["cache_write_5m"], prices["cache_write_1h"]) == (
        D("1"),
        D("1"),
        D("1"),
    )
    assert total(schedule, usage) == D("3")


def test_images_and_audio_are_priced_per_image_and_per_second():
    schedule = PriceSchedule(
        book="b",
        kind="list",
        currency="USD",
        model="gpt-image",
        tiers=(
            TierPrices(
                0,
                None,
                D("5"),
                D("40"),
                audio_input=D("32"),
                audio_output=D("64"),
                image=D("0.04"),
                audio_second=D("0.0001"),
            ),
        ),
    )
    usage = Usage(
        prompt_tokens=1000,
        completion_tokens=500,
        audio_prompt_tokens=400,
        audio_completion_tokens=100,
        images=3,
        audio_ms=12_345,
    )
    rated = rate(schedule, usage)
    amounts = {line.token_class: line.amount for line in rated.lines}
    assert amounts["input"] == D("600") * D("5") / 10**6
    assert amounts["audio_input"] == D("400") * D("32") / 10**6
    assert amounts["output"] == D("400") * D("40") / 10**6
    assert amounts["audio_output"] == D("100") * D("64") / 10**6
    assert amounts["image"] == D("0.12")
    assert amounts["audio_second"] == D("12.345") * D("0.0001")  # 12.345 seconds
    assert rated.total == sum(amounts.values())
    assert total(schedule, usage) == rated.total


def test_images_on_a_model_without_an_image_price_are_refused_not_given_away():
    schedule = deepseek()
    with pytest.raises(RatingError) as refused:
        rate(schedule, Usage(10, images=1))
    assert refused.value.field == "images"
    with pytest.raises(RatingError) as refused:
        rate_total(schedule, 10, 0, 0, 0, 0, 0, False, None, "", (0, 0, 0, 1500))
    assert refused.value.field == "audio_ms"


def test_audio_tokens_must_fit_in_the_prompt_and_completion():
    with pytest.raises(RatingError) as refused:
        rate(deepseek(), Usage(10, cache_read_tokens=5, audio_prompt_tokens=6))
    assert refused.value.field == "audio_prompt_tokens"
    with pytest.raises(RatingError) as refused:
        rate(deepseek(), Usage(0, completion_tokens=10, reasoning_tokens=5, audio_completion_tokens=6))
    assert refused.value.field == "audio_completion_tokens"


MINUTES = st.integers(0, 24 * 60 - 1)
RULES = st.lists(st.tuples(st.integers(1, 127), MINUTES, MINUTES), min_size=1, max_size=3)
ZONES = st.sampled_from(["UTC", SHANGHAI, "Asia/Kolkata", "America/New_York", "Europe/Berlin"])
INSTANTS = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31)).map(lambda d: d.replace(tzinfo=UTC))


def reference_covers(rules, zone, at: datetime) -> bool:
    """The window rule stated plainly, for the property below."""
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo(zone))
    minute = local.hour * 60 + local.minute
    for days, start, end in rules:
        if not days & (1 << (local.isoweekday() - 1)):
            continue
        if start == end or (start <= minute < end) or (start > end and (minute >= start or minute < end)):
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(schedules(), RULES, ZONES, INSTANTS, st.booleans())
def test_windows_on_generated_schedules_rate_as_stated_on_both_paths(schedule, rules, zone, at, batch):
    window = TimeWindow("W", zone, tuple(rules), input=D("0.3"), output=D("0.7"), cache_read=D("0.01"))
    windowed = PriceSchedule(
        book=schedule.book,
        kind=schedule.kind,
        currency=schedule.currency,
        model=schedule.model,
        tiers=schedule.tiers,
        request_fee=schedule.request_fee,
        batch_multiplier=schedule.batch_multiplier,
        windows=(window,),
    )
    prompt = schedule.tiers[-1].lo + 1
    usage = Usage(prompt, cache_read_tokens=prompt // 3, completion_tokens=999, batch=batch, at=at)
    expected_in = reference_covers(rules, zone, at) and not batch
    rated = rate(windowed, usage)
    assert rated.window == ("W" if expected_in else "")
    if expected_in:
        assert {line.token_class: line.unit_price for line in rated.lines}["input"] == D("0.3")
    else:
        assert rated.total == rate(schedule, usage).total
    total(windowed, usage)

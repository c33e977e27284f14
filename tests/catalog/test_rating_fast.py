"""``rate_total`` (the bulk path's fast rating) gives exactly ``rate(...).total`` — value and exponent — and
refuses exactly what ``rate`` refuses, on the published goldens and on generated schedules (hypothesis)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.rating import PriceSchedule, RatingError, TierPrices, Usage, rate, rate_total
from tests.catalog.test_goldens import CN_MODELS, CN_ROWS, cn_schedule, sample_prompts
from tests.catalog.test_properties import priced_requests, schedules


def fast(schedule: PriceSchedule, usage: Usage) -> Decimal:
    return rate_total(
        schedule,
        usage.prompt_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.cache_write_1h_tokens,
        usage.completion_tokens,
        usage.reasoning_tokens,
        usage.batch,
        usage.at,
    )


def assert_same(schedule: PriceSchedule, usage: Usage) -> None:
    try:
        expected = rate(schedule, usage).total
    except RatingError as exc:
        with pytest.raises(RatingError) as got:
            fast(schedule, usage)
        assert (got.value.field, got.value.message) == (exc.field, exc.message)
        return
    total = fast(schedule, usage)
    assert total == expected
    assert str(total) == str(expected)  # same exponent too: stored and summed identically


@pytest.mark.parametrize("row", CN_ROWS, ids=lambda r: f"{r.model}-{r.lo}")
@pytest.mark.parametrize("batch", [False, True])
def test_goldens_every_cn_tier(row, batch):
    schedule = cn_schedule(row.model)
    for prompt in sample_prompts(row):
        for cache_read in (0, prompt // 3):
            usage = Usage(
                prompt_tokens=prompt, cache_read_tokens=cache_read, completion_tokens=1_000_000, batch=batch
            )
            assert_same(schedule, usage)
    if row.hi is not None:
        assert_same(schedule, Usage(prompt_tokens=row.hi + 1, completion_tokens=7))  # next tier or refused


@pytest.mark.parametrize("model", CN_MODELS)
def test_goldens_refusals_match(model):
    schedule = cn_schedule(model)
    assert_same(schedule, Usage(prompt_tokens=10, cache_read_tokens=11))
    assert_same(schedule, Usage(prompt_tokens=10, completion_tokens=1, reasoning_tokens=2))
    assert_same(schedule, Usage(prompt_tokens=-1))


def test_effective_span_and_request_fee():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    schedule = PriceSchedule(
        book="b",
        kind="sell",
        currency="USD",
        model="m",
        tiers=(TierPrices(0, None, Decimal("3.000000001"), Decimal("15"), cache_write_1h=Decimal("6")),),
        effective_from=start,
        effective_to=start + timedelta(days=1),
        request_fee=Decimal("0.0004"),
        batch_multiplier=Decimal("0.5"),
    )
    for at in (
        None,
        start,
        start + timedelta(hours=23),
        start - timedelta(seconds=1),
        start + timedelta(days=1),
    ):
        for batch in (False, True):
            usage = Usage(
                prompt_tokens=12_345,
                cache_read_tokens=100,
                cache_write_tokens=200,
                cache_write_1h_tokens=300,
                completion_tokens=999,
                reasoning_tokens=500,
                batch=batch,
                at=at,
            )
            assert_same(schedule, usage)


@settings(max_examples=500, deadline=None)
@given(priced_requests())
def test_identical_to_rate_on_generated_schedules(case):
    schedule, usage = case
    assert_same(schedule, usage)


@settings(max_examples=300, deadline=None)
@given(
    schedules(),
    st.tuples(*[st.integers(-5, 3_000_000)] * 6),
    st.booleans(),
)
def test_identical_refusals_on_arbitrary_counts(schedule, counts, batch):
    assert_same(schedule, Usage(*counts, batch=batch))


def test_totals_beyond_sixty_digits_are_refused_as_rate_refuses_them():
    """Integer arithmetic has no digit limit; past EXACT's 60 digits rate_total takes Decimal's path, so
    it refuses (Inexact) exactly where rate() does, and agrees just below."""
    from decimal import Inexact

    tier = TierPrices(lo=0, hi=None, input=Decimal("1.234567"), output=Decimal("7.654321"))
    schedule = PriceSchedule(book="b", kind="sell", currency="CNY", model="m", tiers=(tier,))
    huge = 10**58
    with pytest.raises(Inexact):
        rate(schedule, Usage(huge * 10, completion_tokens=huge + 1))
    with pytest.raises(Inexact):
        rate_total(schedule, huge * 10, 0, 0, 0, huge + 1, 0, False, None)
    assert_same(schedule, Usage(10**40, completion_tokens=10**40 + 1))


@pytest.mark.parametrize(
    ("lo", "hi"), [(0, None), (0, 1000), (500, None)], ids=["open", "capped", "from-500"]
)
def test_a_single_tier_prices_or_refuses_each_prompt_as_rate_does(lo, hi):
    """A single tier from 0 up, unbounded, prices every prompt without a search; any other single tier
    (capped, or starting higher) still refuses the prompts outside it, and rate_total agrees with rate()."""
    tier = TierPrices(lo=lo, hi=hi, input=Decimal("0.5"), output=Decimal("2"), cache_read=Decimal("0.1"))
    schedule = PriceSchedule(book="b", kind="sell", currency="CNY", model="m", tiers=(tier,))
    covered = {(0, None): "all", (0, 1000): range(0, 1001), (500, None): range(501, 10**9 + 1)}[(lo, hi)]
    for prompt in (-1, 0, 1, 500, 501, 1000, 1001, 10**9):
        if prompt >= 0 and (covered == "all" or prompt in covered):
            assert schedule.tier_index(prompt) == 0
        else:
            with pytest.raises(RatingError):
                schedule.tier_index(prompt)
        if prompt < 0:
            continue
        for batch in (False, True):
            assert_same(
                schedule, Usage(prompt, cache_read_tokens=prompt // 3, completion_tokens=7, batch=batch)
            )

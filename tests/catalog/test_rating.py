"""The pure rating function: fallbacks, tiers, batch, request fees, exactness and bad counts."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog.rating import PriceSchedule, RatingError, Usage, rate, schedule_at
from tests.catalog.factories import tier

D = Decimal


def schedule(*tiers, **kwargs) -> PriceSchedule:
    defaults = {"book": "Book", "kind": "list", "currency": "USD", "model": "m"}
    return PriceSchedule(**{**defaults, **kwargs}, tiers=tiers or (tier(),))


def amounts(rating) -> dict[str, Decimal]:
    return {line.token_class: line.amount for line in rating.lines}


def test_classes_partition_the_request_and_fall_back_to_input_and_output():
    # given a price page with only input and output prices
    s = schedule(tier(input="3", output="15"))
    # when a request with every token class is rated
    r = rate(
        s,
        Usage(
            prompt_tokens=1_000_000,
            cache_read_tokens=200_000,
            cache_write_tokens=100_000,
            cache_write_1h_tokens=50_000,
            completion_tokens=400_000,
            reasoning_tokens=100_000,
        ),
    )
    # then cache and reasoning tokens pay input and output prices, and nothing is counted twice
    assert amounts(r) == {
        "input": D("1.95"),
        "cache_read": D("0.6"),
        "cache_write_5m": D("0.3"),
        "cache_write_1h": D("0.15"),
        "output": D("4.5"),
        "reasoning": D("1.5"),
    }
    assert r.total == D("9.0") == D("3") + D("6")


def test_explicit_cache_and_reasoning_prices_and_the_1h_write_falls_back_to_5m():
    s = schedule(tier(input="3", output="15", cache_read="0.3", cache_write_5m="3.75", reasoning="20"))
    r = rate(
        s,
        Usage(
            prompt_tokens=30,
            cache_read_tokens=10,
            cache_write_1h_tokens=10,
            completion_tokens=5,
            reasoning_tokens=2,
        ),
    )
    assert amounts(r) == {
        "input": D("0.00003"),
        "cache_read": D("0.000003"),
        "cache_write_5m": D("0"),
        "cache_write_1h": D("0.0000375"),
        "output": D("0.000045"),
        "reasoning": D("0.00004"),
    }


def test_full_precision_is_kept_never_rounded():
    s = schedule(tier(input="0.000000123456789", output="0.1"))
    r = rate(s, Usage(prompt_tokens=7, completion_tokens=1))
    assert r.total == D("0.000000000000864197523") + D("0.0000001")
    assert str(amounts(r)["input"]) == "8.64197523E-13"


def test_batch_uses_explicit_prices_then_the_multiplier():
    s = schedule(tier(input="2", output="8", batch_input="1", cache_read="0.5"), batch_multiplier=D("0.6"))
    r = rate(
        s, Usage(prompt_tokens=1_000_000, cache_read_tokens=500_000, completion_tokens=1_000_000, batch=True)
    )
    # explicit batch input 1 (500k uncached → 0.5); cache read and output take the 60% multiplier
    assert amounts(r)["input"] == D("0.5")
    assert amounts(r)["cache_read"] == D("0.15")
    assert amounts(r)["output"] == D("4.8")


def test_batch_without_any_batch_pricing_pays_standard():
    s = schedule(tier(input="2", output="8"))
    assert rate(s, Usage(prompt_tokens=10, batch=True)).total == rate(s, Usage(prompt_tokens=10)).total


def test_request_fee_is_a_line_of_its_own():
    s = schedule(tier(input="1", output="1"), request_fee=D("0.005"))
    r = rate(s, Usage(prompt_tokens=1000))
    assert r.lines[-1].token_class == "request"
    assert r.total == D("0.001") + D("0.005")


def test_whole_request_moves_to_the_tier_chosen_by_prompt_length():
    s = schedule(tier(0, 1000, input="1", output="2"), tier(1000, None, input="10", output="20"))
    low = rate(s, Usage(prompt_tokens=1000, completion_tokens=1000))
    high = rate(s, Usage(prompt_tokens=1001, completion_tokens=1000))
    assert (low.tier.lo, low.total) == (0, D("0.003"))
    assert (high.tier.lo, high.total) == (1000, D("0.03001"))
    assert rate(s, Usage()).tier.lo == 0  # an empty prompt is in the first tier


def test_a_prompt_above_the_last_tier_is_refused_naming_the_field():
    s = schedule(tier(0, 1000))
    with pytest.raises(RatingError) as exc:
        rate(s, Usage(prompt_tokens=1001))
    assert exc.value.field == "prompt_tokens"
    assert "1000" in exc.value.message


@pytest.mark.parametrize(
    ("usage", "field"),
    [
        (Usage(prompt_tokens=-1), "prompt_tokens"),
        (Usage(completion_tokens=-5), "completion_tokens"),
        (Usage(prompt_tokens=10, cache_read_tokens=11), "cache_read_tokens"),
        (Usage(prompt_tokens=10, cache_read_tokens=5, cache_write_tokens=6), "cache_write_tokens"),
        (Usage(prompt_tokens=10, cache_write_1h_tokens=11), "cache_write_1h_tokens"),
        (Usage(completion_tokens=1, reasoning_tokens=2), "reasoning_tokens"),
    ],
)
def test_impossible_counts_name_the_field(usage, field):
    with pytest.raises(RatingError) as exc:
        rate(schedule(), usage)
    assert exc.value.field == field


def test_prices_are_used_only_in_their_effective_span():
    jan, feb = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    old = schedule(tier(input="2"), effective_from=jan, effective_to=feb)
    new = schedule(tier(input="1"), effective_from=feb)
    assert schedule_at([new, old], datetime(2026, 1, 31, 23, 59, tzinfo=UTC)) is old
    assert schedule_at([new, old], feb) is new
    with pytest.raises(RatingError) as exc:
        rate(old, Usage(prompt_tokens=1, at=feb))
    assert exc.value.field == "at"


def test_scaling_a_schedule_scales_every_price_exactly():
    s = schedule(tier(input="2.5", output="10", cache_read="0.5", batch_output="5"), request_fee=D("0.01"))
    scaled = s.scaled(D("1.055") * D("7.1234"), currency="CNY")
    assert scaled.tiers[0].input == D("18.7879675")  # 2.5 × 1.055 × 7.1234, exactly
    assert scaled.tiers[0].batch_output == D("37.575935")
    assert scaled.request_fee == D("0.07515187")
    assert scaled.currency == "CNY"

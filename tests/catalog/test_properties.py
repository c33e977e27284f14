"""Properties of the rating function over generated price schedules and requests (hypothesis)."""

from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from catalog.rating import PriceSchedule, TierPrices, Usage, rate

PRICE = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False)
OPTIONAL_PRICE = st.none() | PRICE
FRACTION = st.decimals(min_value=0, max_value=2, places=4, allow_nan=False, allow_infinity=False)
TOKENS = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def schedules(draw) -> PriceSchedule:
    bounds = sorted(set(draw(st.lists(st.integers(1, 1_000_000), max_size=3))))
    edges = [0, *bounds]
    tiers = []
    for index, lo in enumerate(edges):
        hi = (
            edges[index + 1]
            if index + 1 < len(edges)
            else draw(st.none() | st.integers(lo + 1, lo + 2_000_000))
        )
        tiers.append(
            TierPrices(
                lo=lo,
                hi=hi,
                input=draw(PRICE),
                output=draw(PRICE),
                cache_read=draw(OPTIONAL_PRICE),
                cache_write_5m=draw(OPTIONAL_PRICE),
                cache_write_1h=draw(OPTIONAL_PRICE),
                reasoning=draw(OPTIONAL_PRICE),
                batch_input=draw(OPTIONAL_PRICE),
                batch_output=draw(OPTIONAL_PRICE),
            )
        )
    return PriceSchedule(
        book="generated",
        kind="cost",
        currency="USD",
        model="m",
        tiers=tuple(tiers),
        request_fee=draw(st.none() | PRICE) or Decimal(0),
        batch_multiplier=draw(st.none() | FRACTION),
    )


@st.composite
def usages(draw, schedule: PriceSchedule | None = None) -> Usage:
    top = schedule.tiers[-1].hi if schedule is not None else None
    prompt = draw(st.integers(0, top if top is not None else 3_000_000))
    cache_read = draw(st.integers(0, prompt))
    cache_write = draw(st.integers(0, prompt - cache_read))
    cache_write_1h = draw(st.integers(0, prompt - cache_read - cache_write))
    completion = draw(TOKENS)
    return Usage(
        prompt_tokens=prompt,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=cache_write_1h,
        completion_tokens=completion,
        reasoning_tokens=draw(st.integers(0, completion)),
        batch=draw(st.booleans()),
    )


@st.composite
def priced_requests(draw):
    schedule = draw(schedules())
    return schedule, draw(usages(schedule))


@settings(max_examples=300, deadline=None)
@given(priced_requests())
def test_amounts_are_never_negative_and_sum_to_the_total(case):
    schedule, usage = case
    result = rate(schedule, usage)
    assert all(line.amount >= 0 for line in result.lines)
    assert sum(line.amount for line in result.lines) == result.total
    assert sum(line.tokens for line in result.lines if line.token_class != "request") == (
        usage.prompt_tokens + usage.completion_tokens
    )


@settings(max_examples=300, deadline=None)
@given(priced_requests(), FRACTION)
def test_a_markup_plan_never_prices_below_cost(case, markup):
    cost_schedule, usage = case
    sell_schedule = cost_schedule.scaled(Decimal(1) + markup, kind="sell")
    sell, cost = rate(sell_schedule, usage), rate(cost_schedule, usage)
    assert sell.total >= cost.total
    for sell_line, cost_line in zip(sell.lines, cost.lines, strict=True):
        assert sell_line.amount >= cost_line.amount


CLASSES = (
    "uncached",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output",
    "reasoning",
)


@settings(max_examples=300, deadline=None)
@given(priced_requests(), st.sampled_from(CLASSES), st.integers(1, 500_000))
def test_cost_within_a_tier_is_monotone_in_tokens(case, token_class, extra):
    schedule, usage = case
    fields = {
        "prompt_tokens": usage.prompt_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "completion_tokens": usage.completion_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "batch": usage.batch,
    }
    # more tokens of one class: input classes lengthen the prompt, output classes the completion
    if token_class in ("output", "reasoning"):
        fields["completion_tokens"] += extra
        if token_class == "reasoning":
            fields["reasoning_tokens"] += extra
    else:
        fields["prompt_tokens"] += extra
        if token_class != "uncached":
            fields[token_class] += extra
    more = Usage(**fields)
    index = schedule.tier_index(usage.prompt_tokens)
    tier = schedule.tiers[index]
    assume(tier.covers(more.prompt_tokens))  # monotone *within* a tier; crossing tiers may cost less
    assert rate(schedule, more).total >= rate(schedule, usage).total

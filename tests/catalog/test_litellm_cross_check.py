"""Our rating of LiteLLM's own price map, held against LiteLLM's own cost calculator (the real package).

Every entry of the bundled map with ``off_peak_pricing`` is parsed by our importer and rated by our rating
function; LiteLLM prices the same usage at the same instant (``pinned_billing_time``). Window membership must
agree at every half hour of two weeks and one second either side of every rule's edge; amounts to 1e-12
(LiteLLM computes in binary floats, we in exact decimals). Service tiers (``_flex``, ``_priority``) likewise.
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.resources import files

import pytest

from catalog.rating import PriceSchedule, TimeWindow, Usage, rate
from catalog.services.imports.litellm import parse_litellm
from catalog.time_windows import minute_of, window_rules

litellm = pytest.importorskip("litellm")  # a pinned dev dependency: present wherever the suite runs
from litellm._internal_context import pinned_billing_time  # noqa: E402
from litellm.litellm_core_utils.llm_cost_calc.utils import _is_off_peak  # noqa: E402

MAP = json.loads((files("litellm") / "model_prices_and_context_window_backup.json").read_text())
OFF_PEAK = sorted(name for name, spec in MAP.items() if isinstance(spec, dict) and "off_peak_pricing" in spec)
MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


def schedule_of(name: str) -> PriceSchedule:
    parsed = parse_litellm(json.dumps({name: MAP[name]}))
    assert not parsed.skipped, parsed.skipped
    (item,) = parsed.items
    windows = tuple(
        TimeWindow(label=w.label, zone=w.time_zone, rules=window_rules(list(w.rules)), **dict(w.prices))
        for w in item.windows
    )
    return PriceSchedule(
        book="LiteLLM",
        kind="list",
        currency="USD",
        model=name,
        tiers=tuple(item.tiers),
        request_fee=item.request_fee,
        service_tiers=tuple((n, tuple(t)) for n, t in item.service_tiers),
        windows=windows,
    )


def instants(schedule: PriceSchedule) -> list[datetime]:
    """Every half hour of two weeks from a Monday, and one second either side of each rule's edges (in
    UTC, so both readings of the weekday are exercised across the Shanghai/UTC day boundary)."""
    out = [MONDAY + timedelta(minutes=30 * i) for i in range(14 * 48)]
    for window in schedule.windows:
        for days in range(14):
            for rule in window.rules:
                for minute in rule[1:]:
                    edge = MONDAY + timedelta(days=days, minutes=minute)
                    out += [edge - timedelta(seconds=1), edge, edge + timedelta(seconds=1)]
                    # The rule's minutes are local: their UTC instants too.
                    out += [edge - timedelta(hours=8), edge - timedelta(hours=8, seconds=1)]
    return out


def test_the_map_still_has_off_peak_entries():
    assert len(OFF_PEAK) >= 5 and any("deepseek" in name for name in OFF_PEAK)


@pytest.mark.parametrize("name", OFF_PEAK)
def test_windows_open_exactly_when_litellms_do(name):
    schedule = schedule_of(name)
    block = MAP[name]["off_peak_pricing"]
    disagreements = [
        at for at in instants(schedule) if (schedule.window_label(at) != "") != _is_off_peak(block, at)
    ]
    assert disagreements == []


@pytest.mark.parametrize("name", OFF_PEAK)
def test_amounts_match_litellms_cost_calculator_at_every_hour(name):
    schedule = schedule_of(name)
    provider = MAP[name]["litellm_provider"]
    for hour in range(0, 14 * 24, 3):
        at = MONDAY + timedelta(hours=hour, minutes=17)
        ours = rate(schedule, Usage(1_000_000, cache_read_tokens=200_000, completion_tokens=500_000, at=at))
        with pinned_billing_time(at):
            prompt_cost, completion_cost = litellm.cost_per_token(
                model=name,
                custom_llm_provider=provider,
                prompt_tokens=1_000_000,
                completion_tokens=500_000,
                cache_read_input_tokens=200_000,
            )
        theirs = Decimal(repr(prompt_cost + completion_cost))
        assert abs(ours.total - theirs) <= Decimal("1e-12") * max(theirs, Decimal(1)), (at, ours.window)


SERVICE_TIERS = [
    (name, tier)
    for name in ("gpt-5", "gpt-5-mini", "gpt-4o", "o3")
    for tier in ("flex", "priority")
    if f"input_cost_per_token_{tier}" in MAP.get(name, {})
]


def test_some_models_have_service_tiers():
    assert len(SERVICE_TIERS) >= 3


@pytest.mark.parametrize(("name", "tier"), SERVICE_TIERS)
def test_service_tier_amounts_match_litellms(name, tier):
    schedule = schedule_of(name)
    ours = rate(
        schedule, Usage(100_000, cache_read_tokens=20_000, completion_tokens=5_000, service_tier=tier)
    )
    assert ours.service_tier == tier
    prompt_cost, completion_cost = litellm.cost_per_token(
        model=name,
        custom_llm_provider="openai",
        prompt_tokens=100_000,
        completion_tokens=5_000,
        cache_read_input_tokens=20_000,
        service_tier=tier,
    )
    theirs = Decimal(repr(prompt_cost + completion_cost))
    assert abs(ours.total - theirs) <= Decimal("1e-12"), (ours.total, theirs)


def test_minute_of_reads_litellms_midnight_forms():
    assert (minute_of("00:00"), minute_of("24:00"), minute_of("16:30")) == (0, 0, 990)


@pytest.mark.parametrize("prompt", [199_999, 200_000, 200_001])
def test_xai_bills_its_higher_price_from_the_threshold_itself_as_litellm_does(prompt):
    name = "xai/grok-4.20-multi-agent-beta-0309"
    ours = rate(schedule_of(name), Usage(prompt, completion_tokens=1_000))
    prompt_cost, completion_cost = litellm.cost_per_token(
        model=name, custom_llm_provider="xai", prompt_tokens=prompt, completion_tokens=1_000
    )
    theirs = Decimal(repr(prompt_cost + completion_cost))
    assert abs(ours.total - theirs) <= Decimal("1e-12"), (ours.total, theirs)

"""Each vendor format read from a file shaped as the vendor's API or console export, mapped to our token
classes, summed per channel × day × model and stored with its day's window."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.upstream.imports.services import upstream_import
from billing.upstream.models import UpstreamImport, VendorUsage
from tests.billing.upstream.imports.conftest import sample

pytestmark = pytest.mark.django_db


def stored(channel, day, model_name, *, batch=False) -> VendorUsage:
    return VendorUsage.objects.get(channel=channel, day=day, model_name=model_name, is_batch=batch)


def test_openai_pages_of_daily_buckets_subtract_cached_input_and_route_by_key_id(world):
    record = upstream_import(
        content=sample("openai_usage_daily.json"), filename="openai.json", fmt="openai-usage"
    )
    assert record.state == UpstreamImport.State.APPLIED
    assert (record.rows, record.created, record.rejected, record.errors) == (4, 4, 0, [])
    main, eu = world["channels"]["openai-main"], world["channels"]["openai-eu"]
    row = stored(main, date(2026, 11, 3), "gpt-4o-mini-2024-07-18")
    # 1,200,000 input of which 400,000 were cache reads: 800,000 uncached.
    assert (row.input_tokens, row.cache_read_tokens, row.cache_write_tokens) == (800_000, 400_000, 0)
    assert (row.output_tokens, row.requests, row.cost, row.currency) == (300_000, 1500, None, "")
    assert row.model == world["models"]["gpt-4o-mini"] and row.has_cache_counts and row.vendor_key == ""
    assert (row.starts_at, row.ends_at) == (
        datetime(2026, 11, 3, tzinfo=UTC),
        datetime(2026, 11, 4, tzinfo=UTC),
    )
    assert stored(main, date(2026, 11, 3), "gpt-4o-mini-2024-07-18", batch=True).input_tokens == 500_000
    # Cache writes are input too: 80,000 − 20,000 read − 5,000 written.
    four_one = stored(eu, date(2026, 11, 3), "gpt-4.1-2025-04-14")
    assert (four_one.input_tokens, four_one.cache_read_tokens, four_one.cache_write_tokens) == (
        55_000,
        20_000,
        5_000,
    )
    assert stored(main, date(2026, 11, 4), "gpt-4o-mini-2024-07-18").input_tokens == 600_000
    assert not VendorUsage.objects.filter(day=date(2026, 11, 5)).exists()  # an empty bucket stores nothing


def test_anthropic_report_sums_context_windows_and_splits_batch(world):
    record = upstream_import(
        content=sample("anthropic_usage_daily.json"), filename="anthropic.json", fmt="anthropic-usage"
    )
    assert (record.rows, record.created, record.rejected) == (4, 3, 0)
    channel = world["channels"]["anthropic-main"]
    row = stored(channel, date(2026, 11, 3), "claude-sonnet-4-20250514")
    assert (row.input_tokens, row.cache_read_tokens) == (400_000, 800_000)
    assert (row.cache_write_tokens, row.cache_write_1h_tokens, row.output_tokens) == (70_000, 10_000, 120_000)
    assert row.model == world["models"]["claude-sonnet-4"] and row.requests == 0 and row.cost is None
    assert stored(channel, date(2026, 11, 3), "claude-sonnet-4-20250514", batch=True).input_tokens == 40_000
    opus = stored(channel, date(2026, 11, 4), "claude-opus-4-1-20250805")
    assert opus.model is None  # unknown to the catalog: kept as reported, for reconciliation


@pytest.mark.parametrize("name", ["openrouter_activity.csv", "openrouter_activity.json"])
def test_openrouter_activity_sums_endpoints_with_cost_and_no_cache_counts(world, name):
    channel = world["channels"]["openrouter"]
    record = upstream_import(content=sample(name), filename=name, fmt="openrouter-activity", channel=channel)
    assert record.rejected == 0, record.errors
    row = stored(channel, date(2026, 11, 3), "openai/gpt-4.1")
    assert (row.requests, row.input_tokens, row.output_tokens) == (500, 2_600_000, 220_000)
    assert (row.cost, row.currency, row.has_cache_counts) == (Decimal("15.545678"), "USD", False)
    assert row.model == world["models"]["gpt-4.1"] and row.cache_read_tokens == 0


def test_openrouter_reasoning_is_part_of_output(world):
    channel = world["channels"]["openrouter"]
    upstream_import(
        content=sample("openrouter_activity.csv"),
        filename="a.csv",
        fmt="openrouter-activity",
        channel=channel,
    )
    row = stored(channel, date(2026, 11, 3), "deepseek/deepseek-r1")
    assert (row.output_tokens, row.reasoning_tokens) == (260_000, 190_000)
    assert row.model == world["models"]["deepseek-reasoner"]  # by the name after the provider prefix


def test_generic_rows_cover_a_day_of_their_zone(world):
    record = upstream_import(content=sample("generic_kimi_deepseek.csv"), filename="g.csv", fmt="generic")
    assert (record.rows, record.created, record.rejected) == (4, 4, 0), record.errors
    kimi = stored(world["channels"]["kimi-main"], date(2026, 11, 3), "kimi-k2-0905-preview")
    # A Shanghai day: 16:00 UTC the day before to 16:00 UTC.
    assert (kimi.starts_at, kimi.ends_at) == (
        datetime(2026, 11, 2, 16, tzinfo=UTC),
        datetime(2026, 11, 3, 16, tzinfo=UTC),
    )
    assert (kimi.cost, kimi.currency, kimi.cache_read_tokens) == (Decimal("25.18"), "CNY", 1_900_000)
    chat = stored(world["channels"]["deepseek"], date(2026, 11, 3), "deepseek-chat")  # by its alias ds-prod
    assert (chat.input_tokens, chat.cache_read_tokens, chat.cache_write_tokens) == (2_400_000, 5_200_000, 0)
    reasoner = stored(world["channels"]["deepseek"], date(2026, 11, 3), "deepseek-reasoner")
    assert (reasoner.currency, reasoner.reasoning_tokens, reasoner.requests) == ("CNY", 700_000, 210)

"""Vendor days in zones: a Shanghai day is 16:00 UTC the day before to 16:00 UTC; hourly buckets are summed
into the channel's days, a day the file covers only in part is refused, and a UTC-day bucket on a channel
reporting in another zone is refused with what to export instead."""

from datetime import date

import pytest

from billing.upstream.imports.services import upstream_import
from billing.upstream.models import VendorUsage
from tests.billing.upstream.imports.helpers import generic, hourly, openai_page, openai_result, utc

pytestmark = pytest.mark.django_db


def test_a_shanghai_generic_row_covers_16_utc_the_day_before_to_16_utc(world):
    content = generic("2026-11-03,Asia/Shanghai,kimi-main,kimi-k2,10,1000,0,0,100,0,1.5,CNY")
    upstream_import(content=content, filename="k.csv", fmt="generic")
    row = VendorUsage.objects.get()
    assert row.day == date(2026, 11, 3)
    assert (row.starts_at, row.ends_at) == (utc(2026, 11, 2, 16), utc(2026, 11, 3, 16))


def test_a_generic_row_in_another_zone_than_the_channels_keeps_its_own_window(world):
    content = generic("2026-11-03,UTC,kimi-main,kimi-k2,10,1000,0,0,100,0,,")
    upstream_import(content=content, filename="k.csv", fmt="generic")
    row = VendorUsage.objects.get()
    assert (row.starts_at, row.ends_at) == (utc(2026, 11, 3), utc(2026, 11, 4))


def test_hourly_buckets_are_summed_into_the_channels_shanghai_days(world):
    kimi_like = world["channels"]["openai-main"]
    kimi_like.reporting_zone = "Asia/Shanghai"
    kimi_like.save()
    # 48 hours from 16:00 UTC on Nov 2: exactly the Shanghai days Nov 3 and Nov 4, 10 tokens an hour.
    content = hourly(utc(2026, 11, 2, 16), 48, lambda hour: [openai_result(input_tokens=10, output=1)])
    record = upstream_import(content=content, filename="h.json", fmt="openai-usage")
    assert (record.rows, record.created, record.rejected) == (48, 2, 0), record.errors
    days = {r.day: r for r in VendorUsage.objects.all()}
    assert set(days) == {date(2026, 11, 3), date(2026, 11, 4)}
    assert days[date(2026, 11, 3)].input_tokens == 240 and days[date(2026, 11, 3)].requests == 24
    assert days[date(2026, 11, 4)].starts_at == utc(2026, 11, 3, 16)


def test_a_day_the_file_covers_only_in_part_is_refused_and_whole_days_are_kept(world):
    # From 00:00 UTC Nov 3 for 30 hours: Nov 3 whole, Nov 4 only until 06:00.
    content = hourly(utc(2026, 11, 3), 30, lambda hour: [openai_result(input_tokens=10)])
    record = upstream_import(content=content, filename="h.json", fmt="openai-usage")
    assert VendorUsage.objects.get().day == date(2026, 11, 3)
    assert record.rejected == 6
    assert "covers 2026-11-04 (UTC) only in part" in record.errors[0]["message"]
    assert "2026-11-04 06:00 UTC–2026-11-05 00:00 UTC" in record.errors[0]["message"]


def test_empty_hourly_buckets_count_as_covered(world):
    content = hourly(utc(2026, 11, 3), 24, lambda hour: [openai_result()] if hour.hour == 9 else [])
    record = upstream_import(content=content, filename="h.json", fmt="openai-usage")
    assert (record.created, record.rejected) == (1, 0)


def test_a_utc_day_bucket_on_a_shanghai_channel_is_refused_with_what_to_export(world):
    channel = world["channels"]["openai-main"]
    channel.reporting_zone = "Asia/Shanghai"
    channel.save()
    content = openai_page([(utc(2026, 11, 3), utc(2026, 11, 4), [openai_result()])])
    record = upstream_import(content=content, filename="d.json", fmt="openai-usage")
    assert record.created == 0 and record.rejected == 1
    error = record.errors[0]
    assert error["field"] == "bucket" and "crosses midnight in Asia/Shanghai" in error["message"]
    assert "bucket_width=1h" in error["message"]


def test_the_same_bucket_twice_refuses_the_file(world):
    bucket = (utc(2026, 11, 3), utc(2026, 11, 4), [openai_result()])
    record = upstream_import(content=openai_page([bucket, bucket]), filename="d.json", fmt="openai-usage")
    assert record.state == "failed" and "saved twice" in record.errors[0]["message"]
    assert not VendorUsage.objects.exists()

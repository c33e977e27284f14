"""A vendor row is compared with our usage over its own window ``[starts_at, ends_at)``, not over the
channel's zone day (review item 11), and each instant of our usage belongs to exactly one day: the
earliest vendor day whose window holds it, else its day in the channel's zone."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.upstream.imports.services import upstream_import
from billing.upstream.models import ReconClass, VendorUsage
from billing.upstream.reconcile import selectors
from billing.upstream.reconcile.run import reconcile
from billing.upstream.reconcile.windows import day_spans
from billing.usage.services import usage_batch_ingest
from tests.billing.factories import staff
from tests.billing.upstream.reconcile.conftest import MINI, request, world_make

pytestmark = pytest.mark.django_db

JULY = datetime(2026, 7, 1, tzinfo=UTC)
HEADER = (
    "date,timezone,channel,model,requests,input_tokens,cache_read_tokens,cache_write_tokens,output_tokens,"
    "reasoning_tokens,cost,currency\n"
)


def _mini_row(day: str, zone: str, channel: str, requests: int = 1) -> str:
    tokens = f"{200000 * requests},0,0,{100000 * requests},0"
    return f"{day},{zone},{channel},gpt-mini,{requests},{tokens},{0.3 * requests:.2f},CNY\n"


def _import(rows: list[str]) -> None:
    record = upstream_import(content=(HEADER + "".join(rows)).encode(), filename="g.csv", fmt="generic")
    assert record.state == "applied", record.errors


def _ingest(world, *moments: datetime) -> None:
    records = [
        request(world.customer, f"m{n}", at, "gpt-mini", world.channel.name, MINI)
        for n, at in enumerate(moments)
    ]
    result = usage_batch_ingest(source=world.source, records=records, idempotency_key=f"b-{moments[0]}")
    assert result.accepted == len(records)


def _lines(first: date, last: date):
    run = reconcile(date_from=first, date_to=last, now=JULY).run
    return run, [(line.day, line.klass, line.ours.get("requests", 0)) for line in run.lines.order_by("day")]


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def test_a_utc_row_on_a_shanghai_channel_matches_the_usage_in_its_own_window(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    world = world_make(zone="Asia/Shanghai")
    at = _utc(10, 20)  # June 10 in UTC, 04:00 on June 11 in Shanghai
    _ingest(world, at)
    _import([_mini_row("2026-06-10", "UTC", world.channel.name)])
    row = VendorUsage.objects.get()
    assert row.starts_at <= at < row.ends_at

    run, lines = _lines(date(2026, 6, 9), date(2026, 6, 12))

    assert lines == [(date(2026, 6, 10), ReconClass.MATCHED, 1)]
    line = run.lines.get()
    assert [e.occurred_at for e in selectors.line_events(line).events] == [at]
    assert [r["hour"] for r in selectors.line_rollups(line)] == [at]
    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(reverse("upstream-recon-line", args=[line.pk]))
    # The vendor's UTC day, after the start of June 10 in Shanghai no vendor row covers (June 9 has none).
    assert "2026-06-09 16:00–2026-06-11 00:00 UTC" in " ".join(page.content.decode().split())


def test_usage_outside_every_vendor_window_is_still_reported(settings, tmp_path):
    """UTC rows for June 10 only on a Shanghai channel: 18:00 UTC on June 9 lies in June 10 in Shanghai and
    in no vendor window, so it joins June 10 (which the vendor does not record); 05:00 UTC on June 11
    lies in June 11 in Shanghai, which has no vendor row at all."""
    settings.MEDIA_ROOT = tmp_path
    world = world_make(zone="Asia/Shanghai")
    _ingest(world, _utc(9, 18), _utc(10, 12), _utc(11, 5))
    _import([_mini_row("2026-06-10", "UTC", world.channel.name)])

    _run, lines = _lines(date(2026, 6, 9), date(2026, 6, 12))

    assert lines == [
        (date(2026, 6, 10), ReconClass.NO_UPSTREAM_RECORD, 2),
        (date(2026, 6, 11), ReconClass.MISSING_UPSTREAM_DATA, 1),
    ]


def test_hours_two_days_of_the_vendor_both_claim_are_counted_once_on_the_earlier(settings, tmp_path):
    """June 10 exported in UTC and June 11 in Shanghai time overlap from 16:00 to 24:00 UTC on June 10:
    our request at 20:00 UTC counts on June 10 only; June 11's row, which counts it too, shows it as
    usage we did not bill."""
    settings.MEDIA_ROOT = tmp_path
    world = world_make(zone="Asia/Shanghai")
    _ingest(world, _utc(10, 20), _utc(11, 3))
    _import(
        [
            _mini_row("2026-06-10", "UTC", world.channel.name),
            _mini_row("2026-06-11", "Asia/Shanghai", world.channel.name, requests=2),
        ]
    )

    _run, lines = _lines(date(2026, 6, 9), date(2026, 6, 12))

    assert lines == [
        (date(2026, 6, 10), ReconClass.MATCHED, 1),
        (date(2026, 6, 11), ReconClass.UNBILLED_USAGE, 1),
    ]
    assert sum(requests for _d, _k, requests in lines) == 2  # each request once


def test_a_day_compares_the_same_whatever_range_it_is_reconciled_in(settings, tmp_path):
    """The neighbouring day's vendor window counts even when that day is outside the range."""
    settings.MEDIA_ROOT = tmp_path
    world = world_make(zone="Asia/Shanghai")
    _ingest(world, _utc(10, 20))
    _import([_mini_row("2026-06-10", "UTC", world.channel.name)])

    _run, lines = _lines(date(2026, 6, 11), date(2026, 6, 11))

    assert lines == []  # 20:00 UTC on June 10 is June 10's (the vendor's window), not June 11's


def test_a_vendor_window_off_the_hour_reads_the_raw_events(settings, tmp_path):
    """A Kolkata row on a UTC channel: its day starts at 18:30 UTC, inside an hour bucket, so our side is
    summed from the raw events, each request on its own side of the boundary."""
    settings.MEDIA_ROOT = tmp_path
    world = world_make(zone="UTC")
    _ingest(world, _utc(9, 18, 15), _utc(9, 18, 45))
    _import([_mini_row("2026-06-10", "Asia/Kolkata", world.channel.name)])

    _run, lines = _lines(date(2026, 6, 9), date(2026, 6, 10))

    assert lines == [
        (date(2026, 6, 9), ReconClass.MISSING_UPSTREAM_DATA, 1),
        (date(2026, 6, 10), ReconClass.MATCHED, 1),
    ]


def test_day_spans_tile_time_without_gaps_or_overlaps():
    """Mixed windows (a UTC day, a Shanghai day, a Kolkata day, days without rows) on a Shanghai
    channel: the spans of consecutive days tile the time they cover exactly."""

    def window(day, hours, length=24):
        start = datetime(2026, 6, day, tzinfo=UTC) + timedelta(hours=hours)
        return [(start, start + timedelta(hours=length))]

    windows = {
        date(2026, 6, 10): window(10, 0),
        date(2026, 6, 11): window(10, 16),
        date(2026, 6, 13): window(12, 18.5),
    }
    days = [date(2026, 6, d) for d in range(8, 16)]
    spans = day_spans("Asia/Shanghai", days, windows)

    pieces = sorted(span for day_pieces in spans.values() for span in day_pieces)
    assert all(a[1] == b[0] for a, b in pairwise(pieces))
    # June 10: the start of its Shanghai day no window covers, then its own UTC window.
    assert spans[date(2026, 6, 10)] == [(_utc(9, 16), _utc(11, 0))]
    assert spans[date(2026, 6, 11)] == [(_utc(11, 0), _utc(11, 16))]  # overlap went to June 10
    assert spans[date(2026, 6, 12)] == [(_utc(11, 16), _utc(12, 16))]  # no rows: its Shanghai day
    # June 13: the rest of its Shanghai day before its Kolkata window, then that window.
    assert spans[date(2026, 6, 13)] == [(_utc(12, 16), _utc(13, 18, 30))]
    assert spans[date(2026, 6, 14)] == [(_utc(13, 18, 30), _utc(14, 16))]

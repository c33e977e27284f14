"""Vendor days as windows of UTC time, and time buckets placed in the days of a channel's zone.

A vendor day ``d`` in zone ``z`` covers [``d`` 00:00, ``d``+1 00:00) in ``z`` — an Asia/Shanghai day starts
at 16:00 UTC the day before. Bucket files (OpenAI, Anthropic: UTC buckets of a day, an hour or a minute)
are summed into the days of the channel's reporting zone; a day is imported only when the file's buckets
cover all of it (an empty bucket counts as covered: the vendor said nothing was used then). A bucket that
crosses midnight in that zone — a UTC day for a channel reporting in Asia/Shanghai — cannot be split, so
it is refused with what to export instead.
"""

from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from billing.upstream.imports.rows import FieldProblem

Window = tuple[datetime, datetime]


def day_window(day: date, zone: str) -> Window:
    """[day 00:00, next day 00:00) in ``zone``, as UTC instants."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


class BucketDays:
    """Places the buckets of one file in the days of a zone and says whether the file covers each day."""

    def __init__(self, buckets: list[Window]):
        self.buckets = sorted(buckets)
        self.starts = [b[0] for b in self.buckets]
        self._covered: dict[tuple[str, date], str] = {}

    def place(self, window: Window, zone: str) -> tuple[date, Window]:
        """The day of ``zone`` the bucket ``window`` lies in, and that day's window; FieldProblem when the
        bucket crosses midnight in ``zone`` or the file does not cover the whole day."""
        start, end = window
        local_day = start.astimezone(ZoneInfo(zone)).date()
        whole = day_window(local_day, zone)
        if end > whole[1]:
            raise FieldProblem(
                "bucket",
                _(
                    "The bucket %(start)s–%(end)s crosses midnight in %(zone)s, the channel's reporting "
                    "zone, so it belongs to no single day there: export hourly buckets (bucket_width=1h), "
                    "which are summed into %(zone)s days, or set the channel's reporting zone to the "
                    "vendor's (UTC)."
                )
                % {"start": _iso(start), "end": _iso(end), "zone": zone},
            )
        gap = self._gap(local_day, zone, whole)
        if gap:
            raise FieldProblem(
                "bucket",
                _(
                    "The file covers %(day)s (%(zone)s) only in part — nothing from %(gap)s: export buckets "
                    "covering the whole day, else its figures would be stored as the day's."
                )
                % {"day": local_day.isoformat(), "zone": zone, "gap": gap},
            )
        return local_day, whole

    def _gap(self, day: date, zone: str, whole: Window) -> str:
        """The first stretch of the day no bucket covers, in words; empty when the day is covered."""
        key = (zone, day)
        if key not in self._covered:
            self._covered[key] = self._first_gap(*whole)
        return self._covered[key]

    def _first_gap(self, day_start: datetime, day_end: datetime) -> str:
        cursor = day_start
        # Buckets never overlap (the parser refused the file otherwise), so they tile the day in order.
        index = max(bisect_left(self.starts, day_start) - 1, 0)
        for start, end in self.buckets[index:]:
            if end <= cursor:
                continue
            if start >= day_end:
                break
            if start > cursor:
                return f"{_iso(cursor)}–{_iso(start)}"
            cursor = end
            if cursor >= day_end:
                return ""
        return "" if cursor >= day_end else f"{_iso(cursor)}–{_iso(day_end)}"

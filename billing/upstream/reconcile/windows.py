"""Which of our usage belongs to which vendor day of a channel: the rule both sides are compared by.

A vendor row of day ``d`` covers its own window ``[starts_at, ends_at)`` (UTC instants): ``d`` in the
zone the vendor reported it in, which is not always the channel's reporting zone — a generic CSV row
"2026-06-10,UTC" on a channel reporting in Asia/Shanghai covers 00:00–24:00 UTC, not 16:00–16:00. Our
usage is summed over the vendor's windows, and every instant of a channel's time belongs to exactly one
day, so nothing is counted twice or dropped:

1. an instant inside the window of a vendor row of some day belongs to that day — to the earliest such
   day when the windows of two days overlap (the vendor then counted those hours on both days, and the
   later day shows what it claimed for them as usage we did not bill);
2. an instant inside no vendor window belongs to its day in the channel's reporting zone, so our usage
   there is still compared: on a day without vendor rows it is missing upstream data; on a day with rows
   it is added to the day's figures, where it shows as usage the vendor does not record.

A day's *spans* are therefore the union of its rows' windows and the rest of its zone day no window
covers. The rows of neighbouring days outside a run's range count too (two days either side: no zone's
day reaches further), so a day's figures are the same whatever range it is reconciled in.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from billing.upstream.models import VendorUsage
from billing.upstream.reconcile.figures import day_window, days_between

Span = tuple[datetime, datetime]
MARGIN = timedelta(days=2)


def vendor_windows(channel_ids: Iterable[int], first: date, last: date) -> dict[int, dict[date, list[Span]]]:
    """The distinct windows of the vendor rows of each channel per day, for ``[first, last]`` and the
    neighbouring days whose windows can reach into it."""
    rows = (
        VendorUsage.objects.filter(
            channel_id__in=list(channel_ids), day__gte=first - MARGIN, day__lte=last + MARGIN
        )
        .values_list("channel_id", "day", "starts_at", "ends_at")
        .distinct()
    )
    found: dict[int, dict[date, list[Span]]] = defaultdict(lambda: defaultdict(list))
    for channel_id, day, starts_at, ends_at in rows:
        found[channel_id][day].append((starts_at.astimezone(UTC), ends_at.astimezone(UTC)))
    return found


def day_spans(zone: str, days: Iterable[date], windows: dict[date, list[Span]]) -> dict[date, list[Span]]:
    """The stretches of UTC time that belong to each of ``days`` (in order, adjacent ones merged), given
    the channel's reporting ``zone`` and its vendor ``windows`` per day (from ``vendor_windows``)."""
    wanted = set(days)
    if not wanted:
        return {}
    first, last = min(wanted) - MARGIN, max(wanted) + MARGIN
    low, high = day_window(first, zone)[0].astimezone(UTC), day_window(last, zone)[1].astimezone(UTC)
    cuts = {low, high}
    for day in days_between(first, last):
        cuts.update(at.astimezone(UTC) for at in day_window(day, zone))
    for day_windows in windows.values():
        cuts.update(at for window in day_windows for at in window if low <= at <= high)
    tz = ZoneInfo(zone)
    found: dict[date, list[Span]] = defaultdict(list)
    points = sorted(cuts)
    # No cut falls inside a piece, so a window (or a zone day) holds a piece whole or not at all.
    for start, end in pairwise(points):
        # A day's window lies within a day of its UTC date in any zone: look at the days around ``start``.
        nearby = (start.date() + timedelta(days=n) for n in range(-2, 3))
        owner = next((d for d in nearby if any(s <= start < e for s, e in windows.get(d, ()))), None)
        if owner is None:
            owner = start.astimezone(tz).date()
        if owner not in wanted:
            continue
        spans = found[owner]
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return dict(found)


def on_hours(spans: Iterable[Span]) -> bool:
    """Whether every span starts and ends on a UTC hour: only then do hourly rollups add up to it."""
    return all(at.minute == 0 and at.second == 0 and at.microsecond == 0 for span in spans for at in span)

"""``TimeWindow.covers`` reads the instant's minute of the week with integer arithmetic and a cached UTC
offset per hour: it must answer exactly as reading the rules on ``astimezone``'s local time does, in zones
with daylight saving, half- and quarter-hour offsets, offsets in seconds (local mean time), on the hours
the offset changes, and for naive and fixed-offset times."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.rating import TimeWindow

ZONES = (
    "Asia/Shanghai",  # daylight saving 1986–1991, local mean time before 1901
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute daylight saving shift
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/St_Johns",  # −03:30
    "Africa/Casablanca",  # daylight saving suspended for Ramadan, twice a year
    "UTC",
)
WEEKDAYS, WEEKEND, ALL = 0b0011111, 0b1100000, 0b1111111
# DeepSeek's off-peak hours (LiteLLM's map) read in Shanghai, a Friday-night wrap, a whole weekend and a
# single minute: every kind of rule.
RULES = (
    (WEEKDAYS, 8 * 60, 9 * 60),
    (WEEKDAYS, 12 * 60, 14 * 60),
    (0b0010000, 18 * 60, 8 * 60),
    (WEEKEND, 0, 0),
    (ALL, 2 * 60 + 30, 2 * 60 + 31),
)


def reference(window: TimeWindow, at: datetime) -> bool:
    """The rules read on ``astimezone``'s local time, as the window's docstring states them."""
    local = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(ZoneInfo(window.zone))
    minute, day = local.hour * 60 + local.minute, 1 << (local.isoweekday() - 1)
    return any(
        weekdays & day
        and (start == end or (start <= minute < end if start < end else not end <= minute < start))
        for weekdays, start, end in window.rules
    )


def windows() -> list[TimeWindow]:
    return [TimeWindow(f"w{i}", zone, (rule,)) for zone in ZONES for i, rule in enumerate(RULES)] + [
        TimeWindow("all", zone, RULES) for zone in ZONES
    ]


def offset_changes(zone: str, start: datetime, end: datetime) -> list[datetime]:
    """The instants in [start, end) at which ``zone``'s UTC offset changes (to the second)."""
    tz, found = ZoneInfo(zone), []
    at = start
    while at < end:
        after = at + timedelta(days=1)
        if at.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
            low, high = at, after
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        at = after
    return found


@pytest.mark.parametrize("zone", ZONES)
def test_covers_agrees_around_every_offset_change(zone):
    changes = offset_changes(zone, datetime(1985, 1, 1, tzinfo=UTC), datetime(1993, 1, 1, tzinfo=UTC))
    changes += offset_changes(zone, datetime(2024, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    if zone == "Asia/Shanghai":
        assert len(changes) == 12  # its six summers, 1986–1991
    near = (-3601, -3600, -1801, -60, -1, 0, 1, 59, 60, 1799, 1800, 3599, 3600)
    instants = [
        c + timedelta(seconds=s, microseconds=us) for c in changes for s in near for us in (0, 999_999)
    ]
    for window in (w for w in windows() if w.zone == zone):
        for at in instants:
            assert window.covers(at) == reference(window, at), (window.label, at)


def test_local_mean_time_offsets_in_seconds():
    # Shanghai kept +08:05:43 until 1901: minutes and weekdays shift by the odd seconds too.
    window = TimeWindow("w", "Asia/Shanghai", ((ALL, 9 * 60, 9 * 60 + 1),))
    start = datetime(1900, 1, 1, 0, 54, tzinfo=UTC)
    for s in range(0, 240):
        at = start + timedelta(seconds=s)
        assert window.covers(at) == reference(window, at), at
    assert {window.covers(start + timedelta(seconds=s)) for s in range(240)} == {True, False}


@settings(max_examples=400, deadline=None)
@given(
    at=st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2100, 1, 1)),
    zone=st.sampled_from(ZONES),
    rule=st.sampled_from(RULES),
    offset=st.one_of(
        st.none(),
        st.just(UTC),
        st.integers(-15 * 60, 15 * 60).map(lambda m: timezone(timedelta(minutes=m))),
        st.sampled_from(ZONES).map(ZoneInfo),
    ),
)
def test_covers_agrees_everywhere(at, zone, rule, offset):
    window = TimeWindow("w", zone, (rule,))
    at = at if offset is None else at.replace(tzinfo=offset)
    assert window.covers(at) == reference(window, at)


def test_deepseek_week_minute_by_minute():
    """LiteLLM's DeepSeek windows read in Shanghai: every minute of a week, from two offsets."""
    window = TimeWindow(
        "Off-peak", "Asia/Shanghai", (*RULES[:2], (WEEKDAYS, 18 * 60, 8 * 60), (WEEKEND, 0, 0))
    )
    monday = datetime(2026, 5, 3, 16, tzinfo=UTC)  # Monday 00:00 in Shanghai
    covered = 0
    for minute in range(7 * 24 * 60):
        at = monday + timedelta(minutes=minute, seconds=minute % 60)
        for shown in (at, at.astimezone(timezone(timedelta(hours=-7)))):
            assert window.covers(shown) == reference(window, shown)
        covered += window.covers(at)
    # Weekdays: 08–09, 12–14 and 18–08 (17 hours a day); the weekend whole.
    assert covered == (5 * 17 + 2 * 24) * 60

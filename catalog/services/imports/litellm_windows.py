"""LiteLLM's ``off_peak_pricing`` block as one time-of-day window (``ImportedWindow``).

The block: ``hours_utc`` (a ``"HH:MM-HH:MM"`` string or a list of them, every day) and/or ``windows``
(each ``{"hours_utc": …, "weekdays": [1..7 or "mon"…]}``, no weekdays: every day), an optional
``weekday_timezone``, and the off-peak per-token prices. LiteLLM reads the hours in UTC but the weekday
in ``weekday_timezone`` (UTC without one). Our windows read both in one zone, so a block with a zone is
stored in that zone with its hours moved from UTC to it: exact only when the zone keeps one UTC offset
(Asia/Shanghai does); a block in a zone with daylight saving cannot be stored exactly and its entry is
skipped (importing its standard prices alone would over-charge in the window). ``"10:00-00:00"`` runs
to midnight; equal start and end is the whole day.
"""

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

from catalog.services.imports.litellm_values import EntrySkipped, entry_number
from catalog.services.imports.parsed import ImportedWindow, shown
from catalog.tier_prices import MINUTES_PER_DAY
from catalog.time_windows import hhmm, minute_of, rules_check, zone_check

LABEL = "Off-peak"
# Block key → window price (per million tokens).
PRICE_KEYS = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_token": "output",
    "output_cost_per_reasoning_token": "reasoning",
    "input_cost_per_audio_token": "audio_input",
    "output_cost_per_audio_token": "audio_output",
}
WEEKDAY_NAMES = {
    "mon": 1, "monday": 1, "tue": 2, "tues": 2, "tuesday": 2, "wed": 3, "wednesday": 3,
    "thu": 4, "thur": 4, "thurs": 4, "thursday": 4, "fri": 5, "friday": 5,
    "sat": 6, "saturday": 6, "sun": 7, "sunday": 7,
}  # fmt: skip
EVERY_DAY = list(range(1, 8))


def off_peak_window(block, normalised: list[tuple[str, str, str]]) -> ImportedWindow:
    """The window ``block`` describes; raise EntrySkipped when it cannot be stored as LiteLLM means it."""
    where = "off_peak_pricing"
    if not isinstance(block, dict):
        raise EntrySkipped(f"{where}: expected an object")
    zone = block.get("weekday_timezone") or "UTC"
    if not isinstance(zone, str):
        raise EntrySkipped(f"{where}.weekday_timezone: {shown(zone)} is not a time zone")
    try:
        zone = zone_check(zone.strip())
    except ValidationError:
        raise EntrySkipped(f"{where}.weekday_timezone: {shown(zone)} is not a time zone") from None
    shift = _fixed_offset(zone)
    if shift is None:
        raise EntrySkipped(
            f"{where}.weekday_timezone: {zone} changes its UTC offset (daylight saving), so hours given in "
            "UTC cannot be stored exactly in it"
        )
    rules = []
    if block.get("hours_utc") is not None:
        rules += _rules(block["hours_utc"], EVERY_DAY, shift, f"{where}.hours_utc")
    windows = block.get("windows")
    if windows is not None:
        if not isinstance(windows, list):
            raise EntrySkipped(f"{where}.windows: expected a list")
        for number, rule in enumerate(windows, start=1):
            key = f"{where}.windows[{number}]"
            if not isinstance(rule, dict):
                raise EntrySkipped(f"{key}: expected an object")
            days = _weekdays(rule.get("weekdays"), key)
            rules += _rules(rule.get("hours_utc"), days, shift, f"{key}.hours_utc")
    try:
        stored = rules_check(rules)
    except ValidationError as exc:
        raise EntrySkipped(f"{where}: {' '.join(exc.messages)}") from None
    prices = []
    for key, name in PRICE_KEYS.items():
        price = entry_number(block.get(key), f"{where}.{key}", normalised)
        if price is not None:
            prices.append((name, price))
    if not prices:
        raise EntrySkipped(f"{where}: no off-peak price")
    return ImportedWindow(label=LABEL, time_zone=zone, rules=tuple(stored), prices=tuple(prices))


@lru_cache(maxsize=64)
def _fixed_offset(zone: str) -> int | None:
    """The zone's offset from UTC in minutes if it is the same over the years around now, else None."""
    tz = ZoneInfo(zone)
    now = datetime.now(UTC)
    offsets = {
        (now + timedelta(days=day)).astimezone(tz).utcoffset() for day in range(-2 * 365, 2 * 365 + 1, 7)
    }
    if len(offsets) != 1:
        return None
    return int(offsets.pop().total_seconds()) // 60


def _weekdays(value, key: str) -> list[int]:
    if value is None:
        return EVERY_DAY
    if not isinstance(value, list) or not value:
        raise EntrySkipped(f"{key}.weekdays: {shown(value)} is not a list of weekdays")
    days = []
    for day in value:
        if isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 7:
            days.append(day)
        elif isinstance(day, str) and day.strip().lower() in WEEKDAY_NAMES:
            days.append(WEEKDAY_NAMES[day.strip().lower()])
        else:
            raise EntrySkipped(
                f"{key}.weekdays: {shown(day)} is not a weekday (1 = Monday … 7, or mon … sun)"
            )
    return days


def _rules(hours, days: list[int], shift: int, key: str) -> list[dict]:
    ranges = [hours] if isinstance(hours, str) else hours
    if not isinstance(ranges, list) or not ranges:
        raise EntrySkipped(f'{key}: expected "HH:MM-HH:MM" or a list of them')
    rules = []
    for text in ranges:
        try:
            start_text, end_text = text.split("-")
            start, end = minute_of(start_text), minute_of(end_text)
        except (AttributeError, ValueError):
            raise EntrySkipped(f"{key}: {shown(text)} is not a range HH:MM-HH:MM") from None
        if start != end:  # a whole day stays a whole day in any zone
            start, end = (start + shift) % MINUTES_PER_DAY, (end + shift) % MINUTES_PER_DAY
        rules.append({"weekdays": days, "start": hhmm(start), "end": hhmm(end)})
    return rules

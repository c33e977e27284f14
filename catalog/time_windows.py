"""Time-of-day window rules: the stored form (``PriceWindow.rules``), checked, and the rating form.

Stored: ``[{"weekdays": [1, 2, 3, 4, 5], "start": "18:00", "end": "08:00"}, …]`` (ISO weekdays, 1 = Monday;
``HH:MM`` in the window's time zone; a start after the end runs past midnight, equal start and end are the
whole day). Rating form: ``(weekday bit mask, start minute, end minute)`` tuples (``TimeWindow.rules``).
"""

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from catalog.tier_prices import MINUTES_PER_DAY

if TYPE_CHECKING:
    from catalog.rating import PriceSchedule

# The label the catalog gives a window (``PriceWindow.label``'s default, the LiteLLM import's).
OFF_PEAK = "Off-peak"
# Far more than any vendor's week needs (DeepSeek's has four); a bound keeps pages and rating small.
MAX_RULES = 50
HHMM = re.compile(r"^(?P<h>[01]\d|2[0-4]):(?P<m>[0-5]\d)$")


def minute_of(text: str) -> int:
    """``"HH:MM"`` as minutes after midnight (``24:00`` is midnight, 0); raise ValueError otherwise."""
    match = HHMM.match(text.strip()) if isinstance(text, str) else None
    if match is None or (match["h"] == "24" and match["m"] != "00"):
        raise ValueError(text)
    return (int(match["h"]) * 60 + int(match["m"])) % MINUTES_PER_DAY


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def zone_check(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows; raise ValidationError otherwise."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(
            _("%(zone)s is not a time zone (use an IANA name such as Asia/Shanghai or UTC).") % {"zone": name}
        ) from None
    return name


def rules_check(rules) -> list[dict]:
    """Return ``rules`` in their stored form, normalised, or raise ValidationError naming each bad rule."""
    if not isinstance(rules, list) or not rules:
        raise ValidationError(_("A window needs at least one rule of weekdays and hours."))
    if len(rules) > MAX_RULES:
        raise ValidationError(
            _("A window has at most %(max)s rules (one per weekdays and hours).") % {"max": MAX_RULES}
        )
    errors, out = [], []
    for number, rule in enumerate(rules, start=1):
        where = _("Rule %(number)s") % {"number": number}
        if not isinstance(rule, dict):
            errors.append(_("%(where)s: expected weekdays, start and end.") % {"where": where})
            continue
        days = rule.get("weekdays")
        if (
            not isinstance(days, list)
            or not days
            or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in days)
        ):
            errors.append(
                _("%(where)s: weekdays must be a list of numbers from 1 (Monday) to 7 (Sunday).")
                % {"where": where}
            )
            continue
        try:
            start, end = minute_of(rule.get("start")), minute_of(rule.get("end"))
        except ValueError as exc:
            errors.append(
                _("%(where)s: %(value)s is not a time of day HH:MM.") % {"where": where, "value": exc.args[0]}
            )
            continue
        out.append({"weekdays": sorted(set(days)), "start": hhmm(start), "end": hhmm(end)})
    if errors:
        raise ValidationError(errors)
    return out


def window_rules(rules: list[dict]) -> tuple[tuple[int, int, int], ...]:
    """Stored rules (already checked) in the rating form."""
    return tuple(
        (sum(1 << (d - 1) for d in rule["weekdays"]), minute_of(rule["start"]), minute_of(rule["end"]))
        for rule in rules
    )


def rule_label(rule: dict) -> str:
    """A rule for people, in the active language: "Mon–Fri 18:00–08:00", "Sat, Sun all day"."""
    days = rule["weekdays"]
    names = [str(WEEKDAYS_ABBR[d - 1]) for d in days]  # Django's, 0 = Monday
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        day_text = f"{names[0]}–{names[-1]}"
    else:
        day_text = ", ".join(names)
    if len(days) == 7:
        day_text = _("Every day")
    hours = _("all day") if rule["start"] == rule["end"] else f"{rule['start']}–{rule['end']}"
    return f"{day_text} {hours}"


def window_label(label: str):
    """A window's label as a reader sees it: the catalog's default one translated (优惠时段), any other as
    staff typed it. Stored and sent by the API as given; pages, documents and CSVs show this."""
    return pgettext_lazy("time of day", "Off-peak") if label == OFF_PEAK else label


def window_pairs(first: "PriceSchedule", second: "PriceSchedule", week_of: datetime) -> set[tuple[int, int]]:
    """Which windows of ``first`` and ``second`` are open together (``window_at`` indexes, -1: standard),
    over the week (Monday 00:00 UTC) holding ``week_of``: what comparing two schedules hour by hour must
    compare. Each rule's start and end, on every day of the week in its own zone, cuts the week into
    stretches in which neither side changes; one instant of each stretch decides its pair."""
    if not first.windows and not second.windows:
        return {(-1, -1)}
    monday = (week_of.astimezone(UTC) - timedelta(days=week_of.astimezone(UTC).weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    end = monday + timedelta(days=7)
    cuts = {monday}
    for window in (*first.windows, *second.windows):
        zone = zoneinfo.ZoneInfo(window.zone)
        first_day = monday.astimezone(zone).date() - timedelta(days=1)
        for _days, start, stop in window.rules:
            for offset in range(9):
                day = first_day + timedelta(days=offset)
                for minute in (start, stop):
                    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
                    instant = local.astimezone(UTC)
                    if monday <= instant < end:
                        cuts.add(instant)
    return {(first.window_at(at), second.window_at(at)) for at in cuts}

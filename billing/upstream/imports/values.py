"""Read one value of a vendor file: counts, amounts, dates, instants, zones, currencies.

Each function raises ``FieldProblem`` naming the field and saying what was expected, so every format
reports bad values in the same words.
"""

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from billing.upstream.imports.rows import FieldProblem
from common.currencies import ISO_4217

# A count beyond this is no real day's usage but a broken export (and would overflow the column).
MAX_COUNT = 10**15
# Dates and instants outside these years are typos (9999, 0001) or broken exports; refusing them here also
# keeps every later step (a day's window, an invoice's due date) inside the calendar, which ends in 9999.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def count(value, field: str, *, blank=None) -> int:
    """A non-negative whole number (JSON integer, a JSON number with no fraction, or CSV text)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if blank is not None:
            return blank
        raise FieldProblem(field, _("%(field)s is missing: enter a whole number.") % {"field": field})
    if isinstance(value, bool):
        raise FieldProblem(
            field, _("%(field)s must be a whole number, not %(value)s.") % _shown(field, value)
        )
    if isinstance(value, int):
        number = value
    else:
        try:
            parsed = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise FieldProblem(
                field, _("%(field)s must be a whole number, not %(value)s.") % _shown(field, value)
            ) from None
        if not parsed.is_finite() or parsed != parsed.to_integral_value():
            raise FieldProblem(
                field, _("%(field)s must be a whole number, not %(value)s.") % _shown(field, value)
            )
        number = int(parsed)
    if number < 0:
        raise FieldProblem(field, _("%(field)s cannot be negative (%(value)s).") % _shown(field, value))
    if number > MAX_COUNT:
        raise FieldProblem(field, _("%(field)s is implausibly large (%(value)s).") % _shown(field, value))
    return number


def amount(value, field: str) -> Decimal | None:
    """A decimal amount, None when blank; JSON numbers must have been parsed as Decimal (never float)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (bool, float)):
        raise FieldProblem(field, _("%(field)s must be a decimal number.") % {"field": field})
    try:
        parsed = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise FieldProblem(
            field, _("%(field)s must be a decimal number, not %(value)s.") % _shown(field, value)
        ) from None
    if not parsed.is_finite():
        raise FieldProblem(
            field, _("%(field)s must be a decimal number, not %(value)s.") % _shown(field, value)
        )
    if parsed < 0:
        raise FieldProblem(field, _("%(field)s cannot be negative (%(value)s).") % _shown(field, value))
    if abs(parsed.as_tuple().exponent) > 12 or parsed.adjusted() >= 16:
        raise FieldProblem(
            field, _("%(field)s has more digits than a cost can hold (%(value)s).") % _shown(field, value)
        )
    return parsed


def day(value, field: str = "date") -> date:
    """A calendar date as YYYY-MM-DD (YYYY/MM/DD, as some consoles export, is read too)."""
    text = str(value or "").strip()
    try:
        parsed = date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise FieldProblem(
            field, _("%(field)s must be a date as YYYY-MM-DD, not %(value)s.") % _shown(field, value)
        ) from None
    return _bounded(parsed, field, value)


def month(value, field: str = "month") -> date:
    """A month as YYYY-MM: its first day."""
    text = str(value or "").strip()
    try:
        parsed = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise FieldProblem(
            field, _("%(field)s must be a month as YYYY-MM, not %(value)s.") % _shown(field, value)
        ) from None
    return _bounded(parsed, field, value)


def epoch(value, field: str) -> datetime:
    """Unix seconds (OpenAI's bucket bounds) as a UTC instant."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldProblem(field, _("%(field)s must be Unix seconds, not %(value)s.") % _shown(field, value))
    try:
        moment = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise FieldProblem(
            field, _("%(field)s is out of range (%(value)s).") % _shown(field, value)
        ) from None
    _bounded(moment.date(), field, value)
    return moment


def instant(value, field: str) -> datetime:
    """An RFC 3339 timestamp with its offset (Anthropic's bucket bounds) as a UTC instant."""
    text = str(value or "").strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise FieldProblem(
            field,
            _("%(field)s must be an RFC 3339 time with its offset, e.g. 2026-11-03T00:00:00Z, not %(value)s.")
            % _shown(field, value),
        )
    # Bounded before converting: 0001-01-01T00:00:00+01:00 has no UTC instant (OverflowError).
    _bounded(parsed.date(), field, value)
    return parsed.astimezone(UTC)


def _bounded(day: date, field: str, value) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FieldProblem(
            field,
            _("%(field)s %(value)s is outside the years %(first)s–%(last)s: check the year.")
            % {**_shown(field, value), "first": FIRST_DAY.year, "last": LAST_DAY.year},
        )
    return day


def zone(value, field: str = "timezone") -> str:
    """An IANA time zone name such as Asia/Shanghai; blank stays blank (the channel's zone applies)."""
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldProblem(
            field,
            _("%(value)s is not an IANA time zone such as UTC or Asia/Shanghai.") % _shown(field, value),
        ) from None
    return text


def currency(value, field: str = "currency") -> str:
    """An ISO 4217 currency code; ``cny`` reads as CNY."""
    text = str(value or "").strip().upper()
    if text not in ISO_4217:
        raise FieldProblem(
            field, _("%(value)s is not an ISO 4217 currency code such as CNY or USD.") % _shown(field, value)
        )
    return text


def text(value, field: str, *, max_length: int, required: bool = True) -> str:
    """A name as the vendor wrote it (model, channel, invoice number), trimmed."""
    if value is not None and not isinstance(value, str):
        raise FieldProblem(field, _("%(field)s must be text, not %(value)s.") % _shown(field, value))
    result = (value or "").strip()
    if required and not result:
        raise FieldProblem(field, _("%(field)s is missing.") % {"field": field})
    if len(result) > max_length:
        raise FieldProblem(
            field, _("%(field)s has more than %(n)s characters.") % {"field": field, "n": max_length}
        )
    return result


def _shown(field: str, value) -> dict:
    shown = repr(value) if isinstance(value, str) else str(value)
    return {"field": field, "value": shown[:60]}

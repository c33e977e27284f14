"""Exchange rates in force on a date."""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from catalog.errors import MissingFxRate
from catalog.models import FxRate


def event_date(at: datetime) -> date:
    """The calendar date of an event in the operator's time zone: the day whose rate applies."""
    return timezone.localtime(at).date() if timezone.is_aware(at) else at.date()


def fx_rate(base: str, quote: str, on: date) -> Decimal:
    """Return the rate (1 base = rate quote) of the latest entry on or before ``on``.

    Only the entered direction is used: inverting a rate would need a division, i.e. rounding,
    so a pair needed both ways is entered both ways.
    """
    if base == quote:
        return Decimal(1)
    rate = (
        FxRate.objects.filter(base=base, quote=quote, date__lte=on)
        .order_by("-date")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise MissingFxRate(base, quote, on)
    return rate

"""Days as the operator lives them: its time zone (``TIME_ZONE``) decides where a day starts."""

from datetime import date, datetime, time

from django.utils import timezone


def local_midnight(day: date) -> datetime:
    """The instant operator-time-zone day ``day`` starts: a period's bounds, a price's effective time,
    an allowance's start and expiry."""
    return timezone.make_aware(datetime.combine(day, time.min))

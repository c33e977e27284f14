"""When an allocation or its release takes effect, from the date of the event that caused it."""

from datetime import date, datetime, timedelta

from django.utils import timezone

from common.days import local_midnight


def effective_moment(at: date | datetime) -> datetime:
    """The instant a settlement dated ``at`` takes effect.

    A datetime is taken as it is. A date means "on that day": now when it is today, else the last instant
    of that day in the operator's time zone, so readers as of that date (aging, statements) count it and
    readers as of the day before do not.
    """
    if isinstance(at, datetime):
        return at
    if at >= timezone.localdate():
        return timezone.now()
    return local_midnight(at + timedelta(days=1)) - timedelta(microseconds=1)


def day_end(day: date) -> datetime:
    """The first instant after ``day`` (operator time zone): rows dated before it count as of ``day``."""
    return local_midnight(day + timedelta(days=1))

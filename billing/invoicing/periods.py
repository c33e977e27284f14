"""Billing periods ("2026-10", "2026-Q3") and due dates, as plain date arithmetic.

Periods are calendar months or quarters of the operator's time zone (``settings.TIME_ZONE``): the usage
rollups' ``day`` column is already an operator-time-zone day, so a period is simply a range of those days.

Be extremely careful changing this module: historical invoices carry the period label and dates computed
here; a different answer for an old label would make a re-run close bill the wrong days.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


class PeriodError(ValueError):
    """A period label that is not a month (2026-10) or a quarter (2026-Q3)."""


@dataclass(frozen=True)
class Period:
    """A billing period: ``label`` is "2026-10" or "2026-Q3"; ``start`` and ``end`` are inclusive days."""

    label: str
    start: date
    end: date

    @property
    def is_quarter(self) -> bool:
        return "Q" in self.label

    @property
    def months(self) -> int:
        return 3 if self.is_quarter else 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label


def month_last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def period_month(year: int, month: int) -> Period:
    return Period(
        label=f"{year:04d}-{month:02d}", start=date(year, month, 1), end=month_last_day(year, month)
    )


def period_quarter(year: int, quarter: int) -> Period:
    first = 3 * (quarter - 1) + 1
    return Period(
        label=f"{year:04d}-Q{quarter}", start=date(year, first, 1), end=month_last_day(year, first + 2)
    )


def period_parse(text: str) -> Period:
    """Return the period named by ``text`` ("2026-10" or "2026-Q3"); raise ``PeriodError`` otherwise."""
    value = (text or "").strip()
    if match := _MONTH.match(value):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise PeriodError(_("%(value)s: the month must be 01 to 12.") % {"value": value})
        if year < 2000:
            raise PeriodError(_("%(value)s: the year must be 2000 or later.") % {"value": value})
        return period_month(year, month)
    if match := _QUARTER.match(value):
        year = int(match[1])
        if year < 2000:
            raise PeriodError(_("%(value)s: the year must be 2000 or later.") % {"value": value})
        return period_quarter(year, int(match[2]))
    raise PeriodError(
        _("%(value)s is not a period: write a month as YYYY-MM (2026-10) or a quarter as YYYY-QN (2026-Q3).")
        % {"value": repr(text)}
    )


def period_of_day(day: date, *, quarter: bool = False) -> Period:
    """The month (or quarter) holding ``day``."""
    if quarter:
        return period_quarter(day.year, (day.month - 1) // 3 + 1)
    return period_month(day.year, day.month)


def local_day(at: datetime | None = None) -> date:
    """The operator-time-zone calendar day of instant ``at`` (now if None)."""
    return timezone.localdate(at or timezone.now())


def periods_just_ended(at: datetime | None = None) -> list[Period]:
    """The month that ended before the operator-time-zone day of ``at``, and its quarter if that ended too.

    The monthly beat runs shortly after midnight on the 1st; at 00:05 on 1 October this returns
    [2026-09, 2026-Q3], on 1 November just [2026-10].
    """
    previous_day = local_day(at).replace(day=1) - timedelta(days=1)
    month = period_of_day(previous_day)
    ended = [month]
    if previous_day.month % 3 == 0:
        ended.append(period_of_day(previous_day, quarter=True))
    return ended


def period_just_ended(at: datetime | None = None) -> Period:
    """The month that just ended at ``at`` in the operator's time zone."""
    return periods_just_ended(at)[0]


def due_date(terms, issue_date: date) -> date:
    """When an invoice issued on ``issue_date`` under ``terms`` (BillingTerms) falls due.

    on_receipt: the issue date; net N: issue date + N days; eom: last day of the issue month + N days.
    """
    term = terms.payment_term
    days = int(terms.payment_days or 0)
    if term == "on_receipt":
        return issue_date
    if term == "net":
        return issue_date + timedelta(days=days)
    if term == "eom":
        return month_last_day(issue_date.year, issue_date.month) + timedelta(days=days)
    raise ValueError(f"Unknown payment term {term!r}.")

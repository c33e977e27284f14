"""Periods and due dates: months and quarters of the operator's time zone, EOM and net terms."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from billing.invoicing.periods import PeriodError, due_date, period_parse, periods_just_ended


def test_parse_month_and_quarter():
    oct_ = period_parse("2026-10")
    assert (oct_.label, oct_.start, oct_.end, oct_.months) == (
        "2026-10",
        date(2026, 10, 1),
        date(2026, 10, 31),
        1,
    )
    q3 = period_parse("2026-q3")
    assert (q3.label, q3.start, q3.end, q3.months) == ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), 3)
    assert period_parse("2028-02").end == date(2028, 2, 29)
    assert period_parse("2027-02").end == date(2027, 2, 28)
    assert period_parse("2028-Q1").end == date(2028, 3, 31)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-Q5", "26-10", "October", "", "1999-01"])
def test_parse_refuses_bad_labels(text):
    with pytest.raises(PeriodError):
        period_parse(text)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # 2026-10-31 16:05 UTC is 2026-11-01 00:05 in Shanghai: October has ended there.
        (datetime(2026, 10, 31, 16, 5, tzinfo=UTC), ["2026-10"]),
        # 2026-10-31 15:55 UTC is still 31 October 23:55 in Shanghai: September is the last ended month.
        (datetime(2026, 10, 31, 15, 55, tzinfo=UTC), ["2026-09", "2026-Q3"]),
        (datetime(2026, 9, 30, 16, 5, tzinfo=UTC), ["2026-09", "2026-Q3"]),
        (datetime(2028, 2, 29, 16, 1, tzinfo=UTC), ["2028-02"]),
        (datetime(2027, 12, 31, 16, 1, tzinfo=UTC), ["2027-12", "2027-Q4"]),
    ],
)
def test_periods_just_ended_in_operator_time_zone(settings, instant, expected):
    settings.TIME_ZONE = "Asia/Shanghai"
    assert [p.label for p in periods_just_ended(instant)] == expected


def terms(term, days=0):
    return SimpleNamespace(payment_term=term, payment_days=days)


@pytest.mark.parametrize(
    ("term", "days", "issued", "due"),
    [
        ("on_receipt", 30, date(2026, 11, 1), date(2026, 11, 1)),
        ("net", 30, date(2026, 11, 1), date(2026, 12, 1)),
        ("net", 15, date(2028, 2, 20), date(2028, 3, 6)),
        ("eom", 0, date(2026, 1, 31), date(2026, 1, 31)),
        ("eom", 30, date(2026, 1, 31), date(2026, 3, 2)),
        ("eom", 30, date(2026, 1, 1), date(2026, 3, 2)),
        ("eom", 15, date(2028, 2, 3), date(2028, 3, 15)),  # leap February ends on the 29th
        ("eom", 15, date(2027, 2, 3), date(2027, 3, 15)),
        ("eom", 0, date(2028, 2, 1), date(2028, 2, 29)),
    ],
)
def test_due_dates(term, days, issued, due):
    assert due_date(terms(term, days), issued) == due
